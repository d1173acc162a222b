"""Turn per-host outcomes into the run's exit code (the contract of DESIGN.md section 3)."""

from __future__ import annotations

from collections.abc import Sequence

from deployer.errors import ExitCode, LockHeld
from deployer.model.report import HostReport, Outcome

__all__ = ["exit_code_for_run"]


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
