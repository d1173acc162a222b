"""SshTransport against a real OpenSSH sshd on loopback: commands, files, HTTPS probes."""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

import pytest
from ssh_fixtures import Sshd, SshLab, TlsServer, make_pki, start_tls_server

from deployer.errors import CommandFailed, ExitCode, TransportError, exit_code_for
from deployer.transport.base import StreamingTransport, Transport
from deployer.transport.ssh import TIMEOUT_EXIT_CODE, SshTransport

pytestmark = pytest.mark.integration


@pytest.fixture
def transport(ssh_lab: SshLab, sshd: Sshd) -> Iterator[SshTransport]:
    t = SshTransport(ssh_lab.host(sshd), ssh_lab.options())
    yield t
    t.close()


def test_ssh_transport_satisfies_the_protocol(transport: SshTransport) -> None:
    as_protocol: Transport = transport
    assert as_protocol.host.name == "cp1"


def test_run_streaming_hands_over_stdout_before_the_command_ends(
    transport: SshTransport, tmp_path: Path
) -> None:
    """The first line arrives while the command still waits for a file the consumer writes."""
    go = tmp_path / "go"
    seen: list[bytes] = []

    def consume(chunk: bytes) -> None:
        seen.append(chunk)
        if b"first\n" in b"".join(seen):
            go.touch()

    script = 'echo first; while [ ! -e "$1" ]; do sleep 0.05; done; echo second'
    result = transport.run_streaming(["sh", "-c", script, "sh", str(go)], consume, timeout_s=20)
    assert isinstance(transport, StreamingTransport)
    assert result.stdout == "first\nsecond\n"
    assert b"".join(seen) == b"first\nsecond\n"


def test_run_returns_stdout_stderr_and_allowed_exit_code(transport: SshTransport) -> None:
    result = transport.run(
        ["sh", "-c", 'echo "out $1"; echo err >&2; exit 3', "sh", "a b"], ok_exit_codes=(0, 3)
    )
    assert (result.exit_code, result.stdout, result.stderr) == (3, "out a b\n", "err\n")
    assert result.argv[0] == "sh"
    assert not result.ok


def test_run_raises_command_failed_on_unexpected_exit_code(transport: SshTransport) -> None:
    with pytest.raises(CommandFailed) as info:
        transport.run(["sh", "-c", "echo boom >&2; exit 7"])
    assert info.value.remote_exit_code == 7
    assert "boom" in str(info.value)


def test_run_passes_arguments_verbatim_without_a_shell(transport: SshTransport) -> None:
    tricky = ["$HOME", "a;b", "it's", "*", '"q"', "`id`", "back\\slash", ""]
    result = transport.run(["printf", "%s\\n", *tricky])
    assert result.stdout.split("\n")[:-1] == tricky


def test_run_feeds_stdin(transport: SshTransport) -> None:
    payload = b"line1\n" + bytes(range(256)) * 64
    result = transport.run(["sha256sum"], stdin=payload)
    assert result.stdout.split()[0] == hashlib.sha256(payload).hexdigest()


def test_a_command_without_input_reads_dev_null_and_one_with_input_a_pipe(
    transport: SshTransport,
) -> None:
    """No EOF is sent for a command without input (see ``SshTransport._exec``): OpenSSH drops
    the connection on an EOF that arrives after a channel's CLOSE, which paramiko's EOF races
    for a command that ends at once. Such a command reads /dev/null on the host instead."""
    assert transport.run(["readlink", "/proc/self/fd/0"]).stdout.strip() == "/dev/null"
    # And no login shell is left in between (it execs the command): the parent is sshd's.
    parent = transport.run(["sh", "-c", "cat /proc/$PPID/comm"]).stdout.strip()
    assert parent.startswith("sshd"), parent
    fed = transport.run(["sh", "-c", "cat; readlink /proc/self/fd/0"], stdin=b"x\n")
    first, second = fed.stdout.splitlines()
    assert first == "x"
    assert second.startswith("pipe:")


def test_run_times_out_with_exit_124_and_the_connection_stays_usable(
    transport: SshTransport,
) -> None:
    with pytest.raises(CommandFailed) as info:
        transport.run(["sleep", "5"], timeout_s=0.3)
    assert info.value.remote_exit_code == TIMEOUT_EXIT_CODE
    assert transport.run(["echo", "still here"]).stdout == "still here\n"


def test_missing_command_reports_127(transport: SshTransport) -> None:
    result = transport.run(["no-such-command-xyz"], ok_exit_codes=(127,))
    assert "not found" in result.stderr


def test_read_returns_bytes_or_none(transport: SshTransport, tmp_path: Path) -> None:
    data = bytes(range(256)) * 300
    (tmp_path / "blob").write_bytes(data)
    assert transport.read(PurePosixPath(tmp_path / "blob")) == data
    assert transport.read(PurePosixPath(tmp_path / "absent")) is None


def test_read_refuses_relative_paths(transport: SshTransport) -> None:
    with pytest.raises(ValueError, match="absolute"):
        transport.read(PurePosixPath("etc/passwd"))


def test_read_of_a_folder_is_an_error_not_absent(transport: SshTransport, tmp_path: Path) -> None:
    with pytest.raises(TransportError):
        transport.read(PurePosixPath(tmp_path))


def test_put_atomic_writes_content_mode_and_leaves_no_temp_file(
    transport: SshTransport, tmp_path: Path
) -> None:
    folder = tmp_path / "manifests"
    folder.mkdir()
    target = folder / "kube-apiserver.yaml"
    target.write_bytes(b"old\n")
    target.chmod(0o644)
    transport.put_atomic(b"new: content\n", PurePosixPath(target))
    assert target.read_bytes() == b"new: content\n"
    info = target.stat()
    assert stat.S_IMODE(info.st_mode) == 0o600
    assert (info.st_uid, info.st_gid) == (0, 0)  # login user is root: chowned root:root
    assert os.listdir(folder) == ["kube-apiserver.yaml"]


def test_put_atomic_honours_mode(transport: SshTransport, tmp_path: Path) -> None:
    target = tmp_path / "script.sh"
    transport.put_atomic(b"#!/bin/sh\n", PurePosixPath(target), mode=0o750)
    assert stat.S_IMODE(target.stat().st_mode) == 0o750


def test_put_atomic_failing_rename_leaves_no_temp_file(
    transport: SshTransport, tmp_path: Path
) -> None:
    folder = tmp_path / "manifests"
    (folder / "kube-apiserver.yaml").mkdir(parents=True)  # the target is a folder: mv -T fails
    with pytest.raises(CommandFailed) as info:
        transport.put_atomic(b"x", PurePosixPath(folder / "kube-apiserver.yaml"))
    assert "mv" in info.value.stderr or "directory" in info.value.stderr.lower()
    assert os.listdir(folder) == ["kube-apiserver.yaml"]
    assert os.listdir(folder / "kube-apiserver.yaml") == []


def test_put_atomic_into_missing_folder_fails_cleanly(
    transport: SshTransport, tmp_path: Path
) -> None:
    with pytest.raises(TransportError):
        transport.put_atomic(b"x", PurePosixPath(tmp_path / "absent" / "f.yaml"))
    assert not (tmp_path / "absent").exists()


def test_https_get_through_the_tunnel_is_verified(
    transport: SshTransport, tls_server: TlsServer
) -> None:

    response = transport.https_get(
        tls_server.address, tls_server.port, "/readyz", ca_pem=tls_server.pki.ca_pem
    )
    assert response.status == 200
    assert response.body == b"/readyz host=127.0.30.1:2443 client=anonymous"
    assert response.headers["content-type"] == "text/plain"


def test_https_get_sends_the_client_certificate(
    ssh_lab: SshLab, transport: SshTransport, tmp_path: Path
) -> None:
    pki = make_pki(server_ip="127.0.30.1")
    server, stop = start_tls_server(tmp_path, pki, "127.0.30.1", 2444, require_client_cert=True)
    try:
        response = transport.https_get(
            server.address,
            server.port,
            "/version",
            ca_pem=pki.ca_pem,
            client_cert_pem=pki.client_cert_pem,
            client_key_pem=pki.client_key_pem,
        )
        chunked = transport.https_get(
            server.address,
            server.port,
            "/chunked",
            ca_pem=pki.ca_pem,
            client_cert_pem=pki.client_cert_pem,
            client_key_pem=pki.client_key_pem,
        )
    finally:
        stop()
    assert response.status == 404
    assert response.body.endswith(b"client=deployer-probe")
    assert chunked.body == b"ok chunked"


def test_https_get_refuses_a_server_signed_by_another_ca(
    transport: SshTransport, tls_server: TlsServer
) -> None:

    other = make_pki(cn="someone-else")
    with pytest.raises(TransportError, match="verif"):
        transport.https_get(tls_server.address, tls_server.port, "/readyz", ca_pem=other.ca_pem)


def test_https_get_refuses_a_name_not_in_the_certificate(
    transport: SshTransport, tls_server: TlsServer
) -> None:

    with pytest.raises(TransportError, match="verif"):
        transport.https_get(
            tls_server.address,
            tls_server.port,
            "/readyz",
            ca_pem=tls_server.pki.ca_pem,
            server_name="not-the-apiserver.example",
        )
    ok = transport.https_get(
        tls_server.address,
        tls_server.port,
        "/readyz",
        ca_pem=tls_server.pki.ca_pem,
        server_name="kubernetes",
    )
    assert ok.status == 200


def test_https_get_to_a_closed_port_is_a_transport_error_not_unreachable(
    transport: SshTransport,
) -> None:
    with pytest.raises(TransportError) as info:
        transport.https_get("127.0.30.1", 2449, "/readyz", ca_pem=make_pki().ca_pem)
    assert exit_code_for(info.value) != ExitCode.UNREACHABLE
    # The SSH connection itself is fine afterwards.
    assert transport.run(["true"]).ok


def test_close_is_idempotent_and_reconnects_on_next_use(transport: SshTransport) -> None:
    transport.run(["true"])
    transport.close()
    transport.close()
    assert transport.run(["echo", "again"]).stdout == "again\n"
