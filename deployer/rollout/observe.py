"""Observe every selected host in parallel and build the plan.

Why parallel and read-only: planning touches nothing, so it may run on all hosts at once (up
to ``--forks``); applying never does.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable, Mapping, MutableMapping

from deployer.companions.planning import plan_companions
from deployer.desired import DesiredState
from deployer.errors import DeployerError, UnreachableError
from deployer.facts.health import parse_health
from deployer.model.manifest import Manifest
from deployer.model.plan import HostPlan, Plan
from deployer.phases.observe import observe_host
from deployer.rollout.background import Background
from deployer.rollout.plan import plan_host
from deployer.transport.base import Transport
from deployer.transport.pool import connect_now, thread_pool, wait_result

__all__ = ["build_plan", "new_run_id"]


def new_run_id() -> str:
    """A run id: short, unique, safe in file names and log lines."""
    return uuid.uuid4().hex[:12]


#: Renders a host's manifest again with the digests of its checksummed files.
Rerender = Callable[[DesiredState, Mapping[str, str]], Manifest]


def _readyz(transport: Transport, state: DesiredState, ca_pem: bytes) -> tuple[bool, str]:
    """Probe ``/readyz?verbose`` from the host's side: (ready, why not)."""
    try:
        response = transport.https_get(
            state.probe_address,
            state.probe_port,
            "/readyz?verbose",
            ca_pem=ca_pem,
            timeout_s=5.0,
        )
    except (DeployerError, OSError) as exc:
        return False, f"readyz: {exc}"
    report = parse_health(response.status, response.body)
    return report.ok, "" if report.ok else f"readyz {report.status}: {', '.join(report.failed)}"


class _EarlyProbe:
    """``/readyz`` started as soon as the observation has printed the CA, in a thread.

    Why: the probe and the rest of the observation (crictl, digests) then share the time on
    the same connection, instead of the probe's channel, TLS handshake and request coming
    after the script's last byte.
    """

    def __init__(self, transport: Transport, state: DesiredState) -> None:
        self._transport = transport
        self._state = state
        self._ca: bytes | None = None
        self._probe: Background[tuple[bool, str]] = Background("plan-readyz")

    def start(self, ca_pem: bytes | None) -> None:
        """Start the probe with the CA just read (nothing to probe without one)."""
        if ca_pem is None:
            return
        self._ca = ca_pem
        self._probe.start(lambda: _readyz(self._transport, self._state, ca_pem))

    def result(self, ca_pem: bytes) -> tuple[bool, str]:
        """The probe's answer for ``ca_pem``; probed now if it was not started with it."""
        answer = self._probe.result()
        if answer is not None and self._ca == ca_pem:
            return answer
        return _readyz(self._transport, self._state, ca_pem)

    def wait(self) -> None:
        """Let a started probe finish (before its connection closes)."""
        self._probe.result()


def _plan_one(
    state: DesiredState, desired: Manifest, transport: Transport, rerender: Rerender | None
) -> HostPlan:
    early = _EarlyProbe(transport, state)
    try:
        observed = observe_host(transport, state, on_ca=early.start, expected=desired.content)
    except DeployerError as exc:
        early.wait()
        return plan_host(state, desired, None, unreachable=str(exc))
    try:
        if state.checksum_files and rerender is not None:
            # The checksum annotation needs the files' digests as the host has them now.
            wanted = set(state.checksum_files)
            digests = {f.path: f.sha256 for f in observed.files if f.path in wanted and f.sha256}
            desired = rerender(state, digests)
        plan = plan_host(state, desired, observed)
        if state.companions:  # companion files: digests observed, content read where differing
            plan = dataclasses.replace(
                plan, companion_changes=plan_companions(transport, state, observed)
            )
    finally:
        early.wait()
    if observed.ca_pem is None:
        return dataclasses.replace(
            plan, is_ready=None, ready_detail=f"no CA at {state.cluster_ca_file} to verify TLS"
        )
    is_ready, detail = early.result(observed.ca_pem)
    return dataclasses.replace(plan, is_ready=is_ready, ready_detail=detail)


def build_plan(
    states: tuple[DesiredState, ...],
    manifests: Mapping[str, Manifest],
    transports: MutableMapping[str, Transport | DeployerError],
    *,
    forks: int,
    run_id: str | None = None,
    rerender: Rerender | None = None,
    on_connected: Callable[[DesiredState, Transport], None] | None = None,
) -> Plan:
    """Connect to and observe each host (one round trip, ``/readyz`` alongside); plan it.

    ``transports`` maps host name to a transport, or to the error that prevented making one
    (the host is then planned as unreachable). A transport not connected yet is connected by
    the worker that observes its host, so each host's observation starts as soon as its own
    connection is up (:func:`deployer.transport.pool.unopened_transports`); one that cannot
    connect is planned as unreachable and replaced in ``transports`` by its error, for the
    steps after the plan. ``rerender`` renders the hosts that checksum referenced files into
    their pod again, with the digests just observed. ``on_connected`` is called in the worker
    as soon as a host is connected, before it is observed (it must return quickly).

    Raises:
        InputError: a checksummed file is missing on a host (from ``rerender``).
    """
    failed: dict[str, UnreachableError] = {}

    def work(state: DesiredState) -> HostPlan:
        name = state.host.name
        transport = transports[name]
        if isinstance(transport, DeployerError):
            return plan_host(state, manifests[name], None, unreachable=str(transport))
        try:
            connect_now(transport)
        except UnreachableError as err:
            failed[name] = err
            return plan_host(state, manifests[name], None, unreachable=str(err))
        if on_connected is not None:
            on_connected(state, transport)
        return _plan_one(state, manifests[name], transport, rerender)

    workers = max(1, min(forks, len(states)))
    with thread_pool(workers, "plan") as pool:
        futures = [pool.submit(work, state) for state in states]
        plans = tuple(wait_result(f) for f in futures)
    transports.update(failed)
    return Plan(run_id=run_id or new_run_id(), hosts=plans)
