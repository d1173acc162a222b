"""Run a rollout: pending hosts in batches of ``serial``, stopping at the first failure.

Each host is rolled by :func:`deployer.rollout.host.roll_host` (its file set, verified, every
file restored on failure); this module decides which hosts go, in what batches, and when the
run stops: a failed host skips the rest (DESIGN.md rule 6), and so does an operator's stop.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from deployer.desired import DesiredState
from deployer.errors import DeployerError, InputError, RolloutError
from deployer.facts.observe import HostObservation
from deployer.model.events import Clock, Reporter, StopSignal
from deployer.model.plan import HostPlan, Plan
from deployer.model.report import HostReport, Outcome
from deployer.phases.context import HostContext
from deployer.phases.preflight import Observe, preflight
from deployer.rollout.fileset import file_set, set_problems
from deployer.rollout.host import HostOptions, roll_host
from deployer.rollout.outcome import Ending, run_exit_code
from deployer.transport.base import Transport

__all__ = [
    "ApplyOptions",
    "Ending",
    "Refusal",
    "StopSignal",
    "apply_plan",
    "check_hosts",
    "check_max_hosts",
    "degraded_hosts",
    "refuse_degraded",
    "run_exit_code",
]


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a rollout did not start, and the reports that say so."""

    message: str
    hint: str
    reports: tuple[HostReport, ...]


def refuse_degraded(plan: Plan, reports: Sequence[HostReport], *, force: bool) -> Refusal | None:
    """Refuse to start while any host is already unwell (rule 6), unless forced.

    ``reports`` are the plan's reports; pending hosts become skipped in the refusal's.
    """
    degraded = degraded_hosts(plan)
    if not degraded or force:
        return None
    names = ", ".join(
        f"{p.name} ({p.unreachable or p.ready_detail or 'no running apiserver'})" for p in degraded
    )
    return Refusal(
        f"refusing to start: the control plane is already degraded: {names}",
        "fix those hosts first, or pass --force to go on anyway",
        skip_pending(reports),
    )


def skip_pending(reports: Sequence[HostReport]) -> tuple[HostReport, ...]:
    """The same reports with every pending host marked skipped (the run changed nothing)."""
    return tuple(
        HostReport(
            r.host,
            Outcome.SKIPPED if r.outcome is Outcome.PENDING else r.outcome,
            diff=r.diff,
            error=r.error,
            details=r.details,
        )
        for r in reports
    )


def check_max_hosts(plan: Plan, max_hosts: int | None) -> None:
    """Refuse a run that would change more hosts than ``--max-hosts`` (a safety valve).

    Raises:
        InputError: more pending hosts than allowed; nothing was touched.
    """
    if max_hosts is not None and len(plan.pending) > max_hosts:
        raise InputError(
            f"{len(plan.pending)} hosts need a change, more than --max-hosts {max_hosts};"
            " nothing was touched",
            hint="review with `deployer plan --diff`, then apply by hand or raise --max-hosts",
        )


def check_hosts(
    plan: Plan,
    transports: Mapping[str, Transport],
    *,
    clock: Clock,
    reporter: Reporter,
    force: bool = False,
) -> dict[str, DeployerError]:
    """Run preflight's read-only checks on every pending host, touching nothing (``--check``).

    Against the plan's own observation (no second round trip), so ``--check`` cannot call a
    change "pending" that preflight would refuse: missing referenced files, no space, kubelet
    down, stray files, certificates that do not fit, a companion set that could not apply.
    Returns the refusal per host (none for hosts that would go ahead).
    """
    refused: dict[str, DeployerError] = {}
    for host_plan in plan.pending:
        transport = transports.get(host_plan.name)
        observed = host_plan.observed
        if transport is None or observed is None:
            continue
        ctx = HostContext(host_plan.state, transport, clock, reporter, plan.run_id)
        problems = set_problems(host_plan, file_set(host_plan))
        try:
            if problems:
                raise RolloutError("; ".join(problems), host=host_plan.name, phase="preflight")
            preflight(ctx, host_plan, force=force, observe=_seen(observed))
        except DeployerError as exc:
            refused[host_plan.name] = exc
    return refused


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


def _seen(observation: HostObservation) -> Observe:
    """An observation step that answers with what the plan already observed."""

    def observe(transport: Transport, state: DesiredState) -> HostObservation:
        return observation

    return observe


def _host_options(options: ApplyOptions) -> HostOptions:
    return HostOptions(
        force=options.force,
        lock_lease_s=options.lock_lease_s,
        heartbeat_s=options.heartbeat_s,
        command=options.command,
        record=options.record,
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
    host_options = _host_options(options)
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
            results = [roll_host(contexts[0], batch[0], host_options)]
        else:
            with ThreadPoolExecutor(max_workers=len(batch)) as pool:
                results = list(
                    pool.map(
                        lambda cp: roll_host(cp[0], cp[1], host_options),
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
