"""Observe a host in one round trip (used by plan, preflight and rollback)."""

from __future__ import annotations

from deployer.desired import DesiredState
from deployer.errors import TransportError
from deployer.facts.crictl import ParseError
from deployer.facts.observe import HostObservation, observe_argv, parse_observation
from deployer.transport.base import Transport

__all__ = ["observe_host"]


def observe_host(transport: Transport, state: DesiredState) -> HostObservation:
    """Run the observation command and parse it.

    Raises:
        TransportError: the command could not run or printed something unparsable.
    """
    argv = observe_argv(
        state.on_host(state.manifest_path),
        state.crictl,
        state.on_host(state.cluster_ca_file),
        state.kubelet_check,
    )
    result = transport.run(argv, sudo=state.become, timeout_s=60.0)
    try:
        return parse_observation(result.stdout)
    except ParseError as exc:
        raise TransportError(f"could not observe the host: {exc}", host=state.host.name) from exc
