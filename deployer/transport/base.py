"""The seam between the engine and a host: every remote action goes through :class:`Transport`.

Why a Protocol: the engine's phases are tested against a scripted fake and a local transport,
and run against SSH in production, without inheriting from anything.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from pathlib import PurePosixPath
from typing import Protocol, runtime_checkable

from deployer.model.host import Host
from deployer.model.report import CommandResult

__all__ = ["HttpResponse", "StreamingTransport", "Transport"]


class HttpResponse(Protocol):
    """An HTTPS answer from a host-local endpoint (the apiserver's probes)."""

    @property
    def status(self) -> int:
        """HTTP status code."""

    @property
    def headers(self) -> dict[str, str]:
        """Response headers, lower-case names."""

    @property
    def body(self) -> bytes:
        """The response body."""


class Transport(Protocol):
    """One open connection to one host, reused by every step of a run."""

    host: Host

    def run(
        self,
        argv: Sequence[str],
        *,
        sudo: bool = False,
        stdin: bytes | None = None,
        ok_exit_codes: Collection[int] = (0,),
        timeout_s: float = 60.0,
    ) -> CommandResult:
        """Run ``argv`` on the host (quoted in exactly one place, never through a shell string).

        Raises:
            CommandFailed: the exit code is not in ``ok_exit_codes``.
            UnreachableError: the connection is gone.
        """

    def read(self, path: PurePosixPath, *, sudo: bool = True) -> bytes | None:
        """Return the file's bytes, or ``None`` when it does not exist."""

    def put_atomic(
        self, content: bytes, path: PurePosixPath, *, mode: int = 0o600, sudo: bool = True
    ) -> None:
        """Write ``path`` so that a reader sees the old or the new bytes, never a mix.

        The temporary file is ``.<name>.<random>`` in the same folder (a dot-file, so kubelet
        ignores it), fsynced, chmod ``mode``, chown root:root when running as root, renamed
        over ``path``, then the folder is fsynced (DESIGN.md rule 2).
        """

    def https_get(
        self,
        address: str,
        port: int,
        path: str,
        *,
        ca_pem: bytes,
        client_cert_pem: bytes | None = None,
        client_key_pem: bytes | None = None,
        server_name: str | None = None,
        timeout_s: float = 10.0,
        method: str = "GET",
        body: bytes | None = None,
    ) -> HttpResponse:
        """GET ``https://address:port/path`` from the host's side of the connection.

        Through an SSH direct-tcpip channel, so the probe reaches the apiserver of the host
        being changed, not a load balancer; TLS is verified against ``ca_pem``.
        """

    def close(self) -> None:
        """Close the connection; safe to call twice."""


@runtime_checkable
class StreamingTransport(Protocol):
    """A transport that also hands over a command's stdout as it arrives.

    Why: plan's observation prints the cluster CA first, so the ``/readyz`` probe (which needs
    it) can start on the same connection while the rest of the observation still runs.
    Transports without it are used one step after the other.
    """

    def run_streaming(
        self,
        argv: Sequence[str],
        on_stdout: Callable[[bytes], None],
        *,
        sudo: bool = False,
        timeout_s: float = 60.0,
    ) -> CommandResult:
        """:meth:`Transport.run`, calling ``on_stdout`` with each chunk of stdout received.

        ``on_stdout`` runs in the reading thread and must return quickly.
        """
