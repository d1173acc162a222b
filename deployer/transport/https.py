"""A verified HTTPS GET over any byte stream: a TCP socket or an SSH ``direct-tcpip`` channel.

Why not ``urllib``: the probe must start on the host being changed (DESIGN.md rule 5), so its
bytes travel through the SSH connection, which is a paramiko channel, not a socket the ``ssl``
module can wrap. :class:`ssl.SSLObject` over two :class:`ssl.MemoryBIO` buffers does TLS on
any stream; the local transport uses the same code over a plain socket, so one implementation
is tested both ways. The response is parsed by :class:`http.client.HTTPResponse` (chunked
bodies included).
"""

from __future__ import annotations

import functools
import http.client
import io
import os
import socket
import ssl
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, cast

from deployer.transport import requestlog

__all__ = ["HttpResult", "RawStream", "TlsProbeError", "https_get_over"]

_MAX_RESPONSE_BYTES = 16 * 1024 * 1024


class RawStream(Protocol):
    """What a socket and a paramiko channel have in common."""

    def sendall(self, data: bytes) -> None:
        """Send all of ``data``."""

    def recv(self, size: int) -> bytes:
        """Receive up to ``size`` bytes; ``b''`` at end of stream."""

    def settimeout(self, timeout: float | None) -> None:
        """Limit each blocking call."""


@dataclass(frozen=True, slots=True)
class HttpResult:
    """An HTTP response (satisfies :class:`deployer.transport.base.HttpResponse`)."""

    status: int
    #: Lower-case header names; repeated headers are joined with ``", "``.
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


class TlsProbeError(Exception):
    """The HTTPS exchange failed (TLS verification, timeout, malformed answer).

    Internal: each transport turns it into a :class:`deployer.errors.TransportError` naming
    its host.
    """


@functools.lru_cache(maxsize=16)
def _server_context(ca_pem: bytes) -> ssl.SSLContext:
    """A verifying context for one CA, shared by every probe.

    Every host of a cluster has the same CA, and a context is safe to use from several threads.
    """
    return _make_context(ca_pem, None, None)


def _make_context(
    ca_pem: bytes, client_cert_pem: bytes | None, client_key_pem: bytes | None
) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cadata=ca_pem.decode("ascii"))
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if client_cert_pem is not None and _load_chain_from_memory(
        context, client_cert_pem, client_key_pem
    ):
        return context
    if client_cert_pem is not None:
        # ssl loads certificate chains from files only: without memfd, a private 0700 folder
        # that lives for the duration of one call, the key 0600, removed before returning.
        with tempfile.TemporaryDirectory(prefix="deployer-tls-") as folder:
            cert = Path(folder, "client.crt")
            cert.write_bytes(client_cert_pem)
            key = Path(folder, "client.key") if client_key_pem is not None else None
            if key is not None and client_key_pem is not None:
                key.touch(mode=0o600)
                key.write_bytes(client_key_pem)
            context.load_cert_chain(str(cert), str(key) if key else None)
    return context


def _load_chain_from_memory(
    context: ssl.SSLContext, cert_pem: bytes, key_pem: bytes | None
) -> bool:
    """Load the client certificate and key through anonymous memory files (Linux memfd).

    The cluster-admin key then never touches a file system. Returns False where memfd or
    ``/proc/self/fd`` is missing (the caller falls back to a private temporary folder).
    """
    if not hasattr(os, "memfd_create") or not os.path.isdir("/proc/self/fd"):
        return False
    fds: list[int] = []
    try:
        for name, data in (("client.crt", cert_pem), ("client.key", key_pem)):
            if data is None:
                continue
            fd = os.memfd_create(f"deployer-{name}", os.MFD_CLOEXEC)
            fds.append(fd)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        paths = [f"/proc/self/fd/{fd}" for fd in fds]
        context.load_cert_chain(paths[0], paths[1] if len(paths) > 1 else None)
        return True
    except OSError:
        return False
    finally:
        for fd in fds:
            os.close(fd)


def _pump_out(stream: RawStream, outgoing: ssl.MemoryBIO) -> None:
    data = outgoing.read()
    if data:
        stream.sendall(data)


def _pump_in(stream: RawStream, incoming: ssl.MemoryBIO, deadline: float) -> None:
    left = deadline - time.monotonic()
    if left <= 0:
        raise TlsProbeError("timed out")
    stream.settimeout(left)
    try:
        data = stream.recv(65536)
    except TimeoutError as err:
        raise TlsProbeError("timed out") from err
    if data:
        incoming.write(data)
    else:
        incoming.write_eof()


def _exchange_bios(
    stream: RawStream,
    obj: ssl.SSLObject,
    incoming: ssl.MemoryBIO,
    outgoing: ssl.MemoryBIO,
    request: bytes,
    deadline: float,
) -> bytes:
    while True:
        try:
            obj.do_handshake()
            break
        except ssl.SSLWantReadError:
            _pump_out(stream, outgoing)
            _pump_in(stream, incoming, deadline)
    obj.write(request)
    _pump_out(stream, outgoing)
    chunks: list[bytes] = []
    size = 0
    while True:
        try:
            data = obj.read(65536)
        except ssl.SSLWantReadError:
            _pump_out(stream, outgoing)
            if incoming.eof:
                break
            _pump_in(stream, incoming, deadline)
            continue
        except ssl.SSLZeroReturnError:
            break
        except ssl.SSLEOFError:
            # A server that closes without close_notify after a complete answer.
            break
        if not data:
            break
        chunks.append(data)
        size += len(data)
        if size > _MAX_RESPONSE_BYTES:
            raise TlsProbeError(f"response larger than {_MAX_RESPONSE_BYTES} bytes")
    return b"".join(chunks)


class _Replay:
    """Just enough of a socket for :class:`http.client.HTTPResponse` to parse saved bytes."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def makefile(self, mode: str, *args: object, **kwargs: object) -> io.BytesIO:
        return io.BytesIO(self._data)


def _parse(raw: bytes) -> HttpResult:
    response = http.client.HTTPResponse(cast(socket.socket, _Replay(raw)))
    try:
        response.begin()
        body = response.read()
    except (http.client.HTTPException, ValueError) as err:
        raise TlsProbeError(f"malformed HTTP response: {err!r}") from err
    headers: dict[str, str] = {}
    for name, value in response.getheaders():
        key = name.lower()
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    return HttpResult(status=response.status, headers=headers, body=body)


def https_get_over(
    stream: RawStream,
    *,
    host_header: str,
    path: str,
    ca_pem: bytes,
    server_name: str,
    client_cert_pem: bytes | None = None,
    client_key_pem: bytes | None = None,
    timeout_s: float = 10.0,
    method: str = "GET",
    body: bytes | None = None,
) -> HttpResult:
    """Do one verified HTTPS GET (or ``method`` with a JSON ``body``) over ``stream``.

    The server certificate must chain to ``ca_pem`` and match ``server_name`` (a DNS name or
    an IP address, checked against the certificate's SANs). The caller owns ``stream`` and
    closes it.

    Raises:
        TlsProbeError: verification, timeout, or a malformed answer.
        ValueError: ``path`` does not start with ``/``.
    """
    if not path.startswith("/"):
        raise ValueError(f"HTTP path must start with '/': {path!r}")
    deadline = time.monotonic() + timeout_s
    try:
        context = (
            _server_context(ca_pem)
            if client_cert_pem is None and client_key_pem is None
            else _make_context(ca_pem, client_cert_pem, client_key_pem)
        )
    except (ssl.SSLError, ValueError) as err:
        raise TlsProbeError(f"bad CA or client certificate: {err}") from err
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    # An ASCII name goes in as bytes: ssl encodes a str with the 'idna' codec, whose first use
    # imports encodings.idna and stringprep (~9 ms of plan's start-up) for nothing.
    hostname: str | bytes = server_name.encode("ascii") if server_name.isascii() else server_name
    obj = context.wrap_bio(incoming, outgoing, server_side=False, server_hostname=hostname)
    headers = [
        ("Host", host_header),
        ("User-Agent", "deployer"),
        ("Accept", "application/json, */*"),
    ]
    if body is not None:
        headers += [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    headers.append(("Connection", "close"))
    request = (
        f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers) + "\r\n"
    ).encode() + (body or b"")
    started = time.monotonic()
    try:
        result = _send(stream, obj, incoming, outgoing, request, deadline)
    except TlsProbeError as err:
        if requestlog.is_enabled():
            _log_exchange(
                method, host_header, path, headers, client_cert_pem, started, error=str(err)
            )
        raise
    if requestlog.is_enabled():
        _log_exchange(method, host_header, path, headers, client_cert_pem, started, result=result)
    return result


def _send(
    stream: RawStream,
    obj: ssl.SSLObject,
    incoming: ssl.MemoryBIO,
    outgoing: ssl.MemoryBIO,
    request: bytes,
    deadline: float,
) -> HttpResult:
    try:
        raw = _exchange_bios(stream, obj, incoming, outgoing, request, deadline)
    except ssl.SSLCertVerificationError as err:
        raise TlsProbeError(f"TLS verification failed: {err.verify_message}") from err
    except ssl.SSLError as err:
        raise TlsProbeError(f"TLS failed: {err}") from err
    except OSError as err:
        raise TlsProbeError(f"connection failed: {err}") from err
    return _parse(raw)


def _log_exchange(
    method: str,
    host_header: str,
    path: str,
    headers: list[tuple[str, str]],
    client_cert_pem: bytes | None,
    started: float,
    *,
    result: HttpResult | None = None,
    error: str | None = None,
) -> None:
    """Hand one exchange to the ``-vvv`` request log (the client is named by its subject)."""
    identity = None
    if client_cert_pem is not None:
        # Here, not at the top: x509 costs ~25 ms to import, and only -vvv ever needs it.
        from cryptography import x509

        try:
            identity = x509.load_pem_x509_certificate(client_cert_pem).subject.rfc4514_string()
        except ValueError:
            identity = "unreadable"
    requestlog.log_exchange(
        method=method,
        url=f"https://{host_header}{path}",
        request_headers=headers,
        client_identity=identity,
        duration_s=time.monotonic() - started,
        status=result.status if result else None,
        response_headers=list(result.headers.items()) if result else (),
        body=result.body if result else b"",
        error=error,
    )
