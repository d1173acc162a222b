"""Serve the stand-in over HTTPS with client-certificate and token authentication.

Why stdlib ``ssl`` + ``ThreadingHTTPServer``: the whole lab node must fit in about 60 MB, and a
start must be quick; no framework is needed for a handful of GET routes. The TLS handshake runs
in the connection's thread (not in the accept loop), so one slow client cannot stall the rest.
Client certificates are requested (``CERT_OPTIONAL``) and verified against ``--client-ca-file``;
HTTP/1.1 only (ALPN), which Go clients such as kubectl accept.
"""

from __future__ import annotations

import contextlib
import datetime
import socket
import ssl
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from deployer.lab.apiserver.app import ApiServerApp, Reply, classify
from deployer.lab.apiserver.auth import ANONYMOUS, Identity, identity_from_certificate
from deployer.lab.apiserver.companions.record import RequestRecord
from deployer.lab.apiserver.klog import Klog

__all__ = ["ApiHttpsServer", "ServingConfig", "make_tls_context"]

_HANDSHAKE_TIMEOUT_S = 10.0
_IDLE_TIMEOUT_S = 60.0


class ServingConfig:
    """Authentication settings of the secure port.

    Args:
        anonymous_auth: ``--anonymous-auth``.
        tokens: ``--token-auth-file`` entries (token -> identity).
    """

    def __init__(self, *, anonymous_auth: bool, tokens: dict[str, Identity]) -> None:
        self.anonymous_auth = anonymous_auth
        self.tokens = tokens


def make_tls_context(
    cert_file: Path, key_file: Path, client_ca_file: Path | None
) -> ssl.SSLContext:
    """Build the serving TLS context (TLS 1.2+, as kube-apiserver's default minimum).

    Raises:
        ssl.SSLError: the certificate, key or CA bundle cannot be loaded.
        OSError: a file cannot be read.
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(str(cert_file), str(key_file))
    if client_ca_file is not None:
        context.load_verify_locations(str(client_ca_file))
        context.verify_mode = ssl.CERT_OPTIONAL
    context.set_alpn_protocols(["http/1.1"])
    return context


class ApiHttpsServer(ThreadingHTTPServer):
    """The secure port: accepts connections, shakes hands in threads, hands requests to the app.

    Args:
        listener: the bound, listening socket of the secure port.
        context: the serving TLS context.
        app: answers requests.
        serving: authentication settings.
        log: for request logs at ``-v=3``.
    """

    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self,
        listener: socket.socket,
        context: ssl.SSLContext,
        app: ApiServerApp,
        serving: ServingConfig,
        log: Klog,
    ) -> None:
        self.address_family = listener.family
        #: Called with each authenticated request once answered (the audit log backend).
        self.observers: list[Callable[[RequestRecord], None]] = []
        self.tls_context = context
        self.app = app
        self.serving = serving
        self.log = log
        # The listener was opened earlier (its errors are startup errors); adopt it.
        super().__init__(listener.getsockname()[:2], _Handler, bind_and_activate=False)
        self.socket.close()
        self.socket = listener
        self.server_address = listener.getsockname()

    def finish_request(self, request: Any, client_address: Any) -> None:
        """Do the TLS handshake in this connection's thread, then serve it."""
        request.settimeout(_HANDSHAKE_TIMEOUT_S)
        try:
            tls = self.tls_context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as err:
            if self.log.v(4):
                self.log.info(
                    "server.go:3413",
                    f"http: TLS handshake error from {client_address[0]}:{client_address[1]}: "
                    f"{err}",
                )
            return
        try:
            tls.settimeout(_IDLE_TIMEOUT_S)
            _Handler(tls, client_address, self)
        finally:
            with contextlib.suppress(OSError):
                tls.close()


class _Handler(BaseHTTPRequestHandler):
    """One HTTP/1.1 connection (keep-alive, as Go clients expect)."""

    protocol_version = "HTTP/1.1"
    server: ApiHttpsServer

    def do_GET(self) -> None:
        self._serve("GET")

    def do_HEAD(self) -> None:
        self._serve("HEAD")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def do_PATCH(self) -> None:
        self._serve("PATCH")

    def log_message(self, format: str, *args: Any) -> None:
        """Silence http.server's own access log (requests are logged in klog format instead)."""

    def _serve(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(min(length, 1 << 20)) if length else b""
        url = urlsplit(self.path)
        query = parse_qs(url.query, keep_blank_values=True)
        received = datetime.datetime.now(datetime.UTC)
        identity = self._authenticate()
        app = self.server.app
        reply = (
            app.unauthorized()
            if identity is None
            else app.handle(method, url.path, query, identity, self.headers.get("Accept", ""), body)
        )
        self._send(reply, include_body=method != "HEAD")
        if identity is not None and self.server.observers:
            record = RequestRecord(
                method,
                self.path,
                classify(method, url.path),
                identity,
                reply.status,
                self.headers.get("User-Agent", ""),
                str(self.client_address[0]),
                received,
            )
            for observe in self.server.observers:
                observe(record)
        if self.server.log.v(3):
            self.server.log.info_s(
                "httplog.go:134",
                "HTTP",
                verb=method,
                URI=self.path,
                userAgent=self.headers.get("User-Agent", ""),
                srcIP=f"{self.client_address[0]}:{self.client_address[1]}",
                resp=str(reply.status),
            )

    def _authenticate(self) -> Identity | None:
        """Return who is asking, or ``None`` for a 401."""
        serving = self.server.serving
        connection = self.connection
        if isinstance(connection, ssl.SSLSocket):
            from_cert = identity_from_certificate(connection.getpeercert())
            if from_cert is not None:
                return from_cert
        # Only bearer tokens are checked; a bad one is a 401 even when anonymous access is on.
        scheme, _, token = self.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            identity = serving.tokens.get(token.strip())
            if identity is None:
                self.server.log.error_s(
                    "authentication.go:73",
                    "Unable to authenticate the request",
                    err="invalid bearer token",
                )
            return identity
        return ANONYMOUS if serving.anonymous_auth else None

    def _send(self, reply: Reply, *, include_body: bool) -> None:
        # No Server header: Go's net/http sends none.
        self.send_response_only(reply.status)
        self.send_header("Date", self.date_time_string())
        for name, value in reply.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        if include_body:
            self.wfile.write(reply.body)
