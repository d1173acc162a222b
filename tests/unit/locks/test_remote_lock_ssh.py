"""The remote lock over a real OpenSSH server on loopback, as the apply engine will use it.

Address 127.0.47.1 (free port picked at start) is used by these tests only. The sshd is
stopped by its pid at teardown.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import pytest

from deployer.lab.sshd import generate_key, start_sshd, write_sshd_config
from deployer.locks import LockHeld, RemoteLock
from deployer.model.host import Host
from deployer.transport.options import SshOptions
from deployer.transport.ssh import SshTransport

pytestmark = pytest.mark.integration

ADDRESS = "127.0.47.1"

_CRASHING_HOLDER = """
import sys
from pathlib import Path, PurePosixPath
from deployer.locks import RemoteLock
from deployer.model.host import Host
from deployer.transport.options import SshOptions
from deployer.transport.ssh import SshTransport

address, port, key, known_hosts, lock_path = sys.argv[1:6]
host = Host("cp1", address, port=int(port), user="root",
            vars={"ansible_port": int(port), "ansible_ssh_private_key_file": key})
options = SshOptions(known_hosts=Path(known_hosts), ssh_config_path=None, allow_agent=False,
                     look_for_keys=False, retries=1, connect_timeout_s=5.0)
transport = SshTransport(host, options)
RemoteLock.acquire(transport, PurePosixPath(lock_path), "crashed-run", 2)
print("held", flush=True)
sys.stdin.read()
"""


@dataclass
class SshTarget:
    address: str
    port: int
    key: Path
    known_hosts: Path

    def host(self) -> Host:
        return Host(
            "cp1",
            self.address,
            port=self.port,
            user="root",
            vars={"ansible_port": self.port, "ansible_ssh_private_key_file": str(self.key)},
        )

    def options(self) -> SshOptions:
        return SshOptions(
            known_hosts=self.known_hosts,
            ssh_config_path=None,
            allow_agent=False,
            look_for_keys=False,
            retries=1,
            connect_timeout_s=5.0,
        )

    def transport(self) -> SshTransport:
        return SshTransport(self.host(), self.options())


def _free_port(address: str) -> int:
    with socket.socket() as sock:
        sock.bind((address, 0))
        return int(sock.getsockname()[1])


def _stop(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 5.0
    while time.monotonic() < deadline:
        if os.waitpid(pid, os.WNOHANG)[0]:
            return
        time.sleep(0.02)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)


@pytest.fixture
def target(tmp_path: Path) -> Iterator[SshTarget]:
    key = tmp_path / "client" / "id_ed25519"
    generate_key(key, comment="deployer-lock-tests")
    port = _free_port(ADDRESS)
    config = write_sshd_config(
        tmp_path / "sshd",
        address=ADDRESS,
        port=port,
        client_public_key=key.with_suffix(".pub").read_text(),
        session_home=tmp_path / "home",
    )
    pid = start_sshd(config)
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text(config.host_key_line() + "\n")
    try:
        yield SshTarget(ADDRESS, port, key, known_hosts)
    finally:
        _stop(pid)


def test_two_connections_contend_and_only_one_holds_the_lock(
    target: SshTarget, tmp_path: Path
) -> None:
    path = PurePosixPath(tmp_path / "etc" / "kubernetes" / "tmp" / "deployer.lock")
    with target.transport() as first, target.transport() as second:
        lock = RemoteLock.acquire(first, path, "cron-run", 600, command="converge")
        with pytest.raises(LockHeld) as caught:
            RemoteLock.acquire(second, path, "operator-run", 600)
        assert caught.value.holder is not None
        assert caught.value.holder.run_id == "cron-run"
        assert "converge" in str(caught.value)
        lock = lock.renew(first)
        assert lock.release(first) is True
        assert RemoteLock.acquire(second, path, "operator-run", 600).holder.run_id == "operator-run"


def test_a_crashed_runs_lease_expires_and_is_taken_over(target: SshTarget, tmp_path: Path) -> None:
    path = PurePosixPath(tmp_path / "deployer.lock")
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            _CRASHING_HOLDER,
            target.address,
            str(target.port),
            str(target.key),
            str(target.known_hosts),
            str(path),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "held"
        os.kill(child.pid, signal.SIGKILL)  # the run dies without releasing anything
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            os.kill(child.pid, signal.SIGKILL)
            child.wait(timeout=10)
    holders: list[str] = []
    deadline = time.monotonic() + 15.0
    with target.transport() as transport:
        while True:
            try:
                lock = RemoteLock.acquire(transport, path, "next-run", 600)
                break
            except LockHeld as err:
                holders.append(err.holder.run_id if err.holder else "?")
                assert time.monotonic() < deadline, "the crashed run's lease never expired"
                time.sleep(0.2)  # poll interval while the 2 s lease runs out
    assert lock.took_over_from is not None
    assert lock.took_over_from.run_id == "crashed-run"
    assert holders  # the lease was honoured while it lasted ...
    assert set(holders) == {"crashed-run"}  # ... and the refusal named the crashed run
