"""When a host fails after its lock was taken: roll back, or report exactly where it was left.

The rollout's promise per host is one of: changed and verified; failed before anything changed
(exit 3); rolled back and verified (exit 3); rollback failed with the commands to recover by
hand (exit 4); or the lease was lost to another run, after which nothing more is done there
(exit 7). Everything here serves the last four, so :mod:`deployer.rollout.host` reads as the
happy path.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import PurePosixPath
from typing import TypeVar

from deployer.engine.recovery import RECONNECT_ATTEMPTS, best_effort, with_reconnect
from deployer.errors import DeployerError, RolloutError, UnreachableError
from deployer.facts.crictl import ContainerInfo
from deployer.locks import LockLost
from deployer.locks.heartbeat import Heartbeat
from deployer.model.events import EventKind
from deployer.model.plan import HostPlan
from deployer.model.report import HostReport, Outcome, PhaseRecord, RestartRecord
from deployer.phases.context import HostContext
from deployer.phases.restart import list_containers
from deployer.phases.rollback import (
    RollbackResult,
    collect_evidence,
    recovery_commands,
    rollback_host,
)
from deployer.phases.verify import VerifyFailed

__all__ = [
    "Phases",
    "as_error",
    "lease_lost",
    "release_lease",
    "roll_back",
    "short_error",
    "unchanged_report",
]

T = TypeVar("T")


class Phases:
    """Records phase timings for one host while running them."""

    def __init__(self, ctx: HostContext) -> None:
        self.ctx = ctx
        self.records: list[PhaseRecord] = []

    def run(self, phase: str, step: Callable[[], T], detail: Callable[[T], str] | None = None) -> T:
        """Run one phase: emit start/ok/fail, record its timing, re-raise what it raised."""
        clock = self.ctx.clock
        start_wall, start = clock.time(), clock.monotonic()
        self.ctx.emit(phase, EventKind.START)
        try:
            value = step()
        except BaseException as exc:
            took = clock.monotonic() - start
            self.records.append(
                PhaseRecord(
                    phase, False, round(took, 3), short_error(exc), start_wall, clock.time()
                )
            )
            self.ctx.emit(phase, EventKind.FAIL, short_error(exc), took)
            raise
        took = clock.monotonic() - start
        text = detail(value) if detail else ""
        self.records.append(
            PhaseRecord(phase, True, round(took, 3), text, start_wall, clock.time())
        )
        self.ctx.emit(phase, EventKind.OK, text, took)
        return value


def short_error(exc: BaseException) -> str:
    """One line for an error: our message, or the type and text of anything else."""
    if isinstance(exc, DeployerError):
        return exc.message
    return f"{type(exc).__name__}: {exc}"


def roll_back(
    ctx: HostContext,
    plan: HostPlan,
    phases: Phases,
    details: dict[str, object],
    backup: PurePosixPath | None,
    live: bytes | None,
    old_ids: set[str],
    running: ContainerInfo | None,
    restart: RestartRecord | None,
    cause: BaseException,
    beat: Heartbeat,
) -> HostReport:
    """Roll a host back after any failure that followed the push; exit 3, 4 or 7."""
    if isinstance(cause, VerifyFailed):
        details["verify"] = cause.report.as_details()
    failed_id = restart.new_id if restart else getattr(cause, "container_id", None)
    evidence = best_effort(ctx, "rollback", lambda: collect_evidence(ctx, failed_id), "")
    if evidence:
        details["evidence"] = evidence
        ctx.emit("rollback", EventKind.INFO, "last log lines of the failed container:\n" + evidence)
    old_pod_uid = running.pod_uid if running else None
    unknown: set[str] = set()
    failed_uids = best_effort(
        ctx, "rollback", lambda: _new_pod_uids(ctx, old_ids, old_pod_uid), unknown
    )

    def restore() -> RollbackResult:
        return rollback_host(
            ctx,
            backup=backup,
            live=live,
            old_pod_uid=old_pod_uid,
            failed_pod_uids=failed_uids,
            pushed=plan.desired.content,
        )

    def attempt() -> RollbackResult:
        try:
            outcome = with_reconnect(ctx, restore, phase="rollback")
        except LockLost:
            raise
        except UnreachableError as exc:
            outcome = RollbackResult(
                False,
                f"the SSH connection was lost and did not come back after "
                f"{RECONNECT_ATTEMPTS} attempts ({exc.message}); the host was left after "
                f"{_last_phase(phases)} with the NEW manifest in place",
            )
        except Exception as exc:  # report, never crash, on a changed host
            outcome = RollbackResult(False, f"rollback step failed: {short_error(exc)}")
        if not outcome.ok:
            raise _RollbackNotOk(outcome)
        return outcome

    try:
        result = phases.run("rollback", attempt, lambda r: r.detail)
    except _RollbackNotOk as exc:
        result = exc.result
    except LockLost as exc:
        return lease_lost(ctx, plan, phases, details, backup, exc, pushed=True, restart=restart)
    details["rollback"] = {"ok": result.ok, "detail": result.detail}
    error: DeployerError
    if result.ok:
        release_lease(ctx, beat)
        error = RolloutError(
            f"{short_error(cause)}; rolled back to the previous manifest",
            host=ctx.name,
            phase="rollback",
        )
        outcome = Outcome.ROLLED_BACK
    else:
        # The lock is left to expire: a host in this state should not be changed by a timer.
        error = RolloutError(
            f"ROLLBACK FAILED: {result.detail} (cause: {short_error(cause)})",
            host=ctx.name,
            phase="rollback",
            hint="this host may have no healthy kube-apiserver. Recover by hand:\n"
            + recovery_commands(ctx, backup, companions=bool(plan.companion_changes)),
        )
        outcome = Outcome.ROLLBACK_FAILED
    return _host_report(ctx, outcome, plan, phases, details, backup, error, restart)


def lease_lost(
    ctx: HostContext,
    plan: HostPlan,
    phases: Phases,
    details: dict[str, object],
    backup: PurePosixPath | None,
    exc: LockLost,
    *,
    pushed: bool,
    restart: RestartRecord | None = None,
) -> HostReport:
    """A lost lease: no rollback, no release, nothing more on this host; exit 7."""
    where = (
        f"the NEW manifest is in place (pushed, {_last_phase(phases)} not finished)"
        if pushed
        else "the live manifest was not changed"
    )
    ctx.emit("lock", EventKind.FAIL, f"lease lost: {exc.message}; {where}; stopping")
    error = LockLost(
        path=exc.path,
        holder=exc.holder,
        host=ctx.name,
        hint=f"{where}. Another run holds this host now; deployer touched nothing more. "
        "When it is done, check the host (deployer verify --limit "
        f"{ctx.name}); to restore by hand:\n"
        + recovery_commands(ctx, backup, companions=bool(plan.companion_changes)),
    )
    details["lease_lost"] = {"pushed": pushed, "where": where}
    return _host_report(ctx, Outcome.FAILED, plan, phases, details, backup, error, restart)


def unchanged_report(
    ctx: HostContext,
    plan: HostPlan,
    phases: Phases,
    details: dict[str, object],
    backup: PurePosixPath | None,
    cause: BaseException,
) -> HostReport:
    """The push failed before its rename: nothing to restore, a failed host (exit 3)."""
    error = RolloutError(
        f"{short_error(cause)}; the push failed before the rename: the live manifest was never "
        "changed, nothing to restore",
        host=ctx.name,
        phase="push",
        hint="free space/inodes in the manifests folder's file system, then run again",
    )
    return _host_report(ctx, Outcome.FAILED, plan, phases, details, backup, error)


def _host_report(
    ctx: HostContext,
    outcome: Outcome,
    plan: HostPlan,
    phases: Phases,
    details: dict[str, object],
    backup: PurePosixPath | None,
    error: DeployerError,
    restart: RestartRecord | None = None,
) -> HostReport:
    """The host's report after a failure: its phases so far, its diff, backup and details."""
    return HostReport(
        ctx.name,
        outcome,
        tuple(phases.records),
        plan.diff,
        backup,
        error=error,
        details=tuple(details.items()),
        restart=restart,
    )


def _last_phase(phases: Phases) -> str:
    return phases.records[-1].phase if phases.records else "the start"


def release_lease(ctx: HostContext, beat: Heartbeat) -> None:
    """Stop the heartbeat and release the host's lock, unless another run owns it now.

    A failure only leaves a lease that expires on its own.
    """
    lock = beat.stop()
    if beat.lost is not None:
        return
    best_effort(ctx, "lock", lambda: lock.release(ctx.transport, sudo=ctx.state.become), False)


def as_error(ctx: HostContext, exc: BaseException) -> DeployerError:
    """The error to report for a failure before any change (ours as is, a bug wrapped)."""
    if isinstance(exc, DeployerError):
        return exc
    return RolloutError(f"unexpected error: {short_error(exc)}", host=ctx.name, phase="preflight")


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
