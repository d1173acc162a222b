"""The local run history: one JSON line per run, appended, never rewritten.

Why append-only JSON lines: an operator asking "what ran here last night, and what did it do?"
needs a record that survives crashes and concurrent runs (a timer and a person). Each run is
one ``write(2)`` on a file opened with ``O_APPEND``, so lines from concurrent runs never
interleave; ``fsync`` makes the line durable before the command exits. A run killed in the
middle of that write can leave a torn last line: readers skip lines that do not parse, and the
next writer starts on a fresh line.
"""

from __future__ import annotations

import getpass
import json
import logging
import os
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from deployer.model.report import RunReport
from deployer.report.json_report import rfc3339

__all__ = [
    "HistoryEntry",
    "append_history",
    "default_history_path",
    "default_state_dir",
    "entry_from_report",
    "read_history",
]

_log = logging.getLogger(__name__)

#: How far back from the end of the file one read goes while looking for the last lines.
_CHUNK_BYTES = 64 * 1024


def _no_hosts() -> Mapping[str, str]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One finished run, as the history file records it."""

    run_id: str
    command: str
    #: RFC 3339 UTC times.
    started_at: str
    finished_at: str
    exit_code: int
    #: host name -> outcome value (``changed``, ``rolled_back`` ...), in rollout order.
    hosts: Mapping[str, str] = field(default_factory=_no_hosts)
    #: Who ran it and from where: the local user and this workstation's hostname.
    user: str = ""
    workstation: str = ""
    #: The ``-i`` inventory sources of the run.
    inventories: tuple[str, ...] = ()

    def to_json(self) -> str:
        """Return the entry as one JSON line (no newline)."""
        return json.dumps(
            {
                "run_id": self.run_id,
                "command": self.command,
                "started_at": self.started_at,
                "finished_at": self.finished_at,
                "exit_code": self.exit_code,
                "hosts": dict(self.hosts),
                "user": self.user,
                "workstation": self.workstation,
                "inventories": list(self.inventories),
            },
            ensure_ascii=False,
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, line: str) -> HistoryEntry:
        """Parse one history line.

        Raises:
            ValueError: the line is not a history entry (torn, or written by something else).
        """
        data = json.loads(line)
        if not isinstance(data, dict):
            raise ValueError("a history line must be a JSON object")
        try:
            hosts = data.get("hosts") or {}
            return cls(
                run_id=str(data["run_id"]),
                command=str(data["command"]),
                started_at=str(data["started_at"]),
                finished_at=str(data["finished_at"]),
                exit_code=int(data["exit_code"]),
                hosts=MappingProxyType({str(k): str(v) for k, v in dict(hosts).items()}),
                user=str(data.get("user", "")),
                workstation=str(data.get("workstation", "")),
                inventories=tuple(str(i) for i in data.get("inventories") or ()),
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"incomplete history line: {exc}") from exc


def default_state_dir(environ: Mapping[str, str] | None = None) -> Path:
    """Return ``$XDG_STATE_HOME/deployer``, else ``~/.local/state/deployer``."""
    env = os.environ if environ is None else environ
    base = env.get("XDG_STATE_HOME") or ""
    if not os.path.isabs(base):  # the XDG spec says relative values are to be ignored
        base = str(Path(env.get("HOME") or Path.home()) / ".local" / "state")
    return Path(base) / "deployer"


def default_history_path(environ: Mapping[str, str] | None = None) -> Path:
    """Return the default history file (``<state dir>/history.jsonl``)."""
    return default_state_dir(environ) / "history.jsonl"


def entry_from_report(
    report: RunReport,
    *,
    inventories: Sequence[str] = (),
    user: str | None = None,
    workstation: str | None = None,
) -> HistoryEntry:
    """Build the history entry for a finished run (user and hostname read when not given)."""
    if user is None:
        try:
            user = getpass.getuser()
        except (KeyError, OSError):  # no passwd entry in some containers
            user = str(os.getuid())
    return HistoryEntry(
        run_id=report.run_id,
        command=report.command,
        started_at=rfc3339(report.started_at) or "",
        finished_at=rfc3339(report.finished_at) or "",
        exit_code=report.exit_code,
        hosts=MappingProxyType({h.host: h.outcome.value for h in report.hosts}),
        user=user,
        workstation=workstation if workstation is not None else socket.gethostname(),
        inventories=tuple(str(i) for i in inventories),
    )


def append_history(entry: HistoryEntry, path: Path | None = None) -> Path:
    """Append ``entry`` as one line to the history file and return the file's path.

    Why one ``write``: with ``O_APPEND`` the kernel moves to the end and writes in one step, so
    two runs finishing at once produce two whole lines. If the file ends in a torn line (a run
    killed mid-write), the new line starts with a newline of its own so it stays parseable.
    """
    target = path if path is not None else default_history_path()
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    data = (entry.to_json() + "\n").encode("utf-8")
    fd = os.open(target, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        size = os.fstat(fd).st_size
        if size and _last_byte(target, size) != b"\n":
            data = b"\n" + data
        written = os.write(fd, data)
        while written < len(data):  # only on a full disk or a signal; keep the line whole
            written += os.write(fd, data[written:])
        os.fsync(fd)
    finally:
        os.close(fd)
    return target


def _last_byte(path: Path, size: int) -> bytes:
    with path.open("rb") as handle:
        handle.seek(size - 1)
        return handle.read(1)


def _tail_lines(path: Path, count: int) -> list[bytes]:
    """Return the last ``count`` complete-or-torn lines without reading the whole file."""
    with path.open("rb") as handle:
        end = handle.seek(0, os.SEEK_END)
        data = b""
        pos = end
        while pos > 0 and data.count(b"\n") <= count:
            step = min(_CHUNK_BYTES, pos)
            pos -= step
            handle.seek(pos)
            data = handle.read(step) + data
    lines = [line for line in data.split(b"\n") if line.strip()]
    if pos > 0:
        lines = lines[1:]  # the first piece may be the end of an older line
    return lines[-count:] if count > 0 else []


def read_history(path: Path | None = None, limit: int = 20) -> list[HistoryEntry]:
    """Return the last ``limit`` runs, oldest first; a missing file is an empty history.

    Lines that do not parse (a torn last line, a foreign line) are skipped with a debug log,
    never an error: the history is an aid, and one bad line must not hide the others.
    """
    target = path if path is not None else default_history_path()
    if limit <= 0 or not target.exists():
        return []
    entries: list[HistoryEntry] = []
    # Ask for a few extra lines so skipped torn lines do not shorten the answer.
    for raw in _tail_lines(target, limit + 2):
        try:
            entries.append(HistoryEntry.from_json(raw.decode("utf-8")))
        except (ValueError, UnicodeDecodeError) as exc:
            _log.debug("skipping a history line that does not parse: %s", exc)
    return entries[-limit:]
