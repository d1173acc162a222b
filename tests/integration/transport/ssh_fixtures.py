"""Real OpenSSH servers and a real TLS server on loopback, for the SSH executor's tests.

Addresses 127.0.30.x, ports from 2300: reserved for these tests so they never meet the lab's.
Every sshd is stopped by its pid at fixture teardown; the TLS server by ``shutdown()``.
"""

from __future__ import annotations

import datetime
import http.server
import ipaddress
import os
import signal
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from deployer.lab.sshd import SshdConfig, generate_key, start_sshd, write_sshd_config
from deployer.model.host import Host
from deployer.transport.options import SshOptions

SSH_PORT = 2300


def stop_pid(pid: int, *, timeout_s: float = 5.0) -> None:
    """Stop one process we started, by pid, and reap it (it is our child)."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done:
            return
        time.sleep(0.02)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)


@dataclass
class Sshd:
    config: SshdConfig
    pid: int

    @property
    def address(self) -> str:
        return self.config.address

    @property
    def port(self) -> int:
        return self.config.port

    def accepted_logins(self) -> int:
        """How many logins this sshd accepted so far (one per SSH connection)."""
        text = self.config.log_path.read_text() if self.config.log_path.exists() else ""
        return text.count("Accepted publickey")


@dataclass
class SshLab:
    """Starts sshd instances for one test and knows the client key they accept."""

    folder: Path
    client_key: Path
    known_hosts: Path
    started: list[Sshd]

    def start(
        self, address: str, port: int = SSH_PORT, *, host_key_from: Path | None = None
    ) -> Sshd:
        folder = self.folder / f"sshd-{address}-{port}"
        if host_key_from is not None:
            folder.mkdir(parents=True, exist_ok=True)
            for suffix in ("", ".pub"):
                target = folder / f"ssh_host_ed25519_key{suffix}"
                target.write_bytes(Path(f"{host_key_from}{suffix}").read_bytes())
                target.chmod(0o600)
        config = write_sshd_config(
            folder,
            address=address,
            port=port,
            client_public_key=self.client_key.with_suffix(".pub").read_text(),
            session_home=self.folder / "home",
        )
        sshd = Sshd(config, start_sshd(config))
        self.started.append(sshd)
        return sshd

    def trust(self, sshd: Sshd) -> None:
        """Add the server's host key to the test's known_hosts."""
        with self.known_hosts.open("a") as handle:
            handle.write(sshd.config.host_key_line() + "\n")

    def host(self, sshd: Sshd, name: str = "cp1", **extra: object) -> Host:
        variables: dict[str, object] = {
            "ansible_port": sshd.port,
            "ansible_ssh_private_key_file": str(self.client_key),
        }
        variables.update(extra)
        return Host(name, sshd.address, port=sshd.port, user="root", vars=variables)

    def options(self, **changes: object) -> SshOptions:
        base: dict[str, object] = {
            "known_hosts": self.known_hosts,
            "ssh_config_path": None,
            "allow_agent": False,
            "look_for_keys": False,
            "retries": 1,
            "connect_timeout_s": 5.0,
        }
        base.update(changes)
        return SshOptions(**base)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def client_key(tmp_path_factory: pytest.TempPathFactory) -> Path:
    key = tmp_path_factory.mktemp("client") / "id_ed25519"
    generate_key(key, comment="deployer-transport-tests")
    return key


@pytest.fixture
def ssh_lab(tmp_path: Path, client_key: Path) -> Iterator[SshLab]:
    lab = SshLab(tmp_path, client_key, tmp_path / "known_hosts", [])
    try:
        yield lab
    finally:
        for sshd in lab.started:
            stop_pid(sshd.pid)


@pytest.fixture
def sshd(ssh_lab: SshLab) -> Sshd:
    """One trusted sshd at 127.0.30.1."""
    server = ssh_lab.start("127.0.30.1")
    ssh_lab.trust(server)
    return server


# -- a tiny TLS server ------------------------------------------------------------------------


@dataclass(frozen=True)
class Pki:
    ca_pem: bytes
    server_cert_pem: bytes
    server_key_pem: bytes
    client_cert_pem: bytes
    client_key_pem: bytes


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def make_pki(cn: str = "transport-test-ca", server_ip: str = "127.0.30.1") -> Pki:
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(_name(cn))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )

    def leaf(
        common: str, usage: x509.ObjectIdentifier, san: list[x509.GeneralName]
    ) -> tuple[bytes, bytes]:
        key = ec.generate_private_key(ec.SECP256R1())
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(common))
            .issuer_name(ca.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                critical=False,
            )
        )
        if san:
            builder = builder.add_extension(x509.SubjectAlternativeName(san), critical=False)
        cert = builder.sign(ca_key, hashes.SHA256())
        return cert.public_bytes(serialization.Encoding.PEM), _key_pem(key)

    server_cert, server_key = leaf(
        "kube-apiserver",
        ExtendedKeyUsageOID.SERVER_AUTH,
        [x509.IPAddress(ipaddress.ip_address(server_ip)), x509.DNSName("kubernetes")],
    )
    client_cert, client_key = leaf("deployer-probe", ExtendedKeyUsageOID.CLIENT_AUTH, [])
    return Pki(
        ca_pem=ca.public_bytes(serialization.Encoding.PEM),
        server_cert_pem=server_cert,
        server_key_pem=server_key,
        client_cert_pem=client_cert,
        client_key_pem=client_key,
    )


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        peer = self.connection.getpeercert() if isinstance(self.connection, ssl.SSLSocket) else None
        who = "anonymous"
        if peer:
            subject = cast(tuple[tuple[tuple[str, str], ...], ...], peer["subject"])
            who = dict(rdn[0] for rdn in subject).get("commonName", "?")
        if self.path.startswith("/chunked"):
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for part in (b"ok ", b"chunked"):
                self.wfile.write(f"{len(part):x}\r\n".encode() + part + b"\r\n")
            self.wfile.write(b"0\r\n\r\n")
            return
        status = 200 if self.path == "/readyz" else 404
        body = f"{self.path} host={self.headers.get('Host')} client={who}".encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return


@dataclass
class TlsServer:
    address: str
    port: int
    pki: Pki


def start_tls_server(
    folder: Path, pki: Pki, address: str, port: int, *, require_client_cert: bool = False
) -> tuple[TlsServer, Callable[[], None]]:
    cert, key, ca = folder / "srv.crt", folder / "srv.key", folder / "ca.crt"
    cert.write_bytes(pki.server_cert_pem)
    key.write_bytes(pki.server_key_pem)
    ca.write_bytes(pki.ca_pem)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(cert), str(key))
    context.load_verify_locations(str(ca))
    context.verify_mode = ssl.CERT_REQUIRED if require_client_cert else ssl.CERT_OPTIONAL
    server = http.server.ThreadingHTTPServer((address, port), _Handler)
    server.daemon_threads = True
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

    return TlsServer(address, port, pki), stop


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[TlsServer]:
    """A TLS server at 127.0.30.1:2443 with a fresh CA; client certificates optional."""
    server, stop = start_tls_server(tmp_path, make_pki(), "127.0.30.1", 2443)
    try:
        yield server
    finally:
        stop()
