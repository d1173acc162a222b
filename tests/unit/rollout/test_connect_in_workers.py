"""build_plan connects each host in the worker that observes it, over unopened transports.

The SSH side is real where it matters here: a real :class:`SshTransport` to a loopback port
nobody listens on is refused by the kernel, as an operator's dead host's sshd would be.
"""

from __future__ import annotations

import socket
from pathlib import PurePosixPath

import pytest

from deployer.desired import desired_state
from deployer.errors import DeployerError, InventoryError, UnreachableError
from deployer.model.host import Host
from deployer.model.manifest import Manifest
from deployer.rollout.observe import build_plan
from deployer.transport.base import Transport
from deployer.transport.options import SshOptions
from deployer.transport.pool import unopened_transports
from deployer.transport.ssh import SshTransport

MANIFEST = Manifest.from_content(
    PurePosixPath("/etc/kubernetes/manifests/kube-apiserver.yaml"),
    b"apiVersion: v1\nkind: Pod\nmetadata: {name: kube-apiserver, namespace: kube-system}\n",
)


@pytest.fixture
def refused_port() -> int:
    """A loopback port that was just free: connecting to it is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    return port


def _host(name: str, port: int, **variables: object) -> Host:
    return Host(name=name, address="127.0.0.1", port=port, vars=dict(variables))


def test_unopened_transports_check_every_host_and_connect_none(refused_port: int) -> None:
    hosts = [_host("cp1", refused_port), _host("cp2", refused_port)]
    with unopened_transports(hosts, SshOptions(retries=1)) as transports:
        assert list(transports) == ["cp1", "cp2"]
        assert all(isinstance(t, SshTransport) and not t.is_open for t in transports.values())


def test_invalid_connection_variables_fail_before_any_host_is_connected(
    refused_port: int,
) -> None:
    hosts = [_host("cp1", refused_port), _host("cp2", refused_port, ansible_password="clear")]
    with (
        pytest.raises(InventoryError, match="cp2"),
        unopened_transports(hosts, SshOptions(retries=1)),
    ):
        pytest.fail("must not be reached")


def test_a_host_that_cannot_be_connected_is_planned_unreachable_and_its_error_kept(
    refused_port: int,
) -> None:
    state, problems = desired_state(_host("cp1", refused_port))
    assert problems == []
    given = UnreachableError("no route to host", host="cp2")
    state2, _ = desired_state(_host("cp2", refused_port))
    with unopened_transports([state.host], SshOptions(retries=1)) as built:
        transports: dict[str, Transport | DeployerError] = {**built, "cp2": given}
        plan = build_plan((state, state2), {"cp1": MANIFEST, "cp2": MANIFEST}, transports, forks=2)
    by_name = {p.name: p for p in plan.hosts}
    assert by_name["cp1"].unreachable is not None
    assert "refused" in by_name["cp1"].unreachable
    assert by_name["cp2"].unreachable == str(given)
    # The steps after the plan see the error, not a transport that would connect again.
    assert isinstance(transports["cp1"], UnreachableError)
    assert transports["cp2"] is given
