"""open_transports and run_parallel, with scripted transports (the SSH side is integration)."""

from __future__ import annotations

import threading

import pytest

from deployer.errors import CommandFailed, InventoryError, UnreachableError
from deployer.model.host import Host
from deployer.testing import Expect, FakeTransport
from deployer.transport.base import Transport
from deployer.transport.local import LocalTransport
from deployer.transport.options import SshOptions
from deployer.transport.pool import (
    MAX_FORKS,
    close_all,
    connect_host,
    default_forks,
    open_transports,
    run_parallel,
)

HOSTS = [Host(f"cp{i}", f"192.0.2.{10 + i}") for i in range(5)]


def test_default_forks_is_every_host_capped() -> None:
    assert default_forks(3) == 3
    assert default_forks(100) == MAX_FORKS
    assert default_forks(0) == 1
    assert default_forks(100, 7) == 7
    with pytest.raises(ValueError, match="forks"):
        default_forks(3, 0)


def test_unreachable_hosts_are_reported_not_raised_and_all_are_closed() -> None:
    made: dict[str, FakeTransport] = {}

    def connect(host: Host) -> Transport:
        if host.name == "cp2":
            raise UnreachableError("connection refused", host=host.name)
        made[host.name] = FakeTransport(host)
        return made[host.name]

    with open_transports(HOSTS, SshOptions(), connect=connect) as connections:
        assert list(connections.transports) == ["cp0", "cp1", "cp3", "cp4"]
        assert list(connections.unreachable) == ["cp2"]
        assert not any(t.closed for t in made.values())
    assert all(t.closed for t in made.values())


def test_a_bug_while_connecting_closes_what_was_opened_and_propagates() -> None:
    made: list[FakeTransport] = []
    lock = threading.Lock()

    def connect(host: Host) -> Transport:
        if host.name == "cp3":
            raise RuntimeError("bug")
        fake = FakeTransport(host)
        with lock:
            made.append(fake)
        return fake

    with (
        pytest.raises(RuntimeError, match="bug"),
        open_transports(HOSTS, SshOptions(), connect=connect),
    ):
        pytest.fail("must not be reached")
    assert len(made) == 4
    assert all(t.closed for t in made)


def test_connections_run_in_parallel_up_to_forks() -> None:
    barrier = threading.Barrier(len(HOSTS), timeout=5)

    def connect(host: Host) -> Transport:
        barrier.wait()  # only passes if every host connects at the same time
        return FakeTransport(host)

    with open_transports(HOSTS, SshOptions(), connect=connect) as connections:
        assert len(connections.transports) == len(HOSTS)


def test_run_parallel_collects_values_and_deployer_errors_per_host() -> None:
    fakes = {h.name: FakeTransport(h) for h in HOSTS[:3]}
    fakes["cp0"].expect(Expect(argv=["hostname"], stdout="cp0"))
    fakes["cp1"].expect(Expect(argv=["hostname"], exit_code=1, stderr="broken"))
    fakes["cp2"].expect(Expect(argv=["hostname"], stdout="cp2"))
    results = run_parallel(fakes, lambda t: t.run(["hostname"]).stdout, forks=2)
    assert results.values == {"cp0": "cp0", "cp2": "cp2"}
    assert isinstance(results.errors["cp1"], CommandFailed)
    for fake in fakes.values():
        fake.assert_all_used()


def test_run_parallel_reraises_bugs_after_every_call_finished() -> None:
    fakes = {h.name: FakeTransport(h) for h in HOSTS[:3]}
    seen: list[str] = []
    lock = threading.Lock()

    def observe(t: FakeTransport) -> None:
        with lock:
            seen.append(t.host.name)
        if t.host.name == "cp0":
            raise KeyError("bug")

    with pytest.raises(KeyError):
        run_parallel(fakes, observe)
    assert sorted(seen) == ["cp0", "cp1", "cp2"]


def test_run_parallel_with_nothing_to_do() -> None:
    assert run_parallel({}, lambda t: t).values == {}


def test_connect_host_picks_the_transport_a_host_asks_for() -> None:
    local = connect_host(Host("me", "127.0.0.1", transport="local"), SshOptions())
    assert isinstance(local, LocalTransport)
    with pytest.raises(InventoryError, match="unknown transport"):
        connect_host(Host("x", "127.0.0.1", transport="telnet"), SshOptions())


def test_a_close_that_never_returns_does_not_hold_up_the_others() -> None:
    """paramiko can be left holding its own lock by an interrupt: the run must still end."""
    release = threading.Event()

    class Stuck(FakeTransport):
        def close(self) -> None:
            release.wait()

    stuck, fine = Stuck(HOSTS[0]), FakeTransport(HOSTS[1])
    try:
        close_all([stuck, fine], timeout_s=0.2)
        assert fine.closed
    finally:
        release.set()
