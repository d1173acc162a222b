"""Keep a host's lease alive while its steps run, and fence the host off once it is lost.

Why a heartbeat: the restart wait, verification, soak and rollback are each bounded only by
their own timeouts, and renewing "between steps" left the lease to expire inside one of them;
another run could then take the host over while this one was still changing it. A background
thread renews the lease every third of it instead.

Why a fence: when a renewal answers "lost", another run owns the host. From then on nothing of
this run may touch it, not even a rollback (it would restart the other run's apiserver), so
:class:`LeasedTransport` raises :class:`~deployer.locks.holder.LockLost` on every call after
that moment, wherever the rollout happens to be.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Collection, Sequence
from pathlib import PurePosixPath

from deployer.errors import DeployerError
from deployer.locks.holder import LockLost
from deployer.locks.remote import RemoteLock
from deployer.model.report import CommandResult
from deployer.transport.base import HttpResponse, Transport

__all__ = ["Heartbeat", "LeasedTransport", "lease_for"]

_log = logging.getLogger(__name__)


def lease_for(configured_s: int, *step_timeouts_s: float) -> int:
    """Return a lease of at least ``configured_s`` and a quarter more than the longest step.

    The heartbeat renews far more often; this bound is what still holds when the heartbeat
    cannot reach the host for a while (a slow network during a long step).

    >>> lease_for(900, 300, 330)
    900
    >>> lease_for(900, 3600)
    4510
    """
    longest = max((float(t) for t in step_timeouts_s), default=0.0)
    return max(int(configured_s), int(longest * 1.25) + 10)


class Heartbeat:
    """Renews one lease in a daemon thread; :attr:`lost` is set once another run owns it."""

    def __init__(
        self,
        lock: RemoteLock,
        transport: Transport,
        *,
        sudo: bool,
        interval_s: float | None = None,
    ) -> None:
        self._interval_s = interval_s
        self._lock = lock
        self._transport = transport
        self._sudo = sudo
        self._stop = threading.Event()
        self._guard = threading.Lock()
        self._thread = threading.Thread(
            target=self._loop, name=f"deployer-lease-{lock.host}", daemon=True
        )
        #: The error of the renewal that found the lease gone, or None while it is held.
        self.lost: LockLost | None = None
        #: Renewals done so far (for reports and tests).
        self.renewals = 0

    @property
    def interval_s(self) -> float:
        """Seconds between renewals: as given, else a third of the lease, at most 30 s."""
        if self._interval_s is not None:
            return max(self._interval_s, 0.05)
        return min(max(self._lock.lease_s / 3.0, 0.5), 30.0)

    @property
    def lock(self) -> RemoteLock:
        """The lease as last renewed."""
        with self._guard:
            return self._lock

    def start(self) -> Heartbeat:
        """Start renewing; return self."""
        self._thread.start()
        return self

    def stop(self) -> RemoteLock:
        """Stop renewing (waits for a renewal in flight) and return the latest lease."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=self._lock.lease_s)
        return self.lock

    def check(self) -> None:
        """Raise the loss, if the lease was lost.

        Raises:
            LockLost: another run took the lease over.
        """
        if self.lost is not None:
            raise self.lost

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                renewed = self.lock.renew(self._transport, sudo=self._sudo)
            except LockLost as exc:
                self.lost = exc
                _log.warning("[%s] lease lost: %s", self._lock.host, exc.message)
                return
            except DeployerError as exc:
                # Unreachable for now, or the mutex busy: try again at the next beat. The lease
                # is sized to outlast the longest step, so a few missed beats cost nothing.
                _log.warning("[%s] lease renewal failed: %s", self._lock.host, exc.message)
                continue
            with self._guard:
                self._lock = renewed
                self.renewals += 1


class LeasedTransport:
    """A transport that refuses every call once the host's lease is lost (see module doc)."""

    def __init__(self, inner: Transport, heartbeat: Heartbeat) -> None:
        self.inner = inner
        self.host = inner.host
        self._heartbeat = heartbeat

    def run(
        self,
        argv: Sequence[str],
        *,
        sudo: bool = False,
        stdin: bytes | None = None,
        ok_exit_codes: Collection[int] = (0,),
        timeout_s: float = 60.0,
    ) -> CommandResult:
        """See :meth:`Transport.run`; raises ``LockLost`` once the lease is gone."""
        self._heartbeat.check()
        return self.inner.run(
            argv, sudo=sudo, stdin=stdin, ok_exit_codes=ok_exit_codes, timeout_s=timeout_s
        )

    def read(self, path: PurePosixPath, *, sudo: bool = True) -> bytes | None:
        """See :meth:`Transport.read`; raises ``LockLost`` once the lease is gone."""
        self._heartbeat.check()
        return self.inner.read(path, sudo=sudo)

    def put_atomic(
        self, content: bytes, path: PurePosixPath, *, mode: int = 0o600, sudo: bool = True
    ) -> None:
        """See :meth:`Transport.put_atomic`; raises ``LockLost`` once the lease is gone."""
        self._heartbeat.check()
        self.inner.put_atomic(content, path, mode=mode, sudo=sudo)

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
        """See :meth:`Transport.https_get`; raises ``LockLost`` once the lease is gone."""
        self._heartbeat.check()
        return self.inner.https_get(
            address,
            port,
            path,
            ca_pem=ca_pem,
            client_cert_pem=client_cert_pem,
            client_key_pem=client_key_pem,
            server_name=server_name,
            timeout_s=timeout_s,
            method=method,
            body=body,
        )

    def reconnect(self) -> None:
        """Reconnect the inner transport (recovery steps); raises ``LockLost`` once lost.

        Raises:
            LockLost: the lease is gone.
            UnreachableError: the host cannot be reached now.
        """
        self._heartbeat.check()
        reconnect = getattr(self.inner, "reconnect", None)
        if reconnect is not None:
            reconnect()

    def close(self) -> None:
        """Close the inner transport."""
        self.inner.close()
