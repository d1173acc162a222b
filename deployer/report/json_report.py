"""The JSON report of a run (``--json FILE``): a stable, documented, secret-free document.

Why stable: schedulers, dashboards and tickets parse it. Its shape is fixed by
``report.schema.json`` (shipped beside this module) and by ``schema_version``; adding a field is
compatible, renaming or removing one bumps the version. Every string that can quote host data
(diffs, phase details, error messages, details) goes through :func:`mask_secrets`.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import math
import os
import sys
import tempfile
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path, PurePath

from deployer.model.report import HostReport, Outcome, PhaseRecord, RunReport
from deployer.report.masking import mask_secrets, mask_value

__all__ = [
    "SCHEMA_VERSION",
    "report_to_dict",
    "report_to_json",
    "rfc3339",
    "schema_path",
    "write_json_report",
    "write_text_atomic",
]

#: Bumped when a field is renamed or removed (never for additions).
SCHEMA_VERSION = 1

#: ``HostReport.details`` keys that have a field of their own in the report.
_DETAIL_FIELDS = ("restart", "verify", "drift")


def rfc3339(timestamp: float | None) -> str | None:
    """Return an RFC 3339 UTC time (``2026-11-28T15:16:21.123Z``), or None for an unset one.

    ``0.0`` counts as unset: it is the model's default for a phase whose clock was not read.
    """
    if not timestamp:
        return None
    moment = datetime.fromtimestamp(timestamp, tz=UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def schema_path() -> Path:
    """Return the path of the JSON Schema (draft 2020-12) shipped with the package."""
    return Path(__file__).with_name("report.schema.json")


def _json_ready(value: object) -> object:
    """Turn a detail value into JSON types, masking every string on the way."""
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None  # JSON has no NaN or Infinity
    if isinstance(value, str):
        return mask_secrets(value)
    if isinstance(value, enum.Enum):
        return _json_ready(value.value)
    if isinstance(value, PurePath):
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _json_ready(
            {f.name: getattr(value, f.name) for f in dataclasses.fields(value) if f.repr}
        )
    if isinstance(value, Mapping):
        return {
            str(k): mask_value(str(k), v) if isinstance(v, str) else _json_ready(v)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple | set | frozenset):
        return [_json_ready(v) for v in value]
    return mask_secrets(str(value))


def _phase_to_dict(phase: PhaseRecord) -> dict[str, object]:
    return {
        "phase": phase.phase,
        "ok": phase.ok,
        "duration_s": round(phase.duration_s, 3),
        "started_at": rfc3339(phase.started_at),
        "finished_at": rfc3339(phase.finished_at),
        "detail": mask_secrets(phase.detail),
    }


def _error_to_dict(host: HostReport) -> dict[str, object] | None:
    error = host.error
    if error is None:
        return None
    return {
        "type": type(error).__name__,
        "message": mask_secrets(error.message),
        "hint": mask_secrets(error.hint) if error.hint else None,
        "exit_code": int(error.exit_code),
    }


def _host_to_dict(host: HostReport) -> dict[str, object]:
    details = dict(host.details)
    if host.restart is not None:  # a typed field; the report's shape is unchanged
        r = host.restart
        details["restart"] = {
            "old_container": r.old_id,
            "new_container": r.new_id,
            "seconds": r.seconds,
        }
    entry: dict[str, object] = {
        "outcome": host.outcome.value,
        "diff": mask_secrets(host.diff) if host.diff else None,
        "backup": str(host.backup_path) if host.backup_path is not None else None,
        "phases": [_phase_to_dict(p) for p in host.phases],
    }
    for key in _DETAIL_FIELDS:
        entry[key] = _json_ready(details.pop(key, None))
    entry["error"] = _error_to_dict(host)
    # Details without a field of their own stay visible rather than being dropped.
    entry["details"] = {k: _json_ready(v) for k, v in details.items()}
    return entry


def report_to_dict(report: RunReport) -> dict[str, object]:
    """Return the report as JSON-ready data, secrets masked (the schema's shape).

    ``summary`` counts every outcome, zeros included, so a consumer can read
    ``summary["rolled_back"]`` without checking for the key first.
    """
    counts = {outcome.value: 0 for outcome in Outcome}
    for host in report.hosts:
        counts[host.outcome.value] += 1
    summary: dict[str, object] = {"total": len(report.hosts), **counts}
    return {
        "schema_version": SCHEMA_VERSION,
        "run_id": report.run_id,
        "command": report.command,
        "started_at": rfc3339(report.started_at),
        "finished_at": rfc3339(report.finished_at),
        "duration_s": round(max(report.finished_at - report.started_at, 0.0), 3),
        "exit_code": report.exit_code,
        "ok": report.ok,
        "hosts": {host.host: _host_to_dict(host) for host in report.hosts},
        "summary": summary,
    }


def report_to_json(report: RunReport) -> str:
    """Return the report as indented JSON text ending with a newline."""
    return json.dumps(report_to_dict(report), indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def write_text_atomic(text: str, path: Path, *, mode: int = 0o644) -> None:
    """Write ``path`` so a reader sees the previous or the new content, never a part.

    Temp file in the same folder (so the rename stays on one filesystem), fsync, rename, then
    fsync the folder so the rename itself survives a crash.
    """
    folder = path.parent
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fchmod(handle.fileno(), mode)
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def write_json_report(report: RunReport, path_or_dash: str | Path) -> None:
    """Write the JSON report to a file atomically, or to standard output for ``-``.

    Why atomic: a scheduler or dashboard may read the file while the next run writes it.
    The file is mode 0600 even though secrets are masked: hostnames and diffs are still
    operational detail not everyone on the workstation should read.
    """
    text = report_to_json(report)
    if str(path_or_dash) == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    write_text_atomic(text, Path(path_or_dash), mode=0o600)
