"""After a failure on a changed host: reconnect (bounded), and say where the host was left.

Why a module of its own: the applier's promise is that a host it pushed to is either verified,
rolled back and verified, or reported with the exact commands to recover it by hand. A lost
SSH connection must not break that promise (it used to exit 5, "nothing changed there", on a
changed host), so every step of the recovery path goes through :func:`with_reconnect`, and a
failed push is first checked for whether the rename happened at all (a failure before the
rename changed nothing and must restore nothing).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import PurePosixPath
from typing import Protocol, TypeVar, runtime_checkable

from deployer.errors import DeployerError, UnreachableError
from deployer.model.events import EventKind
from deployer.model.manifest import sha256_hex
from deployer.phases.backup import read_index
from deployer.phases.context import HostContext

__all__ = [
    "RECONNECT_ATTEMPTS",
    "Reconnectable",
    "best_effort",
    "manifest_unchanged",
    "set_unchanged",
    "with_reconnect",
]

_log = logging.getLogger(__name__)

T = TypeVar("T")

#: Attempts of a step across reconnections (the first try included), and the pauses between.
RECONNECT_ATTEMPTS = 4
_BACKOFF_S = (1.0, 3.0, 6.0)


@runtime_checkable
class Reconnectable(Protocol):
    """A transport that can drop its (dead) connection and open a new one."""

    def reconnect(self) -> None:
        """Close the current connection and open a new one.

        Raises:
            UnreachableError: the host cannot be reached now.
        """


def with_reconnect(
    ctx: HostContext, step: Callable[[], T], *, phase: str, attempts: int = RECONNECT_ATTEMPTS
) -> T:
    """Run ``step``; when the connection is lost, reconnect and run it again (bounded).

    ``attempts`` tries in all, with pauses of 1, 3, 6 s by ``ctx.clock``. ``step`` must be
    safe to repeat, as every recovery step is (restore a backup by atomic rename, poll, verify,
    read a file).

    Raises:
        UnreachableError: the host stayed unreachable through every attempt.
    """
    transport = ctx.transport
    last: UnreachableError | None = None
    for attempt in range(max(1, attempts)):
        if attempt:
            if not isinstance(transport, Reconnectable):
                break
            pause = _BACKOFF_S[min(attempt - 1, len(_BACKOFF_S) - 1)]
            ctx.emit(
                phase,
                EventKind.WARN,
                f"connection lost ({last.message if last else 'unknown'}); reconnecting in "
                f"{pause:g}s (attempt {attempt + 1}/{attempts})",
            )
            ctx.clock.sleep(pause)
            try:
                transport.reconnect()
            except UnreachableError as exc:
                last = exc
                continue
        try:
            return step()
        except UnreachableError as exc:
            last = exc
    assert last is not None  # noqa: S101 - the loop ran at least once and only failed
    raise last


def manifest_unchanged(ctx: HostContext, live: bytes | None) -> bool | None:
    """After a failed push: is the live manifest still the one observed before it?

    True: the rename never happened (e.g. no inode for the temp file), nothing to restore.
    False: the file changed. None: it could not be read even after reconnecting.
    """
    path = ctx.path(ctx.state.manifest_path)
    try:
        now = with_reconnect(
            ctx, lambda: ctx.transport.read(path, sudo=ctx.state.become), phase="push"
        )
    except DeployerError as exc:
        _log.warning("[%s] cannot read %s after a failed push: %s", ctx.name, path, exc)
        return None
    if live is None:
        return now is None
    return now is not None and sha256_hex(now) == sha256_hex(live)


def set_unchanged(
    ctx: HostContext, live: bytes | None, backup: PurePosixPath | None, *, has_companions: bool
) -> bool:
    """After a failure before the first file of a set landed: is every file as backed up?

    True only when proven (the manifest as :func:`manifest_unchanged` sees it, and each
    companion against the backup's index); anything unreadable counts as changed, so the
    caller restores the whole set.
    """
    if manifest_unchanged(ctx, live) is not True:
        return False
    if not has_companions:
        return True
    if backup is None:
        return False
    try:
        for entry in read_index(ctx, backup):
            now = ctx.transport.read(ctx.path(entry.path), sudo=ctx.state.become)
            if (sha256_hex(now) if now is not None else None) != entry.sha256:
                return False
    except (DeployerError, ValueError, KeyError, OSError):
        return False
    return True


def best_effort(ctx: HostContext, phase: str, step: Callable[[], T], default: T) -> T:
    """Run a step whose failure must not change the outcome (evidence, lock release).

    Any exception (not only ours: the recovery path must survive bugs too) is logged and shown
    as a warning, and ``default`` returned.
    """
    try:
        return with_reconnect(ctx, step, phase=phase, attempts=2)
    except Exception as exc:  # best effort by definition
        _log.warning("[%s] [%s] best-effort step failed: %r", ctx.name, phase, exc)
        ctx.emit(phase, EventKind.WARN, f"skipped: {exc}")
        return default
