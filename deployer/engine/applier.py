"""Apply a plan: one control-plane host at a time, verified, rolled back on failure.

Reads top to bottom like kubeadm's upgrade of a static pod: preflight, backup, push, wait for
the restart, verify; on a failure in push/restart/verify, roll that host back, verify the
rollback, and stop. The remaining hosts are skipped (DESIGN.md rule 6).
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
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
from deployer.engine.recovery import best_effort, manifest_unchanged
from deployer.engine.selfheal import mark_verified, remove_stale_temp_files
from deployer.errors import DeployerError
from deployer.locks import LockLost
from deployer.locks.heartbeat import Heartbeat, LeasedTransport
from deployer.model.events import Clock, EventKind, Reporter
from deployer.model.plan import HostPlan, Plan
from deployer.model.report import HostReport, Outcome
from deployer.phases.backup import backup_manifest, prune_backups
from deployer.phases.context import HostContext
from deployer.phases.preflight import preflight
from deployer.phases.push import push_manifest
from deployer.phases.restart import RestartRecord, wait_for_new_pod
from deployer.phases.verify import verify_host
from deployer.transport.base import Transport

__all__ = ["ApplyOptions", "StopSignal", "apply_plan", "degraded_hosts"]


class StopSignal:
    """Set by the first Ctrl-C: finish (or roll back) the current host, then stop."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def request(self) -> None:
        """Ask the rollout to stop after the current host."""
        self._event.set()

    @property
    def requested(self) -> bool:
        """True once a stop was requested."""
        return self._event.is_set()


@dataclass(frozen=True, slots=True)
class ApplyOptions:
    """How the rollout behaves."""

    serial: int = 1
    #: Go on although some hosts are not ready / have stray files (an operator's decision).
    force: bool = False
    #: The host lease's minimum; it grows to outlast the longest step (see ``lease_for``).
    lock_lease_s: int = 900
    #: Seconds between lease renewals; None: a third of the lease, at most 30 s.
    heartbeat_s: float | None = None
    command: str = "apply"
    #: Extra fields for the backup's run record (who, from where).
    record: Mapping[str, object] = field(default_factory=dict)


def degraded_hosts(plan: Plan) -> tuple[HostPlan, ...]:
    """Hosts that are already unwell: refuse to start a rollout while any exists (rule 6)."""
    return tuple(
        p
        for p in plan.hosts
        if p.unreachable is not None
        or p.is_ready is False
        or (
            p.observed is not None
            and p.observed.containers is not None
            and p.observed.running is None
        )
    )


def _apply_host(ctx: HostContext, plan: HostPlan, options: ApplyOptions) -> HostReport:
    phases = Phases(ctx)
    try:
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
        return _apply_leased(leased, plan, options, phases, beat)
    finally:
        beat.stop()


def _apply_leased(
    ctx: HostContext, plan: HostPlan, options: ApplyOptions, phases: Phases, beat: Heartbeat
) -> HostReport:
    details: dict[str, object] = {"drift": plan.drift}
    backup: PurePosixPath | None = None
    try:
        checked = phases.run("preflight", lambda: preflight(ctx, plan, force=options.force))
        live = checked.observation.manifest
        before = checked.observation.containers or ()
        old_ids = {c.id for c in before}
        running = checked.observation.running
        record = {"command": options.command, **options.record}
        backup = phases.run("backup", lambda: backup_manifest(ctx, plan, live, record=record), str)
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
    pushed = False
    none: tuple[str, ...] = ()
    stale = best_effort(ctx, "push", lambda: remove_stale_temp_files(ctx), none)
    if stale:
        ctx.emit(
            "push", EventKind.WARN, "removed temp files a killed run left: " + ", ".join(stale)
        )
    try:
        phases.run("push", lambda: push_manifest(ctx, plan.desired))
        pushed = True
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
            details["restart"] = {
                "old_container": restart.old_id,
                "new_container": restart.new_id,
                "seconds": restart.seconds,
            }
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
        return lease_lost(ctx, plan, phases, details, backup, exc, pushed=pushed)
    except Exception as exc:  # after the push, every failure rolls back
        if not pushed and manifest_unchanged(ctx, live) is True:
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
    )


def apply_plan(
    plan: Plan,
    transports: Mapping[str, Transport],
    *,
    clock: Clock,
    reporter: Reporter,
    options: ApplyOptions,
    stop: StopSignal | None = None,
    reports: dict[str, HostReport] | None = None,
) -> tuple[HostReport, ...]:
    """Apply every pending host of ``plan`` in batches of ``serial``; stop at the first failure.

    Returns one report per host of the plan, in plan order. ``reports``, when given, is filled
    as hosts finish, so a caller interrupted by a second Ctrl-C still knows what was done.
    """
    stop = stop or StopSignal()
    reports = {} if reports is None else reports
    batch: list[HostPlan] = []
    halted = False
    order = list(plan.hosts)

    def finish_batch() -> None:
        nonlocal halted
        contexts = [
            HostContext(p.state, transports[p.name], clock, reporter, plan.run_id) for p in batch
        ]
        if len(batch) == 1:
            # In this thread: a second Ctrl-C then interrupts the host's step at once.
            results = [_apply_host(contexts[0], batch[0], options)]
        else:
            with ThreadPoolExecutor(max_workers=len(batch)) as pool:
                results = list(
                    pool.map(
                        lambda cp: _apply_host(cp[0], cp[1], options),
                        zip(contexts, batch, strict=True),
                    )
                )
        for result in results:
            reports[result.host] = result
            if result.failed:
                halted = True
        batch.clear()

    for host_plan in order:
        if host_plan.unreachable is not None:
            reports[host_plan.name] = HostReport(
                host_plan.name, Outcome.UNREACHABLE, error=DeployerError(host_plan.unreachable)
            )
            continue
        if not host_plan.needs_change:
            reports[host_plan.name] = HostReport(
                host_plan.name, Outcome.UNCHANGED, details=(("drift", host_plan.drift),)
            )
            continue
        if halted or stop.requested:
            reason = "an earlier host failed" if halted else "stopped by the operator (Ctrl-C)"
            reports[host_plan.name] = HostReport(
                host_plan.name,
                Outcome.SKIPPED,
                diff=host_plan.diff,
                error=DeployerError(f"not attempted: {reason}"),
            )
            continue
        batch.append(host_plan)
        if len(batch) >= max(1, options.serial):
            finish_batch()
    if batch and not (halted or stop.requested):
        finish_batch()
    for host_plan in batch:
        reports[host_plan.name] = HostReport(host_plan.name, Outcome.SKIPPED, diff=host_plan.diff)
    return tuple(reports[p.name] for p in order)
