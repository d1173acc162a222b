"""After a run was killed mid-change: recognise deployer's own unverified push, and undo it.

A SIGKILL between the push and the end of verification (or between a failed verification and
the rollback's write) leaves the new manifest live. If that manifest is broken, the next run
finds the host degraded and refuses to start, which is right, but it must also say *why* and
*how to recover*: the backup folder of the killed run holds the previous manifest and a run
record whose ``new_sha256`` is the live manifest's digest, and a verified change leaves a
``deployer-verified`` marker there. So "the live manifest is the ``new_sha256`` of a backup
without the marker, and the apiserver is not ready" identifies the killed run's push
precisely. ``apply`` names the backup and the commands; ``apply --repair`` and
``converge --repair`` (opt-in) restore it, wait for the previous pod and verify it.

Also here: removing deployer's own leftovers of a killed run (``.kube-apiserver.yaml.<hex>``
temp files in the manifests folder), reported and removed by the next run that holds the
host's lock.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath

from deployer.engine.failure import Phases, as_error, release_lease, short_error
from deployer.engine.hostlock import take_host_lock
from deployer.engine.recovery import best_effort, with_reconnect
from deployer.errors import DeployerError
from deployer.locks import RemoteLock
from deployer.locks.heartbeat import Heartbeat, LeasedTransport
from deployer.model.events import Clock, EventKind, Reporter
from deployer.model.manifest import sha256_hex
from deployer.model.plan import HostPlan, Plan
from deployer.model.report import HostReport, Outcome
from deployer.phases.backup import BACKUP_PREFIX
from deployer.phases.context import HostContext
from deployer.phases.restart import list_containers
from deployer.phases.rollback import RollbackResult, recovery_commands, rollback_host
from deployer.transport.base import Transport

__all__ = [
    "VERIFIED_MARKER",
    "UnverifiedPush",
    "find_unverified_push",
    "find_unverified_pushes",
    "mark_verified",
    "remove_stale_temp_files",
    "repair_host",
    "repair_hosts",
]

#: Written into a backup folder once the change it belongs to was verified.
VERIFIED_MARKER = "deployer-verified"

# "$1" backup_dir: the newest 5 backup folders, each as a header line and its run record.
_LIST_BACKUPS = r"""
for d in "$1"/deployer-backup-*; do [ -d "$d" ] && printf '%s\n' "$d"; done |
sort -r | head -n 5 | while IFS= read -r d; do
  v=0; [ -e "$d/deployer-verified" ] && v=1
  m=0; [ -f "$d/$2" ] && m=1
  printf '==> %s %s %s\n' "$v" "$m" "$d"
  cat -- "$d/deployer-run.json" 2>/dev/null
  printf '\n'
done
"""

# "$1" manifests folder, "$2" manifest name: deployer's temp files (".<name>.<12 hex>").
_REMOVE_TEMPS = r"""
for f in "$1"/."$2".????????????; do
  [ -f "$f" ] || continue
  case ${f##*.} in *[!0-9a-f]*) continue ;; esac
  rm -f -- "$f" && printf '%s\n' "$f"
done
"""


@dataclass(frozen=True, slots=True)
class UnverifiedPush:
    """The live manifest is the unverified push of an earlier run."""

    host: str
    #: The backup folder (host path) holding the previous manifest and the run record.
    backup: PurePosixPath
    run_id: str
    #: Whether the backup holds a previous manifest (False: the push was a first install).
    has_previous: bool

    def describe(self) -> str:
        """One line for the console and the report."""
        what = "the previous manifest is in" if self.has_previous else "no previous manifest in"
        return (
            f"the live manifest is the unverified push of run {self.run_id} (killed before it "
            f"verified or rolled back); {what} {self.backup}"
        )


def find_unverified_push(ctx: HostContext, live: bytes | None) -> UnverifiedPush | None:
    """Return the backup whose unverified run pushed the live manifest, if any.

    One read-only command. Raises what the transport raises (the caller decides).
    """
    if live is None:
        return None
    digest = sha256_hex(live)
    result = ctx.run(
        [
            "sh",
            "-c",
            _LIST_BACKUPS,
            "deployer-backups",
            str(ctx.path(ctx.state.backup_dir)),
            ctx.state.manifest_path.name,
        ],
        timeout_s=30,
    )
    for block in result.stdout.split("==> ")[1:]:
        header, _, body = block.partition("\n")
        verified, has_manifest, folder = (header.split(" ", 2) + ["", "", ""])[:3]
        if not folder.rsplit("/", 1)[-1].startswith(BACKUP_PREFIX):
            continue
        try:
            record = json.loads(body) if body.strip() else {}
        except json.JSONDecodeError:
            continue
        if not isinstance(record, dict) or record.get("new_sha256") != digest:
            continue
        if verified == "1":
            return None  # the live manifest was verified once: not a killed run's push
        return UnverifiedPush(
            host=ctx.name,
            backup=PurePosixPath(folder),
            run_id=str(record.get("run_id", "?")),
            has_previous=has_manifest == "1",
        )
    return None


def repair_host(ctx: HostContext, found: UnverifiedPush) -> RollbackResult:
    """Restore the previous manifest from ``found.backup``, wait for its pod, verify it.

    The same steps as a rollback (atomic rename, restart evidence, verification). A first
    install (no previous manifest) is undone by moving the manifest into the backup folder.

    Raises:
        UnreachableError: the connection was lost (the caller may reconnect and call again).
    """
    # The newest container belongs to the killed run's pod; the newest of another pod is the
    # pod that ran before (the backup parses to it, so kubelet brings that pod back). Older
    # containers of the previous pod must not be taken for the failing one.
    containers = sorted(list_containers(ctx) or (), key=lambda c: c.created_at_ns, reverse=True)
    failing = {containers[0].pod_uid} if containers else set()
    before = next((c.pod_uid for c in containers if c.pod_uid not in failing), None)
    previous: bytes | None = None
    if found.has_previous:
        name = ctx.state.manifest_path.name
        previous = ctx.transport.read(found.backup / name, sudo=ctx.state.become)
        if not previous:
            return RollbackResult(False, f"{found.backup / name} is missing or empty")
    return rollback_host(
        ctx, backup=found.backup, live=previous, old_pod_uid=before, failed_pod_uids=failing
    )


def mark_verified(ctx: HostContext, backup: PurePosixPath) -> None:
    """Record in the backup folder that its change was verified (see the module doc)."""
    ctx.transport.put_atomic(
        f"{ctx.run_id}\n".encode(), backup / VERIFIED_MARKER, mode=0o600, sudo=ctx.state.become
    )


def remove_stale_temp_files(ctx: HostContext) -> tuple[str, ...]:
    """Remove ``.kube-apiserver.yaml.<12 hex>`` files a killed run left; return their paths.

    Only called while this run holds the host's lock, so no other deployer run is writing one.
    kubelet ignores dot-files, so they were harmless; they are still clutter an operator would
    have to judge.
    """
    manifest = ctx.path(ctx.state.manifest_path)
    result = ctx.run(
        ["sh", "-c", _REMOVE_TEMPS, "deployer-clean", str(manifest.parent), manifest.name],
        timeout_s=30,
    )
    return tuple(line for line in result.stdout.splitlines() if line)


def find_unverified_pushes(
    plan: Plan,
    degraded: Iterable[HostPlan],
    transports: Mapping[str, Transport],
    *,
    clock: Clock,
    reporter: Reporter,
) -> dict[str, UnverifiedPush]:
    """Which ``degraded`` hosts run a killed run's unverified push (read-only, best effort)."""
    found: dict[str, UnverifiedPush] = {}
    for host_plan in degraded:
        transport = transports.get(host_plan.name)
        if transport is None or host_plan.observed is None:
            continue
        ctx = HostContext(host_plan.state, transport, clock, reporter, plan.run_id)
        hit = _lookup(ctx, host_plan.observed.manifest)
        if hit is not None:
            found[host_plan.name] = hit
    return found


def _lookup(ctx: HostContext, live: bytes | None) -> UnverifiedPush | None:
    no_hit: UnverifiedPush | None = None
    return best_effort(ctx, "preflight", lambda: find_unverified_push(ctx, live), no_hit)


def _lock(phases: Phases, ctx: HostContext, lease_s: int, command: str) -> RemoteLock:
    return phases.run("lock", lambda: take_host_lock(ctx, lease_s=lease_s, command=command))


def _restorer(ctx: HostContext, hit: UnverifiedPush) -> Callable[[], RollbackResult]:
    def restore() -> RollbackResult:
        result = with_reconnect(ctx, lambda: repair_host(ctx, hit), phase="repair")
        if not result.ok:
            raise DeployerError(result.detail)
        return result

    return restore


def repair_hosts(
    plan: Plan,
    transports: Mapping[str, Transport],
    found: Mapping[str, UnverifiedPush],
    *,
    clock: Clock,
    reporter: Reporter,
    lock_lease_s: int,
    command: str,
    heartbeat_s: float | None = None,
) -> dict[str, HostReport]:
    """Restore each killed run's backup (one host at a time, under the host's lock), verified.

    Outcome ``rolled_back`` when the previous manifest runs and verifies again, else
    ``rollback_failed`` with the commands to recover by hand; stops at the first failure.
    """
    reports: dict[str, HostReport] = {}
    for name, hit in found.items():
        host_plan = next(p for p in plan.hosts if p.name == name)
        ctx = HostContext(host_plan.state, transports[name], clock, reporter, plan.run_id)
        phases = Phases(ctx)
        try:
            lock = _lock(phases, ctx, lock_lease_s, command)
        except Exception as exc:  # nothing touched
            reports[name] = HostReport(
                name, Outcome.FAILED, tuple(phases.records), error=as_error(ctx, exc)
            )
            break
        beat = Heartbeat(lock, ctx.transport, sudo=ctx.state.become, interval_s=heartbeat_s).start()
        leased = dataclasses.replace(ctx, transport=LeasedTransport(ctx.transport, beat))
        ctx.emit("repair", EventKind.INFO, hit.describe())

        try:
            result = phases.run("repair", _restorer(leased, hit), lambda r: r.detail)
        except Exception as exc:  # reported, never a crash on a host being repaired
            result = RollbackResult(False, f"repair failed: {short_error(exc)}")
        details = (("repair", {"ok": result.ok, "detail": result.detail, "from": str(hit.backup)}),)
        if result.ok:
            release_lease(leased, beat)
            error = DeployerError(
                f"[{name}] {hit.describe()}; restored from the backup and verified"
            )
            reports[name] = HostReport(
                name,
                Outcome.ROLLED_BACK,
                tuple(phases.records),
                backup_path=hit.backup,
                error=error,
                details=details,
            )
            continue
        beat.stop()
        error = DeployerError(
            f"[{name}] repair FAILED: {result.detail}",
            hint="this host may have no healthy kube-apiserver. Recover by hand:\n"
            + recovery_commands(ctx, hit.backup),
        )
        reports[name] = HostReport(
            name,
            Outcome.ROLLBACK_FAILED,
            tuple(phases.records),
            backup_path=hit.backup,
            error=error,
            details=details,
        )
        break
    return reports
