"""Probes of a lab node from the machine itself: TCP ports, etcd ``/health``, ``/readyz``.

TLS is verified against the node's own CAs, so a probe answered by the wrong server fails.
"""

from __future__ import annotations

import http.client
import socket
import ssl
from dataclasses import dataclass

from deployer.lab.layout import APISERVER_PORT, ETCD_CLIENT_PORT, NodeLayout

__all__ = ["Probe", "etcd_health", "port_open", "readyz"]


@dataclass(frozen=True, slots=True)
class Probe:
    """One HTTPS answer (``status`` 0 = no answer) and its body or the error."""

    status: int
    detail: str

    @property
    def ok(self) -> bool:
        """HTTP 200."""
        return self.status == 200


def port_open(address: str, port: int, *, timeout_s: float = 0.5) -> bool:
    """Return whether something accepts TCP connections at ``address:port``."""
    try:
        with socket.create_connection((address, port), timeout=timeout_s):
            return True
    except OSError:
        return False


def _get(context: ssl.SSLContext, address: str, port: int, path: str, timeout_s: float) -> Probe:
    connection = http.client.HTTPSConnection(address, port, context=context, timeout=timeout_s)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return Probe(response.status, response.read().decode(errors="replace"))
    except (OSError, http.client.HTTPException) as exc:
        return Probe(0, f"{type(exc).__name__}: {exc}")
    finally:
        connection.close()


def readyz(node: NodeLayout, *, verbose: bool = False, timeout_s: float = 2.0) -> Probe:
    """GET ``/readyz`` of the node's apiserver (anonymous, TLS checked with the cluster CA)."""
    try:
        context = ssl.create_default_context(cafile=str(node.pki_dir / "ca.crt"))
    except OSError as exc:
        return Probe(0, f"no cluster CA: {exc}")
    path = "/readyz?verbose" if verbose else "/readyz"
    return _get(context, node.ip, APISERVER_PORT, path, timeout_s)


def etcd_health(node: NodeLayout, *, timeout_s: float = 2.0) -> Probe:
    """GET etcd's ``/health`` with the node's healthcheck-client certificate."""
    etcd = node.pki_dir / "etcd"
    # The lab's own copy of etcd's CA: the node's file may be swapped by the etcd-wrong-ca fault,
    # which breaks the apiserver's view of etcd, not etcd.
    shared = node.root.parent / "pki" / "etcd-ca.crt"
    try:
        context = ssl.create_default_context(
            cafile=str(shared if shared.exists() else etcd / "ca.crt")
        )
        context.load_cert_chain(
            str(etcd / "healthcheck-client.crt"), str(etcd / "healthcheck-client.key")
        )
    except OSError as exc:
        return Probe(0, f"no etcd certificates: {exc}")
    return _get(context, node.ip, ETCD_CLIENT_PORT, "/health", timeout_s)


def apiserver_listening(node: NodeLayout) -> bool:
    """Whether anything listens on the node's secure port."""
    return port_open(node.ip, APISERVER_PORT)
