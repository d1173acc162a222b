"""Observe every selected host in parallel and build the plan.

Why parallel and read-only: planning touches nothing, so it may run on all hosts at once (up
to ``--forks``); applying never does.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable, Mapping

from deployer.desired import DesiredState
from deployer.engine.planner import plan_host
from deployer.errors import DeployerError
from deployer.facts.health import parse_health
from deployer.model.manifest import Manifest
from deployer.model.plan import HostPlan, Plan
from deployer.phases.observe import observe_host
from deployer.transport.base import Transport
from deployer.transport.pool import thread_pool, wait_result

__all__ = ["build_plan", "new_run_id"]


def new_run_id() -> str:
    """A run id: short, unique, safe in file names and log lines."""
    return uuid.uuid4().hex[:12]


#: Renders a host's manifest again with the digests of its checksummed files.
Rerender = Callable[[DesiredState, Mapping[str, str]], Manifest]


def _plan_one(
    state: DesiredState, desired: Manifest, transport: Transport, rerender: Rerender | None
) -> HostPlan:
    try:
        observed = observe_host(transport, state)
    except DeployerError as exc:
        return plan_host(state, desired, None, unreachable=str(exc))
    if state.checksum_files and rerender is not None:
        # The checksum annotation needs the files' digests as the host has them now.
        wanted = set(state.checksum_files)
        digests = {f.path: f.sha256 for f in observed.files if f.path in wanted and f.sha256}
        desired = rerender(state, digests)
    plan = plan_host(state, desired, observed)
    if observed.ca_pem is None:
        return dataclasses.replace(
            plan, is_ready=None, ready_detail=f"no CA at {state.cluster_ca_file} to verify TLS"
        )
    try:
        response = transport.https_get(
            state.probe_address,
            state.probe_port,
            "/readyz?verbose",
            ca_pem=observed.ca_pem,
            timeout_s=5.0,
        )
    except (DeployerError, OSError) as exc:
        return dataclasses.replace(plan, is_ready=False, ready_detail=f"readyz: {exc}")
    report = parse_health(response.status, response.body)
    detail = "" if report.ok else f"readyz {report.status}: {', '.join(report.failed)}"
    return dataclasses.replace(plan, is_ready=report.ok, ready_detail=detail)


def build_plan(
    states: tuple[DesiredState, ...],
    manifests: Mapping[str, Manifest],
    transports: Mapping[str, Transport | DeployerError],
    *,
    forks: int,
    run_id: str | None = None,
    rerender: Rerender | None = None,
) -> Plan:
    """Observe each host (one round trip and one readyz probe) and plan it.

    ``transports`` maps host name to an open transport, or to the error that prevented
    opening one (the host is then planned as unreachable). ``rerender`` renders the hosts
    that checksum referenced files into their pod again, with the digests just observed.

    Raises:
        InputError: a checksummed file is missing on a host (from ``rerender``).
    """

    def work(state: DesiredState) -> HostPlan:
        name = state.host.name
        transport = transports[name]
        if isinstance(transport, DeployerError):
            return plan_host(state, manifests[name], None, unreachable=str(transport))
        return _plan_one(state, manifests[name], transport, rerender)

    workers = max(1, min(forks, len(states)))
    with thread_pool(workers, "plan") as pool:
        futures = [pool.submit(work, state) for state in states]
        plans = tuple(wait_result(f) for f in futures)
    return Plan(run_id=run_id or new_run_id(), hosts=plans)
