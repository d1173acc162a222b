"""Turn per-host outcomes into the run's exit code (the contract of DESIGN.md section 3)."""

from __future__ import annotations

import enum
from collections.abc import Sequence

from deployer.errors import DeployerError, ExitCode, LockHeld
from deployer.model.plan import Plan
from deployer.model.report import HostReport, Outcome

__all__ = ["Ending", "exit_code_for_run", "plan_reports", "run_exit_code"]


def exit_code_for_run(reports: Sequence[HostReport]) -> ExitCode:
    """The most severe outcome wins: 4 > 3 > 7 > 5 > 2 > 0.

    A host that failed before anything was touched (stale plan, preflight) stopped the
    rollout, so it is reported as 3 (rollout stopped) unless it failed on a lock (7).
    """
    outcomes = {r.outcome for r in reports}
    if Outcome.ROLLBACK_FAILED in outcomes:
        return ExitCode.ROLLBACK_FAILED
    if Outcome.ROLLED_BACK in outcomes:
        return ExitCode.ROLLED_BACK
    failed = [r for r in reports if r.outcome is Outcome.FAILED]
    if failed:
        if all(isinstance(r.error, LockHeld) for r in failed):
            return ExitCode.LOCKED
        return ExitCode.ROLLED_BACK
    if Outcome.UNREACHABLE in outcomes:
        return ExitCode.UNREACHABLE
    if Outcome.PENDING in outcomes:
        return ExitCode.PENDING
    return ExitCode.OK


class Ending(enum.Enum):
    """How a run ended, besides what its hosts did: what the exit code must also say."""

    #: Ran to its end (every pending host done, or the first failure stopped it).
    COMPLETED = "completed"
    #: The operator's first Ctrl-C/SIGTERM stopped it between hosts.
    STOPPED = "stopped"
    #: Interrupted before any host was changed (connecting, observing, planning).
    INTERRUPTED = "interrupted"
    #: A second Ctrl-C (or SIGTERM's grace) aborted a host mid-change.
    ABORTED = "aborted"
    #: Refused to start: the control plane is already degraded (rule 6).
    REFUSED = "refused"
    #: Hosts running a killed run's unverified push were restored; nothing else was done.
    REPAIRED = "repaired"


def run_exit_code(reports: Sequence[HostReport], ending: Ending = Ending.COMPLETED) -> ExitCode:
    """The run's exit code (DESIGN.md section 3): the hosts' outcomes, then how it ended.

    The one place a rollout's code is decided: the most severe host outcome
    (:func:`~deployer.rollout.outcome.exit_code_for_run`), raised to 3 when the run stopped
    short of its plan (interrupted, refused, repaired, or stopped with hosts skipped), and 4
    when a host was abandoned mid-change. A refusal for an unreachable host is 5.
    """
    code = exit_code_for_run(reports)
    if ending is Ending.ABORTED:
        return ExitCode.ROLLBACK_FAILED
    if ending is Ending.INTERRUPTED:
        return ExitCode.ROLLED_BACK
    if ending is Ending.REFUSED:
        unreachable = any(r.outcome is Outcome.UNREACHABLE for r in reports)
        return ExitCode.UNREACHABLE if unreachable else ExitCode.ROLLED_BACK
    if ending is Ending.REPAIRED:
        return max(code, ExitCode.ROLLED_BACK)
    stopped_short = any(r.outcome is Outcome.SKIPPED for r in reports)
    if ending is Ending.STOPPED and code is ExitCode.OK and stopped_short:
        return ExitCode.ROLLED_BACK  # stopped by the operator: later hosts untouched
    return code


def plan_reports(plan: Plan) -> tuple[HostReport, ...]:
    """One report per host of ``plan``: pending, unchanged or unreachable, with the plan's facts."""
    reports = []
    for host_plan in plan.hosts:
        if host_plan.unreachable:
            outcome = Outcome.UNREACHABLE
            error: DeployerError | None = DeployerError(host_plan.unreachable)
        else:
            outcome = Outcome.PENDING if host_plan.needs_change else Outcome.UNCHANGED
            error = None
        details: list[tuple[str, object]] = [("kind", host_plan.kind.value)]
        if host_plan.image_change:
            details.append(("image_change", host_plan.image_change))
        if host_plan.flag_changes:
            details.append(("flag_changes", [str(c) for c in host_plan.flag_changes]))
        if host_plan.field_paths:
            details.append(("field_paths", list(host_plan.field_paths)))
        if host_plan.notes:
            details.append(("notes", list(host_plan.notes)))
        details.append(("drift", host_plan.drift))
        if host_plan.is_ready is not None:
            details.append(("ready", {"ok": host_plan.is_ready, "detail": host_plan.ready_detail}))
        reports.append(
            HostReport(
                host_plan.name, outcome, diff=host_plan.diff, error=error, details=tuple(details)
            )
        )
    return tuple(reports)
