"""Connection set-up against real sshd: host keys, authentication, refusals, jump hosts."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from ssh_fixtures import Sshd, SshLab, stop_pid

from deployer.errors import ExitCode, HostKeyError, UnreachableError, exit_code_for
from deployer.lab.sshd import generate_key
from deployer.transport.ssh import SshTransport

pytestmark = pytest.mark.integration


def _fingerprint(public_key: Path) -> str:
    out = subprocess.run(
        ["ssh-keygen", "-l", "-f", str(public_key)], capture_output=True, text=True, check=True
    ).stdout
    return out.split()[1]  # "256 SHA256:... comment (ED25519)"


def _hostname_of(t: SshTransport) -> str:
    return t.run(["echo", "connected"]).stdout.strip()


def test_unknown_host_key_is_refused_with_fingerprint_and_fix(ssh_lab: SshLab) -> None:
    server = ssh_lab.start("127.0.30.1")
    transport = SshTransport(ssh_lab.host(server), ssh_lab.options())
    with pytest.raises(HostKeyError) as info:
        transport.open()
    error = info.value
    assert exit_code_for(error) == ExitCode.UNREACHABLE
    text = str(error)
    assert _fingerprint(server.config.host_key.with_suffix(".pub")) in text
    assert "ssh-ed25519" in text
    assert f"ssh-keyscan -p 2300 127.0.30.1 >> {ssh_lab.known_hosts}" in text
    assert "--accept-new-host-keys" in text
    assert not ssh_lab.known_hosts.exists()
    assert server.accepted_logins() == 0  # refused before authenticating


def test_changed_host_key_is_refused_even_with_the_opt_in(ssh_lab: SshLab, tmp_path: Path) -> None:
    old_key = tmp_path / "old_host_key"
    generate_key(old_key)
    kind, blob = old_key.with_suffix(".pub").read_text().split()[:2]
    ssh_lab.known_hosts.write_text(
        f"# comment line\n127.0.30.7 {kind} {blob}\n[127.0.30.1]:2300 {kind} {blob}\n"
    )
    before = ssh_lab.known_hosts.read_text()
    server = ssh_lab.start("127.0.30.1")
    for accept_new in (False, True):
        transport = SshTransport(
            ssh_lab.host(server), ssh_lab.options(accept_new_host_keys=accept_new)
        )
        with pytest.raises(HostKeyError) as info:
            transport.open()
        text = str(info.value)
        assert "CHANGED" in text
        assert f"{ssh_lab.known_hosts}:3" in text  # the line to look at
        assert _fingerprint(server.config.host_key.with_suffix(".pub")) in text
        assert _fingerprint(old_key.with_suffix(".pub")) in text
        assert f"ssh-keygen -f {ssh_lab.known_hosts} -R '[127.0.30.1]:2300'" in text
        assert exit_code_for(info.value) == ExitCode.UNREACHABLE
    assert ssh_lab.known_hosts.read_text() == before
    assert server.accepted_logins() == 0


def test_changed_key_against_a_hashed_known_hosts_entry_names_its_line(
    ssh_lab: SshLab, tmp_path: Path
) -> None:
    old_key = tmp_path / "old_host_key"
    generate_key(old_key)
    kind, blob = old_key.with_suffix(".pub").read_text().split()[:2]
    ssh_lab.known_hosts.write_text(f"[127.0.30.1]:2300 {kind} {blob}\n")
    subprocess.run(
        ["ssh-keygen", "-H", "-f", str(ssh_lab.known_hosts)], check=True, capture_output=True
    )
    assert ssh_lab.known_hosts.read_text().startswith("|1|")
    server = ssh_lab.start("127.0.30.1")
    with pytest.raises(HostKeyError, match=f"{ssh_lab.known_hosts}:1"):
        SshTransport(ssh_lab.host(server), ssh_lab.options()).open()


def test_hashed_known_hosts_entry_is_accepted(ssh_lab: SshLab) -> None:
    server = ssh_lab.start("127.0.30.1")
    ssh_lab.trust(server)
    subprocess.run(
        ["ssh-keygen", "-H", "-f", str(ssh_lab.known_hosts)], check=True, capture_output=True
    )
    with SshTransport(ssh_lab.host(server), ssh_lab.options()) as transport:
        assert _hostname_of(transport) == "connected"


def test_opt_in_accepts_a_new_key_and_records_it(ssh_lab: SshLab) -> None:
    server = ssh_lab.start("127.0.30.1")
    with SshTransport(
        ssh_lab.host(server), ssh_lab.options(accept_new_host_keys=True)
    ) as transport:
        assert _hostname_of(transport) == "connected"
    recorded = ssh_lab.known_hosts.read_text().split()
    expected = server.config.host_key_line().split()
    assert recorded[:3] == expected[:3]
    assert ssh_lab.known_hosts.stat().st_mode & 0o077 == 0
    # Without the opt-in, the recorded key is now trusted.
    with SshTransport(ssh_lab.host(server), ssh_lab.options()) as transport:
        assert _hostname_of(transport) == "connected"


def test_inventory_cannot_switch_on_trust_on_first_use(ssh_lab: SshLab) -> None:
    server = ssh_lab.start("127.0.30.1")
    host = ssh_lab.host(server, ansible_ssh_common_args="-o StrictHostKeyChecking=accept-new")
    with pytest.raises(HostKeyError), SshTransport(host, ssh_lab.options()):
        pass
    assert not ssh_lab.known_hosts.exists() or "127.0.30.1" not in ssh_lab.known_hosts.read_text()
    # The operator's --accept-new-host-keys is the opt-in.
    with SshTransport(host, ssh_lab.options(accept_new_host_keys=True)) as transport:
        assert _hostname_of(transport) == "connected"
    assert "[127.0.30.1]:2300" in ssh_lab.known_hosts.read_text()


def test_known_hosts_file_from_inventory_variable(ssh_lab: SshLab, tmp_path: Path) -> None:
    server = ssh_lab.start("127.0.30.1")
    own = tmp_path / "inventory_known_hosts"
    own.write_text(server.config.host_key_line() + "\n")
    host = ssh_lab.host(server, ssh_known_hosts_file=str(own))
    with SshTransport(host, ssh_lab.options()) as transport:  # default file is empty
        assert _hostname_of(transport) == "connected"


def test_authentication_failure_is_unreachable_and_not_retried(
    ssh_lab: SshLab, sshd: Sshd, tmp_path: Path
) -> None:
    stranger = tmp_path / "stranger"
    generate_key(stranger)
    host = ssh_lab.host(sshd, ansible_ssh_private_key_file=str(stranger))
    started = time.monotonic()
    with pytest.raises(UnreachableError) as info:
        SshTransport(host, ssh_lab.options(retries=3, retry_backoff_s=2.0)).open()
    assert time.monotonic() - started < 2.0  # no back-off: waiting cannot fix a key
    assert not isinstance(info.value, HostKeyError)
    assert "authentication failed for root@127.0.30.1:2300" in str(info.value)
    assert exit_code_for(info.value) == ExitCode.UNREACHABLE


def test_connection_refused_is_unreachable_after_bounded_retries(ssh_lab: SshLab) -> None:
    from deployer.model.host import Host

    host = Host("cp9", "127.0.30.9", port=2300, user="root", vars={"ansible_port": 2300})
    started = time.monotonic()
    with pytest.raises(UnreachableError, match="connection refused by root@127.0.30.9:2300"):
        SshTransport(host, ssh_lab.options(retries=3, retry_backoff_s=0.1)).open()
    elapsed = time.monotonic() - started
    assert 0.3 <= elapsed < 5.0  # 0.1 + 0.2 of back-off, then it gives up


@pytest.fixture
def silent_server() -> Iterator[tuple[str, int]]:
    """A TCP port that accepts connections and never says a word (no SSH banner)."""
    listener = socket.socket()
    listener.bind(("127.0.30.8", 2300))
    listener.listen(8)
    try:
        yield ("127.0.30.8", 2300)
    finally:
        listener.close()


def test_silent_server_times_out_as_unreachable(
    ssh_lab: SshLab, silent_server: tuple[str, int]
) -> None:
    from deployer.model.host import Host

    address, port = silent_server
    host = Host("cp8", address, port=port, user="root", vars={"ansible_port": port})
    started = time.monotonic()
    with pytest.raises(UnreachableError) as info:
        SshTransport(host, ssh_lab.options(connect_timeout_s=1.0, retries=1)).open()
    assert time.monotonic() - started < 5.0
    assert "127.0.30.8:2300" in str(info.value)


def test_proxy_jump_from_inventory_reaches_the_target_through_the_bastion(
    ssh_lab: SshLab,
) -> None:
    bastion = ssh_lab.start("127.0.30.2")
    target = ssh_lab.start("127.0.30.3")
    ssh_lab.trust(bastion)
    ssh_lab.trust(target)
    host = ssh_lab.host(target, ansible_ssh_common_args="-o ProxyJump=root@127.0.30.2:2300")
    with SshTransport(host, ssh_lab.options()) as transport:
        assert _hostname_of(transport) == "connected"
        assert bastion.accepted_logins() == 1
        assert target.accepted_logins() == 1
    # Proof that the bastion carries the connection: without it the target is unreachable.
    stop_pid(bastion.pid)
    ssh_lab.started.remove(bastion)
    with pytest.raises(UnreachableError, match="127.0.30.2"):
        SshTransport(host, ssh_lab.options()).open()


def test_proxy_jump_checks_the_bastion_host_key_too(ssh_lab: SshLab) -> None:
    bastion = ssh_lab.start("127.0.30.2")
    target = ssh_lab.start("127.0.30.3")
    ssh_lab.trust(target)  # the bastion's key is unknown
    host = ssh_lab.host(target, ansible_ssh_extra_args="-J root@127.0.30.2:2300")
    with pytest.raises(HostKeyError, match=r"\[127.0.30.2\]:2300"):
        SshTransport(host, ssh_lab.options()).open()
    assert bastion.accepted_logins() == 0


def test_ssh_config_alias_and_proxy_jump_are_honoured(ssh_lab: SshLab, tmp_path: Path) -> None:
    from deployer.model.host import Host

    bastion = ssh_lab.start("127.0.30.2")
    target = ssh_lab.start("127.0.30.3")
    ssh_lab.trust(bastion)
    ssh_lab.trust(target)
    config = tmp_path / "ssh_config"
    config.write_text(
        "Host cp-behind-bastion\n"
        "    HostName 127.0.30.3\n"
        "    Port 2300\n"
        "    ProxyJump jump\n"
        "Host jump\n"
        "    HostName 127.0.30.2\n"
        "    Port 2300\n"
        "Host *\n"
        "    User root\n"
        f"    IdentityFile {ssh_lab.client_key}\n"
    )
    host = Host("cp3", "cp-behind-bastion")  # no ansible_* variables at all
    with SshTransport(host, ssh_lab.options(ssh_config_path=config)) as transport:
        assert _hostname_of(transport) == "connected"
        assert transport.login_user == "root"
    assert bastion.accepted_logins() == 1
    assert target.accepted_logins() == 1


def test_ssh_config_alias_without_a_hop_is_resolved_as_fabric_resolves_it(
    ssh_lab: SshLab, tmp_path: Path
) -> None:
    """A direct host goes through paramiko alone: HostName, Port, User and IdentityFile from
    ssh_config still decide where it connects and as whom, exactly as for a jump host."""
    from deployer.model.host import Host
    from deployer.transport.connect import connection_chain
    from deployer.transport.direct import DirectConnection

    target = ssh_lab.start("127.0.30.3")
    ssh_lab.trust(target)
    config = tmp_path / "ssh_config"
    config.write_text(
        "Host cp-direct\n"
        "    HostName 127.0.30.3\n"
        "    Port 2300\n"
        "    User root\n"
        f"    IdentityFile {ssh_lab.client_key}\n"
    )
    host = Host("cp3", "cp-direct")  # no ansible_* variables at all
    options = ssh_lab.options(ssh_config_path=config)
    with SshTransport(host, options) as transport:
        assert _hostname_of(transport) == "connected"
        assert transport.login_user == "root"
        link = transport._connection
        assert isinstance(link, DirectConnection)
        assert connection_chain(link) == [link]
        assert (link.host, link.port) == ("127.0.30.3", 2300)
    assert target.accepted_logins() == 1
    # The inventory's user wins over ssh_config's, as with Fabric: an unknown user is refused.
    with pytest.raises(UnreachableError, match="authentication failed for nobody-here@"):
        SshTransport(Host("cp3", "cp-direct", user="nobody-here"), options).open()
