"""Many hosts at once: parallel connect, one connection per host, read-only work in parallel."""

from __future__ import annotations

import pytest
from ssh_fixtures import Sshd, SshLab

from deployer.model.host import Host
from deployer.transport.base import Transport
from deployer.transport.pool import open_transports, run_parallel
from deployer.transport.ssh import SshTransport

pytestmark = pytest.mark.integration


def _start_ten(ssh_lab: SshLab) -> list[Sshd]:
    servers = [ssh_lab.start(f"127.0.30.{10 + i}") for i in range(10)]
    for server in servers:
        ssh_lab.trust(server)
    return servers


def test_ten_hosts_open_in_parallel_and_each_keeps_one_connection(ssh_lab: SshLab) -> None:
    servers = _start_ten(ssh_lab)
    hosts = [ssh_lab.host(s, name=f"cp{i}") for i, s in enumerate(servers)]
    hosts.append(Host("gone", "127.0.30.29", port=2300, user="root", vars={"ansible_port": 2300}))

    def observe(t: Transport) -> str:
        # Several steps per host, like a real observation: all on the same connection.
        t.run(["true"])
        return t.run(["echo", t.host.name]).stdout.strip()

    with open_transports(hosts, ssh_lab.options(), forks=10) as connections:
        assert set(connections.unreachable) == {"gone"}
        assert "connection refused" in str(connections.unreachable["gone"])
        first = run_parallel(connections.transports, observe, forks=10)
        second = run_parallel(connections.transports, observe, forks=4)
        opened = list(connections.transports.values())
    assert first.values == {f"cp{i}": f"cp{i}" for i in range(10)}
    assert second.values == first.values
    assert not first.errors
    assert [s.accepted_logins() for s in servers] == [1] * 10
    assert all(isinstance(t, SshTransport) and not t.is_open for t in opened)
