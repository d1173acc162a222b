"""Turn per-host outcomes into the run's exit code (the contract of DESIGN.md section 3)."""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence

from deployer.companions.planning import change_report
from deployer.errors import DeployerError, ExitCode, LockHeld
from deployer.model.plan import Plan
from deployer.model.report import HostReport, Outcome

__all__ = [
    "Ending",
    "aborted_reports",
    "exit_code_for_run",
    "interrupted_reports",
    "plan_reports",
    "run_exit_code",
]


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
        if host_plan.companion_changes:  # companion files: masked diffs, never the content
            details.append(("companion_changes", change_report(host_plan.companion_changes)))
        if host_plan.is_ready is not None:
            details.append(("ready", {"ok": host_plan.is_ready, "detail": host_plan.ready_detail}))
        reports.append(
            HostReport(
                host_plan.name, outcome, diff=host_plan.diff, error=error, details=tuple(details)
            )
        )
    return tuple(reports)


def aborted_reports(
    plan: Plan,
    done: Mapping[str, HostReport],
    last: Mapping[str, tuple[str, str]],
    *,
    by: str = "Ctrl-C",
) -> tuple[HostReport, ...]:
    """Reports after a second Ctrl-C: what finished, and where the interrupted host was left.

    ``done`` holds the hosts that finished; ``last`` the last (phase, event kind) seen per
    host, so a host that was mid-change is reported with the phase it was left in.
    """
    reports = []
    for host_plan in plan.hosts:
        name = host_plan.name
        if name in done:
            reports.append(done[name])
        elif name in last:
            phase, kind = last[name]
            backup_dir = host_plan.state.on_host(host_plan.state.backup_dir)
            error = DeployerError(
                f"aborted by a second {by} during {phase} ({kind}); the host may run the new "
                "manifest, the old one, or a restarting pod",
                hint=f"check it now: deployer verify --limit {name}; the previous manifest is "
                f"in the newest {backup_dir}/deployer-backup-*/",
            )
            reports.append(
                HostReport(name, Outcome.ROLLBACK_FAILED, diff=host_plan.diff, error=error)
            )
        else:
            outcome = Outcome.SKIPPED if host_plan.needs_change else Outcome.UNCHANGED
            reports.append(HostReport(name, outcome, diff=host_plan.diff))
    return tuple(reports)


def interrupted_reports(hosts: Sequence[str], signal_name: str) -> tuple[HostReport, ...]:
    """Reports for a command stopped before any host was changed (every host untouched)."""
    error = DeployerError(f"not attempted: interrupted ({signal_name}) before any host was changed")
    return tuple(HostReport(name, Outcome.SKIPPED, error=error) for name in hosts)
