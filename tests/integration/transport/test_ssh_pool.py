"""Many hosts at once: parallel connect, one connection per host, read-only work in parallel."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

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


def test_connection_setup_and_round_trip_figures(
    ssh_lab: SshLab, sshd: Sshd, record_property: Callable[[str, object], None]
) -> None:
    """Measure on loopback: connect (median of 10) and one command (median of 50)."""
    host = ssh_lab.host(sshd)
    connects: list[float] = []
    for _ in range(10):
        transport = SshTransport(host, ssh_lab.options())
        started = time.perf_counter()
        transport.open()
        connects.append(time.perf_counter() - started)
        transport.close()
    round_trips: list[float] = []
    with SshTransport(host, ssh_lab.options()) as transport:
        for _ in range(50):
            started = time.perf_counter()
            transport.run(["true"])
            round_trips.append(time.perf_counter() - started)
    connect_ms = statistics.median(connects) * 1000
    command_ms = statistics.median(round_trips) * 1000
    record_property("connect_median_ms", round(connect_ms, 1))
    record_property("command_median_ms", round(command_ms, 1))
    print(  # noqa: T201 - the figures are what this test is for (run with -s)
        f"\nconnect median {connect_ms:.1f} ms, command round trip median {command_ms:.1f} ms"
    )
    # Generous bounds for a shared 2-core machine; the figures are what matters.
    assert connect_ms < 1000
    assert command_ms < 200
