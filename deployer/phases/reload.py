"""Wait for the running apiserver to reload a file it watches, instead of a restart.

Why evidence and not a pause: a file the apiserver reloads by itself is picked up within a
minute or so, or not at all (a file it rejects keeps the previous configuration running). The
only proof that the NEW content is in use is the apiserver's own ``/metrics``: the success
counter grew past the value read before the write, and the info gauge's ``hash`` label names
the new content when the version has one (:mod:`deployer.facts.reload_metrics`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath

from deployer.errors import DeployerError, RolloutError
from deployer.facts.kubeconfig import KubeconfigCredentials
from deployer.facts.reload_metrics import ReloadReading, names_content, parse_reload
from deployer.model.events import EventKind, poll_until
from deployer.model.files import ReloadEvidence
from deployer.phases.context import HostContext
from deployer.phases.probes import get

__all__ = ["ReloadNotSeen", "Reloaded", "read_reloads", "wait_for_reloads"]


class ReloadNotSeen(RolloutError):
    """The apiserver did not show that it loaded the new content in time."""


@dataclass(frozen=True, slots=True)
class Reloaded:
    """One file the apiserver was seen to load: path, content digest, counter then."""

    path: PurePosixPath
    sha256: str
    count: float


def read_reload(
    ctx: HostContext, creds: KubeconfigCredentials, evidence: ReloadEvidence
) -> ReloadReading | None:
    """Scrape ``/metrics`` once for ``evidence``; None when it cannot be read now."""
    try:
        response = get(ctx, "/metrics", ca_pem=creds.ca_pem, creds=creds)
    except (DeployerError, OSError):
        return None
    if response.status != 200:
        return None
    try:
        return parse_reload(response.body.decode("utf-8", "replace"), evidence)
    except ValueError:
        return None


def read_reloads(
    ctx: HostContext,
    creds: KubeconfigCredentials,
    files: Sequence[tuple[PurePosixPath, ReloadEvidence]],
) -> dict[PurePosixPath, float]:
    """Each file's counter before the write (0 when the metric is not there yet)."""
    values: dict[PurePosixPath, float] = {}
    for path, evidence in files:
        reading = read_reload(ctx, creds, evidence)
        values[path] = (reading.count or 0.0) if reading else 0.0
    return values


def wait_for_reloads(
    ctx: HostContext,
    creds: KubeconfigCredentials,
    files: Sequence[tuple[PurePosixPath, str, ReloadEvidence]],
    before: Mapping[PurePosixPath, float],
    *,
    timeout_s: float,
    phase: str = "restart",
    restored: bool = False,
) -> tuple[Reloaded, ...]:
    """Poll ``/metrics`` until every file's reload of its new content shows (path, sha, how).

    With ``restored`` (a rollback put the previous content back), the info gauge naming that
    content is evidence enough without a grown counter: an apiserver that rejected the new
    file never stopped serving the previous one, so it has nothing to reload. A file whose
    version exposes no info gauge can then not be proven and is left to verify.

    Raises:
        ReloadNotSeen: one of the files showed no reload of its new content in ``timeout_s``.
    """
    names = ", ".join(str(p) for p, _, _ in files)
    ctx.emit(phase, EventKind.WAIT, f"waiting for kube-apiserver to reload {names}")
    seen: dict[PurePosixPath, Reloaded] = {}

    def probe() -> bool | None:
        for path, sha, evidence in files:
            if path in seen:
                continue
            reading = read_reload(ctx, creds, evidence)
            if reading is None:
                continue
            if restored and (
                evidence.info_metric is None or any(names_content(h, sha) for h in reading.hashes)
            ):
                seen[path] = Reloaded(path, sha, reading.count or 0.0)
                continue
            if reading.count is None:
                continue
            if reading.count <= before.get(path, 0.0):
                continue
            if evidence.info_metric and not any(names_content(h, sha) for h in reading.hashes):
                continue
            seen[path] = Reloaded(path, sha, reading.count)
        return True if len(seen) == len(files) else None

    if poll_until(ctx.clock, probe, timeout_s=timeout_s, interval_s=1.0) is None:
        missing = ", ".join(str(p) for p, _, _ in files if p not in seen)
        raise ReloadNotSeen(
            f"kube-apiserver showed no reload of {missing} within {timeout_s:g}s (its reload "
            "counter did not grow, or the loaded hash is not the new content's)",
            host=ctx.name,
            phase=phase,
            hint="the apiserver keeps the previous file when it rejects one: read its log "
            "(crictl logs) for the reload error",
        )
    return tuple(seen[p] for p, _, _ in files)
