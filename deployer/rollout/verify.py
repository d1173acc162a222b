"""``deployer verify``: every selected host's running apiserver, checked in parallel, unchanged."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from deployer.desired import DesiredState
from deployer.errors import DeployerError
from deployer.model.events import Clock, Reporter
from deployer.model.manifest import Manifest
from deployer.model.report import HostReport, Outcome
from deployer.phases.context import HostContext
from deployer.phases.verify import VerifyFailed, verify_host
from deployer.transport.base import Transport
from deployer.transport.pool import run_parallel

__all__ = ["verify_hosts"]


def verify_hosts(
    states: Sequence[DesiredState],
    manifests: Mapping[str, Manifest],
    transports: Mapping[str, Transport | DeployerError],
    *,
    clock: Clock,
    reporter: Reporter,
    run_id: str,
    soak_s: float,
    forks: int | None,
) -> tuple[HostReport, ...]:
    """Verify each host against its rendered manifest; one report per state, in order.

    A host that fails a check is ``failed`` (its checks in the report), one that could not be
    reached ``unreachable``; nothing is changed anywhere.
    """
    ready = {n: t for n, t in transports.items() if not isinstance(t, DeployerError)}
    by_name = {s.host.name: s for s in states}

    def check(transport: Transport) -> HostReport:
        state = by_name[transport.host.name]
        ctx = HostContext(state, transport, clock, reporter, run_id)
        try:
            result = verify_host(
                ctx,
                manifest=manifests[state.host.name].content,
                container_id=None,
                soak_s=soak_s,
            )
        except VerifyFailed as exc:
            details = (("verify", exc.report.as_details()),)
            return HostReport(state.host.name, Outcome.FAILED, error=exc, details=details)
        details = (("verify", result.as_details()),)
        return HostReport(state.host.name, Outcome.UNCHANGED, details=details)

    results = run_parallel(ready, check, forks=forks)
    reports: list[HostReport] = []
    for state in states:
        name = state.host.name
        if name in results.values:
            reports.append(results.values[name])
        elif name in results.errors:
            reports.append(HostReport(name, Outcome.FAILED, error=results.errors[name]))
        else:
            error = transports[name]
            reports.append(
                HostReport(
                    name,
                    Outcome.UNREACHABLE,
                    error=error if isinstance(error, DeployerError) else None,
                )
            )
    return tuple(reports)
