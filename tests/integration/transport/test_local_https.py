"""LocalTransport.https_get against a real TLS server on loopback (same code as over SSH)."""

from __future__ import annotations

from pathlib import Path

import pytest
from ssh_fixtures import TlsServer, make_pki

from deployer.errors import TransportError
from deployer.model.host import Host
from deployer.transport.local import LocalTransport

pytestmark = pytest.mark.integration


@pytest.fixture
def local(tmp_path: Path) -> LocalTransport:
    return LocalTransport(Host("me", "127.0.0.1", transport="local"), tmp_path)


def test_local_https_get_is_verified(local: LocalTransport, tls_server: TlsServer) -> None:
    response = local.https_get(
        tls_server.address,
        tls_server.port,
        "/readyz",
        ca_pem=tls_server.pki.ca_pem,
        client_cert_pem=tls_server.pki.client_cert_pem,
        client_key_pem=tls_server.pki.client_key_pem,
    )
    assert response.status == 200
    assert response.body.endswith(b"client=deployer-probe")
    assert int(response.headers["content-length"]) == len(response.body)


def test_local_https_get_refuses_another_ca(local: LocalTransport, tls_server: TlsServer) -> None:
    with pytest.raises(TransportError, match="verif"):
        local.https_get(
            tls_server.address, tls_server.port, "/readyz", ca_pem=make_pki("other").ca_pem
        )


def test_local_https_get_to_a_closed_port(local: LocalTransport) -> None:
    with pytest.raises(TransportError, match="127.0.30.1:2448"):
        local.https_get("127.0.30.1", 2448, "/readyz", ca_pem=make_pki().ca_pem, timeout_s=2)


def test_local_https_get_refuses_a_garbage_ca(local: LocalTransport, tls_server: TlsServer) -> None:
    with pytest.raises(TransportError, match="CA"):
        local.https_get(tls_server.address, tls_server.port, "/readyz", ca_pem=b"not a pem")
