"""Examine every selected host in parallel, one group of checks after another per host.

Why groups run one after another on a host but hosts in parallel: the groups share the host's
one SSH connection and each is a handful of round trips; hosts are independent. A group that
raises (a bug, or the connection dropping halfway) becomes one failed check of that group, so
the other groups still report.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from deployer.doctor.apiserver import check_apiserver
from deployer.doctor.certificates import check_certificates
from deployer.doctor.etcd import check_etcd
from deployer.doctor.logs import check_logs
from deployer.doctor.manifest import check_manifest
from deployer.doctor.metrics import check_metrics
from deployer.doctor.model import Check, Diagnosis, Verdict
from deployer.doctor.subject import Subject, make_subject
from deployer.errors import DeployerError, UnreachableError
from deployer.model.events import Clock, Reporter
from deployer.model.plan import Plan
from deployer.phases.context import HostContext
from deployer.transport.base import Transport
from deployer.transport.pool import run_parallel

__all__ = ["DoctorOptions", "diagnose"]


@dataclass(frozen=True, slots=True)
class DoctorOptions:
    """How much doctor reads."""

    #: ``/metrics`` scrapes per host, ``metrics_interval_s`` apart (at least two: a rate).
    metrics_samples: int = 4
    metrics_interval_s: float = 0.5
    forks: int | None = None


def _groups(
    options: DoctorOptions,
) -> tuple[tuple[str, Callable[[Subject], tuple[Check, ...]]], ...]:
    def metrics(subject: Subject) -> tuple[Check, ...]:
        return check_metrics(
            subject, samples=options.metrics_samples, interval_s=options.metrics_interval_s
        )

    return (
        ("apiserver", check_apiserver),
        ("etcd", check_etcd),
        ("certificates", check_certificates),
        ("logs", check_logs),
        ("metrics", metrics),
        ("manifest", check_manifest),
    )


def _answers(checks: list[Check]) -> bool:
    """False when the apiserver group found nothing answering (``/livez`` got no answer)."""
    return not any(
        c.group == "apiserver" and c.name == "livez" and c.detail.startswith("no answer")
        for c in checks
    )


def diagnose_host(subject: Subject, options: DoctorOptions) -> Diagnosis:
    """Run every group on one host.

    Raises:
        UnreachableError: the SSH connection failed midway.
    """
    checks: list[Check] = []
    for group, run in _groups(options):
        if group == "metrics" and not _answers(checks):
            checks.append(
                Check(group, group, Verdict.SKIP, "skipped: the apiserver does not answer")
            )
            continue
        try:
            checks.extend(run(subject))
        except UnreachableError:
            raise
        except DeployerError as exc:
            checks.append(Check(group, group, Verdict.FAIL, f"could not check: {exc.message}"))
    return Diagnosis(subject.ctx.name, tuple(checks))


def diagnose(
    plan: Plan,
    transports: Mapping[str, Transport | DeployerError],
    *,
    clock: Clock,
    reporter: Reporter,
    run_id: str,
    options: DoctorOptions,
) -> tuple[Diagnosis, ...]:
    """Examine every host of ``plan`` (observed by ``build_plan``), in the plan's order."""
    plans = {p.name: p for p in plan.hosts}
    ready = {
        name: t
        for name, t in transports.items()
        if not isinstance(t, DeployerError) and plans[name].unreachable is None
    }

    def work(transport: Transport) -> Diagnosis:
        host_plan = plans[transport.host.name]
        ctx = HostContext(host_plan.state, transport, clock, reporter, run_id)
        return diagnose_host(make_subject(ctx, host_plan), options)

    results = run_parallel(ready, work, forks=options.forks)
    diagnoses: list[Diagnosis] = []
    for host_plan in plan.hosts:
        name = host_plan.name
        if name in results.values:
            diagnoses.append(results.values[name])
        else:
            error = results.errors.get(name)
            why = host_plan.unreachable or (str(error) if error else str(transports[name]))
            diagnoses.append(Diagnosis(name, (), unreachable=why))
    return tuple(diagnoses)
