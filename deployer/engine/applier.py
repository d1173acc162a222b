"""Apply a plan: one control-plane host at a time, verified, rolled back on failure.

Reads top to bottom like kubeadm's upgrade of a static pod: preflight, backup, push, wait for
the restart, verify; on a failure in push/restart/verify, roll that host back, verify the
rollback, and stop. The remaining hosts are skipped (DESIGN.md rule 6).
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import TypeVar

from deployer.engine.events import Clock, Reporter
from deployer.engine.recovery import (
    RECONNECT_ATTEMPTS,
    best_effort,
    manifest_unchanged,
    with_reconnect,
)
from deployer.errors import DeployerError, RolloutError, UnreachableError
from deployer.facts.crictl import ContainerInfo
from deployer.locks import LOCK_FILE_NAME, LockHeld, LockLost, RemoteLock
from deployer.model.plan import HostPlan, Plan
from deployer.model.report import HostReport, Outcome, PhaseRecord
from deployer.phases.backup import backup_manifest, prune_backups
from deployer.phases.context import HostContext
from deployer.phases.preflight import preflight
from deployer.phases.push import push_manifest
from deployer.phases.restart import RestartRecord, list_containers, wait_for_new_pod
from deployer.phases.rollback import (
    RollbackResult,
    collect_evidence,
    recovery_commands,
    rollback_host,
)
from deployer.phases.verify import VerifyFailed, verify_host
from deployer.transport.base import Transport

__all__ = ["ApplyOptions", "StopSignal", "apply_plan", "degraded_hosts"]

T = TypeVar("T")


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
    lock_lease_s: int = 900
    command: str = "apply"
    #: Extra fields for the backup's run record (who, from where).
    record: Mapping[str, object] = field(default_factory=dict)


class _Phases:
    """Records phase timings for one host while running them."""

    def __init__(self, ctx: HostContext) -> None:
        self.ctx = ctx
        self.records: list[PhaseRecord] = []

    def run(self, phase: str, step: Callable[[], T], detail: Callable[[T], str] | None = None) -> T:
        clock = self.ctx.clock
        start_wall, start = clock.time(), clock.monotonic()
        self.ctx.emit(phase, "start")
        try:
            value = step()
        except BaseException as exc:
            took = clock.monotonic() - start
            self.records.append(
                PhaseRecord(phase, False, round(took, 3), _short(exc), start_wall, clock.time())
            )
            self.ctx.emit(phase, "fail", _short(exc), took)
            raise
        took = clock.monotonic() - start
        text = detail(value) if detail else ""
        self.records.append(
            PhaseRecord(phase, True, round(took, 3), text, start_wall, clock.time())
        )
        self.ctx.emit(phase, "ok", text, took)
        return value


def _short(exc: BaseException) -> str:
    if isinstance(exc, DeployerError):
        return exc.message
    return f"{type(exc).__name__}: {exc}"


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


def _take_lock(ctx: HostContext, options: ApplyOptions) -> RemoteLock:
    path = ctx.path(ctx.state.backup_dir) / LOCK_FILE_NAME
    ctx.run(["mkdir", "-p", "-m", "0700", str(path.parent)])

    def acquire() -> RemoteLock:
        return RemoteLock.acquire(
            ctx.transport,
            path,
            ctx.run_id,
            options.lock_lease_s,
            command=options.command,
            sudo=ctx.state.become,
            monotonic=ctx.clock.monotonic,
        )

    try:
        return acquire()
    except LockHeld as exc:
        holder = exc.holder
        # A holder on this workstation whose process is gone crashed: its lease would block
        # every run until it expires. Only this workstation can know the pid is dead.
        if (
            holder is not None
            and holder.workstation == socket.gethostname()
            and holder.pid
            and not _pid_alive(holder.pid)
        ):
            ctx.emit(
                "preflight", "warn", f"removing the lock of a crashed run: {holder.describe()}"
            )
            ctx.run(["rm", "-f", str(path)])
            return acquire()
        raise


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _apply_host(ctx: HostContext, plan: HostPlan, options: ApplyOptions) -> HostReport:
    phases = _Phases(ctx)
    details: dict[str, object] = {"drift": plan.drift}
    try:
        lock = phases.run("lock", lambda: _take_lock(ctx, options))
    except Exception as exc:  # nothing was touched: a failed host, not a crash
        return HostReport(
            ctx.name, Outcome.FAILED, tuple(phases.records), plan.diff, error=_as_error(ctx, exc)
        )
    backup: PurePosixPath | None = None
    try:
        checked = phases.run("preflight", lambda: preflight(ctx, plan, force=options.force))
        live = checked.observation.manifest
        before = checked.observation.containers or ()
        old_ids = {c.id for c in before}
        running = checked.observation.running
        record = {"command": options.command, **options.record}
        backup = phases.run("backup", lambda: backup_manifest(ctx, plan, live, record=record), str)
    except Exception as exc:  # nothing was touched: a failed host, not a crash
        _release(ctx, lock)
        return HostReport(
            ctx.name,
            Outcome.FAILED,
            tuple(phases.records),
            plan.diff,
            backup,
            error=_as_error(ctx, exc),
        )

    restart: RestartRecord | None = None
    pushed = False
    try:
        phases.run("push", lambda: push_manifest(ctx, plan.desired))
        pushed = True
        lock = lock.renew_if_due(ctx.transport, monotonic=ctx.clock.monotonic)
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
            ctx.emit("restart", "info", "cosmetic change: kubelet restarts nothing, no wait")
        lock = lock.renew_if_due(ctx.transport, monotonic=ctx.clock.monotonic)
        report = phases.run(
            "verify",
            lambda: verify_host(
                ctx, manifest=plan.desired.content, container_id=restart.new_id if restart else None
            ),
            lambda r: ", ".join(c.name for c in r.checks) + " ok",
        )
        details["verify"] = report.as_details()
    except LockLost as exc:
        # Another run owns the host now: touching it again (even to roll back) would restart
        # the apiserver under that run's feet. Stop and say exactly where the host was left.
        return _lease_lost(ctx, plan, phases, details, backup, exc, pushed=pushed)
    except Exception as exc:  # after the push, every failure rolls back
        if not pushed and manifest_unchanged(ctx, live) is True:
            _release(ctx, lock)
            error = RolloutError(
                f"{_short(exc)}; the push failed before the rename: the live manifest was "
                "never changed, nothing to restore",
                host=ctx.name,
                phase="push",
                hint="free space/inodes in the manifests folder's file system, then run again",
            )
            return HostReport(
                ctx.name,
                Outcome.FAILED,
                tuple(phases.records),
                plan.diff,
                backup,
                error=error,
                details=tuple(details.items()),
            )
        return _roll_back(
            ctx, plan, phases, details, backup, live, old_ids, running, restart, exc, lock
        )
    no_prune: tuple[str, ...] = ()
    pruned = best_effort(
        ctx, "backup", lambda: prune_backups(ctx, keep=ctx.state.backup_keep), no_prune
    )
    if pruned:
        details["pruned_backups"] = list(pruned)
    _release(ctx, lock)
    return HostReport(
        ctx.name,
        Outcome.CHANGED,
        tuple(phases.records),
        plan.diff,
        backup,
        details=tuple(details.items()),
    )


def _roll_back(
    ctx: HostContext,
    plan: HostPlan,
    phases: _Phases,
    details: dict[str, object],
    backup: PurePosixPath | None,
    live: bytes | None,
    old_ids: set[str],
    running: ContainerInfo | None,
    restart: RestartRecord | None,
    cause: BaseException,
    lock: RemoteLock,
) -> HostReport:
    if isinstance(cause, VerifyFailed):
        details["verify"] = cause.report.as_details()
    failed_id = restart.new_id if restart else getattr(cause, "container_id", None)
    evidence = best_effort(ctx, "rollback", lambda: collect_evidence(ctx, failed_id), "")
    if evidence:
        details["evidence"] = evidence
        ctx.emit("rollback", "info", "last log lines of the failed container:\n" + evidence)
    old_pod_uid = running.pod_uid if running else None
    unknown: set[str] = set()
    failed_uids = best_effort(
        ctx, "rollback", lambda: _new_pod_uids(ctx, old_ids, old_pod_uid), unknown
    )

    def restore() -> RollbackResult:
        return rollback_host(
            ctx, backup=backup, live=live, old_pod_uid=old_pod_uid, failed_pod_uids=failed_uids
        )

    def roll_back() -> RollbackResult:
        try:
            outcome = with_reconnect(ctx, restore, phase="rollback")
        except UnreachableError as exc:
            outcome = RollbackResult(
                False,
                f"the SSH connection was lost and did not come back after "
                f"{RECONNECT_ATTEMPTS} attempts ({exc.message}); the host was left after "
                f"{_last_phase(phases)} with the NEW manifest in place",
            )
        except Exception as exc:  # report, never crash, on a changed host
            outcome = RollbackResult(False, f"rollback step failed: {_short(exc)}")
        if not outcome.ok:
            raise _RollbackNotOk(outcome)
        return outcome

    try:
        result = phases.run("rollback", roll_back, lambda r: r.detail)
    except _RollbackNotOk as exc:
        result = exc.result
    details["rollback"] = {"ok": result.ok, "detail": result.detail}
    error: DeployerError
    if result.ok:
        _release(ctx, lock)
        error = RolloutError(
            f"{_short(cause)}; rolled back to the previous manifest",
            host=ctx.name,
            phase="rollback",
        )
        outcome = Outcome.ROLLED_BACK
    else:
        # The lock is left to expire: a host in this state should not be changed by a timer.
        error = RolloutError(
            f"ROLLBACK FAILED: {result.detail} (cause: {_short(cause)})",
            host=ctx.name,
            phase="rollback",
            hint="this host may have no healthy kube-apiserver. Recover by hand:\n"
            + recovery_commands(ctx, backup),
        )
        outcome = Outcome.ROLLBACK_FAILED
    return HostReport(
        ctx.name,
        outcome,
        tuple(phases.records),
        plan.diff,
        backup,
        error=error,
        details=tuple(details.items()),
    )


def _lease_lost(
    ctx: HostContext,
    plan: HostPlan,
    phases: _Phases,
    details: dict[str, object],
    backup: PurePosixPath | None,
    exc: LockLost,
    *,
    pushed: bool,
) -> HostReport:
    """A lost lease: no rollback, no release, nothing more on this host; exit 7."""
    where = (
        f"the NEW manifest is in place (pushed, {_last_phase(phases)} not finished)"
        if pushed
        else "the live manifest was not changed"
    )
    ctx.emit("lock", "fail", f"lease lost: {exc.message}; {where}; stopping")
    error = LockLost(
        path=exc.path,
        holder=exc.holder,
        host=ctx.name,
        hint=f"{where}. Another run holds this host now; deployer touched nothing more. "
        "When it is done, check the host (deployer verify --limit "
        f"{ctx.name}); to restore by hand:\n" + recovery_commands(ctx, backup),
    )
    details["lease_lost"] = {"pushed": pushed, "where": where}
    return HostReport(
        ctx.name,
        Outcome.FAILED,
        tuple(phases.records),
        plan.diff,
        backup,
        error=error,
        details=tuple(details.items()),
    )


def _last_phase(phases: _Phases) -> str:
    return phases.records[-1].phase if phases.records else "the start"


def _release(ctx: HostContext, lock: RemoteLock) -> None:
    """Release the host's lock; a failure only leaves a lease that expires on its own."""
    best_effort(ctx, "lock", lambda: lock.release(ctx.transport, sudo=ctx.state.become), False)


def _as_error(ctx: HostContext, exc: BaseException) -> DeployerError:
    if isinstance(exc, DeployerError):
        return exc
    return RolloutError(f"unexpected error: {_short(exc)}", host=ctx.name, phase="preflight")


class _RollbackNotOk(DeployerError):
    """Carries a failed rollback's result out of its phase, so the phase is recorded failed."""

    def __init__(self, result: RollbackResult) -> None:
        super().__init__(result.detail)
        self.result = result


def _new_pod_uids(ctx: HostContext, old_ids: set[str], old_pod_uid: str | None) -> set[str]:
    """Pods of containers that appeared since the push: the failed pod(s) to replace."""
    return {
        c.pod_uid
        for c in list_containers(ctx) or ()
        if c.id not in old_ids and c.pod_uid != old_pod_uid
    }


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
