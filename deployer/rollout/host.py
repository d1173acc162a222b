"""Roll one control-plane host: its set of files, verified, every file restored on failure.

Reads top to bottom like kubeadm's ``upgradeComponent`` (cmd/kubeadm/app/phases/upgrade/
staticpods.go), with what it changes given as data (:class:`~deployer.rollout.fileset.FileSet`):
lock, preflight, back up EVERY file of the set, write each atomically (companions, the manifest
last), wait for the evidence that the apiserver runs the new set (a new pod when the manifest
changed; the reload counter and hash when only self-reloading files changed), verify. A failure
after the first write restores every file and verifies the restore (:func:`roll_back`); a
failure before it leaves nothing to restore. Nothing here is cleaned up in a ``finally``: a
failed run needs its backup.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from deployer.engine.failure import (
    Phases,
    as_error,
    lease_lost,
    release_lease,
    roll_back,
    unchanged_report,
)
from deployer.engine.hostlock import take_host_lock
from deployer.engine.recovery import best_effort, set_unchanged
from deployer.engine.selfheal import mark_verified, remove_stale_temp_files
from deployer.locks import LockLost
from deployer.locks.heartbeat import Heartbeat, LeasedTransport
from deployer.model.events import EventKind
from deployer.model.plan import HostPlan
from deployer.model.report import HostReport, Outcome, RestartRecord
from deployer.phases.backup import Companion, backup_manifest, prune_backups
from deployer.phases.context import HostContext
from deployer.phases.observe import observe_host
from deployer.phases.preflight import Observe, PreflightFailed, preflight
from deployer.phases.push import push_file
from deployer.phases.reload import read_reloads, wait_for_reloads
from deployer.phases.restart import wait_for_new_pod
from deployer.phases.verify import read_credentials, verify_host
from deployer.rollout.fileset import FileSet, TargetFile, file_set, set_problems

__all__ = ["HostOptions", "roll_host"]


@dataclass(frozen=True, slots=True)
class HostOptions:
    """How one host is rolled (the run's options that reach a host)."""

    #: Go on although the host has stray files (an operator's decision).
    force: bool = False
    #: The host lease's minimum; it grows to outlast the longest step (see ``lease_for``).
    lock_lease_s: int = 900
    #: Seconds between lease renewals; None: a third of the lease, at most 30 s.
    heartbeat_s: float | None = None
    command: str = "apply"
    #: Extra fields for the backup's run record (who, from where).
    record: Mapping[str, object] = field(default_factory=dict)
    #: How preflight observes the host (the one round trip plan makes too).
    observe: Observe = observe_host


def roll_host(ctx: HostContext, plan: HostPlan, options: HostOptions) -> HostReport:
    """Take the host's lock, then roll its file set under a renewed lease."""
    phases = Phases(ctx)
    files = file_set(plan)
    try:
        problems = set_problems(plan, files)
        if problems:
            raise PreflightFailed(
                "; ".join(problems) + "; nothing was touched on this host",
                host=ctx.name,
                phase="preflight",
                hint="give the manifest a digest annotation of its companions, or move the file",
            )
        lock = phases.run(
            "lock",
            lambda: take_host_lock(ctx, lease_s=options.lock_lease_s, command=options.command),
        )
    except Exception as exc:  # nothing was touched: a failed host, not a crash
        return HostReport(
            ctx.name, Outcome.FAILED, tuple(phases.records), plan.diff, error=as_error(ctx, exc)
        )
    # From here on the lease is renewed in the background, and every step goes through a
    # transport that refuses to touch the host once another run owns it.
    beat = Heartbeat(
        lock, ctx.transport, sudo=ctx.state.become, interval_s=options.heartbeat_s
    ).start()
    leased = dataclasses.replace(ctx, transport=LeasedTransport(ctx.transport, beat))
    try:
        return _roll_leased(leased, plan, files, options, phases, beat)
    finally:
        beat.stop()


def _roll_leased(
    ctx: HostContext,
    plan: HostPlan,
    files: FileSet,
    options: HostOptions,
    phases: Phases,
    beat: Heartbeat,
) -> HostReport:
    details: dict[str, object] = {"drift": plan.drift}
    backup: PurePosixPath | None = None
    companions = [Companion(f.path, f.mode, f.reload) for f in files.companions]
    reloaded = () if plan.needs_restart else files.reloaded
    try:
        checked = phases.run(
            "preflight", lambda: preflight(ctx, plan, force=options.force, observe=options.observe)
        )
        live = checked.observation.manifest
        old_ids = {c.id for c in checked.observation.containers or ()}
        running = checked.observation.running
        record = {"command": options.command, **options.record}
        backup = phases.run(
            "backup",
            lambda: backup_manifest(ctx, plan, live, record=record, companions=companions),
            str,
        )
        # The reload counters are read BEFORE the first write: the evidence is their growth.
        creds = read_credentials(ctx) if reloaded else None
        watched = [(f.path, f.reload) for f in reloaded if f.reload]
        before = read_reloads(ctx, creds, watched) if creds else {}
    except LockLost as exc:
        return lease_lost(ctx, plan, phases, details, backup, exc, pushed=False)
    except Exception as exc:  # nothing was touched: a failed host, not a crash
        release_lease(ctx, beat)
        return HostReport(
            ctx.name,
            Outcome.FAILED,
            tuple(phases.records),
            plan.diff,
            backup,
            error=as_error(ctx, exc),
        )

    restart: RestartRecord | None = None
    written: list[TargetFile] = []
    none: tuple[str, ...] = ()
    stale = best_effort(ctx, "push", lambda: remove_stale_temp_files(ctx), none)
    if stale:
        ctx.emit(
            "push", EventKind.WARN, "removed temp files a killed run left: " + ", ".join(stale)
        )
    try:
        phases.run("push", lambda: _push_set(ctx, files, written))
        beat.check()
        if plan.needs_restart:
            restart = phases.run(
                "restart",
                lambda: wait_for_new_pod(
                    ctx,
                    old_ids=old_ids,
                    old_pod_uid=running.pod_uid if running else None,
                    old_id=running.id if running else None,
                    timeout_s=ctx.state.restart_timeout_s,
                ),
                lambda r: f"{(r.old_id or 'none')[:13]} -> {r.new_id[:13]} in {r.seconds:g}s",
            )
        elif reloaded and creds is not None:
            seen = phases.run(
                "reload",
                lambda: wait_for_reloads(
                    ctx,
                    creds,
                    [(f.path, f.sha256, f.reload) for f in reloaded if f.reload],
                    before,
                    timeout_s=ctx.state.restart_timeout_s,
                    phase="reload",
                ),
                lambda r: f"{len(r)} file(s) reloaded without a restart",
            )
            details["reload"] = [{"path": str(s.path), "count": s.count} for s in seen]
        else:
            ctx.emit(
                "restart", EventKind.INFO, "cosmetic change: kubelet restarts nothing, no wait"
            )
        beat.check()
        report = phases.run(
            "verify",
            lambda: verify_host(
                ctx, manifest=plan.desired.content, container_id=restart.new_id if restart else None
            ),
            lambda r: ", ".join(c.name for c in r.checks) + " ok",
        )
        details["verify"] = report.as_details()
        beat.check()
        if backup is not None:
            marked = backup
            best_effort(ctx, "verify", lambda: mark_verified(ctx, marked), None)
    except LockLost as exc:
        # Another run owns the host now: touching it again (even to roll back) would restart
        # the apiserver under that run's feet. Stop and say exactly where the host was left.
        return lease_lost(
            ctx, plan, phases, details, backup, exc, pushed=bool(written), restart=restart
        )
    except Exception as exc:  # after the first write, every failure restores the whole set
        if not written and set_unchanged(ctx, live, backup, has_companions=bool(companions)):
            release_lease(ctx, beat)
            return unchanged_report(ctx, plan, phases, details, backup, exc)
        return roll_back(
            ctx, plan, phases, details, backup, live, old_ids, running, restart, exc, beat
        )
    no_prune: tuple[str, ...] = ()
    pruned = best_effort(
        ctx, "backup", lambda: prune_backups(ctx, keep=ctx.state.backup_keep), no_prune
    )
    if pruned:
        details["pruned_backups"] = list(pruned)
    release_lease(ctx, beat)
    return HostReport(
        ctx.name,
        Outcome.CHANGED,
        tuple(phases.records),
        plan.diff,
        backup,
        details=tuple(details.items()),
        restart=restart,
    )


def _push_set(ctx: HostContext, files: FileSet, written: list[TargetFile]) -> None:
    """Write every file of the set in order; ``written`` grows as each one lands."""
    for f in files.files:
        push_file(
            ctx,
            f.path,
            f.content,
            sha256=f.sha256,
            mode=f.mode,
            owner=f.owner,
            make_parent=not f.is_manifest,
        )
        written.append(f)
