"""Probe etcd and the local control-plane components, as kube-apiserver does.

Why real probes: the lab must fail for real reasons. The ``etcd`` health check asks the etcd
named by ``--etcd-servers`` over TLS with the ``--etcd-*file`` client certificate (``GET
/health``), so a stopped etcd or a wrong certificate flag shows up as ``[-]etcd failed`` exactly as
on a node. ``componentstatuses`` probes ``https://127.0.0.1:10259/healthz`` (scheduler) and
``:10257`` (controller-manager) like the real registry, certificates unchecked, and reports Go's
error text when nothing listens.

Timeouts are short (2 s), etcd results are cached for about a second and the connection to etcd
is kept open, so a probe storm from the tool or kubelet does not become an etcd storm.
"""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

__all__ = ["ComponentProbe", "EtcdProbe", "ProbeResult", "probe_component"]

_TIMEOUT_S = 2.0
_CACHE_S = 1.0


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """One probe: ``ok``, the body (``message``) and, when it failed, why (``error``)."""

    ok: bool
    message: str = ""
    error: str = ""


class EtcdProbe:
    """Check the etcd members of ``--etcd-servers`` with the apiserver's etcd client identity.

    Args:
        servers: the ``--etcd-servers`` URLs.
        context: TLS settings from ``--etcd-cafile``/``--etcd-certfile``/``--etcd-keyfile``, or
            ``None`` when they could not be loaded (then https members fail with ``tls_error``).
        tls_error: why ``context`` is ``None``.
        timeout_s: per-request timeout.
        cache_s: how long a result is reused.
        clock: monotonic clock, injectable for tests.
        on_request: told each member request's duration (``etcd_request_duration_seconds``).
    """

    def __init__(
        self,
        servers: Sequence[str],
        context: ssl.SSLContext | None,
        *,
        tls_error: str = "",
        timeout_s: float = _TIMEOUT_S,
        cache_s: float = _CACHE_S,
        clock: Callable[[], float] = time.monotonic,
        on_request: Callable[[float], None] | None = None,
    ) -> None:
        self._servers = tuple(servers)
        self._context = context
        self._tls_error = tls_error
        self._timeout_s = timeout_s
        self._cache_s = cache_s
        self._clock = clock
        self._on_request = on_request
        self._lock = threading.Lock()
        self._cached: tuple[float, str | None] | None = None
        self._connections: dict[str, http.client.HTTPConnection] = {}
        self._connections_lock = threading.Lock()

    @property
    def servers(self) -> tuple[str, ...]:
        """The member URLs, in flag order (componentstatuses names them ``etcd-0``...)."""
        return self._servers

    def check(self) -> str | None:
        """Return ``None`` when some member is healthy, else the last member's failure (cached)."""
        with self._lock:
            now = self._clock()
            if self._cached is not None and now - self._cached[0] < self._cache_s:
                return self._cached[1]
            reason: str | None = "no etcd servers configured"
            for server in self._servers:
                reason = self.check_server(server)
                if reason is None:
                    break
            self._cached = (self._clock(), reason)
            return reason

    def check_server(self, url: str) -> str | None:
        """Ask one member ``GET /health``; ``None`` when it answers ``{"health": "true"}``.

        The connection to each member is kept open between checks, as kube-apiserver keeps its
        etcd client's: a probe then costs a request, not a TLS handshake on both sides. A kept
        connection that fails is replaced once, so a stopped or restarted etcd is seen at once.
        """
        parts = urlsplit(url)
        host = parts.hostname or "127.0.0.1"
        port = parts.port or 2379
        if parts.scheme == "https" and self._context is None:
            return self._tls_error or "etcd client TLS configuration is missing"
        with self._connections_lock:
            try:
                status, body = self._get_health(url, host, port, parts.scheme)
            except (OSError, http.client.HTTPException) as err:
                return f"error getting data from etcd: {_go_dial_error(host, port, err)}"
        try:
            health = json.loads(body)
        except ValueError:
            return f"etcd /health answered {status} with a body that is not JSON"
        if status == 200 and isinstance(health, dict) and health.get("health") == "true":
            return None
        return f"etcd /health answered {status}: {body.decode(errors='replace').strip()}"

    def _get_health(self, url: str, host: str, port: int, scheme: str) -> tuple[int, bytes]:
        kept = self._connections.pop(url, None)
        for connection in ([kept] if kept is not None else []) + [None]:
            fresh = connection is None
            if connection is None:
                connection = (
                    http.client.HTTPSConnection(
                        host, port, timeout=self._timeout_s, context=self._context
                    )
                    if scheme == "https"
                    else http.client.HTTPConnection(host, port, timeout=self._timeout_s)
                )
            started = time.monotonic()
            try:
                connection.request("GET", "/health")
                response = connection.getresponse()
                body = response.read()
            except (OSError, http.client.HTTPException):
                connection.close()
                if fresh:
                    raise
                continue  # the kept connection went stale: try a new one
            if self._on_request is not None:
                self._on_request(time.monotonic() - started)
            if response.will_close:
                connection.close()
            else:
                self._connections[url] = connection
            return response.status, body
        raise OSError("unreachable")  # the loop always returns or raises


@dataclass(frozen=True, slots=True)
class ComponentProbe:
    """A component the apiserver probes for ``componentstatuses`` (name, https URL)."""

    name: str
    url: str


def probe_component(probe: ComponentProbe, *, timeout_s: float = _TIMEOUT_S) -> ProbeResult:
    """Probe a scheduler/controller-manager ``/healthz`` like ``pkg/probe/http``.

    Certificates are not verified (the real registry sets ``InsecureSkipVerify``). A transport
    error is a failure whose *message* is Go's error text; a status outside 200-399 is a failure
    with ``HTTP probe failed with statuscode: N``.

    Args:
        probe: what to probe.
        timeout_s: the request timeout.
    """
    parts = urlsplit(probe.url)
    host = parts.hostname or "127.0.0.1"
    port = parts.port or 443
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    connection = http.client.HTTPSConnection(host, port, timeout=timeout_s, context=context)
    try:
        connection.request("GET", parts.path or "/")
        response = connection.getresponse()
        body = response.read(65536).decode(errors="replace")
    except (OSError, http.client.HTTPException) as err:
        return ProbeResult(False, f'Get "{probe.url}": {_go_dial_error(host, port, err)}')
    finally:
        connection.close()
    if not 200 <= response.status < 400:
        return ProbeResult(False, f"HTTP probe failed with statuscode: {response.status}")
    return ProbeResult(True, body)


def _go_dial_error(host: str, port: int, err: BaseException) -> str:
    """Render a Python socket error as Go's net/http error text."""
    address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    if isinstance(err, ConnectionRefusedError):
        return f"dial tcp {address}: connect: connection refused"
    if isinstance(err, socket.timeout | TimeoutError):
        return "context deadline exceeded (Client.Timeout exceeded while awaiting headers)"
    if isinstance(err, ssl.SSLCertVerificationError):
        return f"tls: failed to verify certificate: {err.verify_message}"
    if isinstance(err, ssl.SSLError):
        return f"remote error: tls: {err.reason or err}"
    return str(err)
