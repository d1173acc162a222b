"""The local run lock: one deployer run at a time on this workstation (``--lock FILE``).

``flock(LOCK_EX | LOCK_NB)`` on an open file that also records the holder (pid, run id, start
time). A second run fails at once with :class:`LockHeld` (exit 7). The kernel drops the lock
when the holder's process dies, however it dies, so a crashed run never blocks the next one.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from types import TracebackType

from deployer.locks.holder import LockHeld, LockHolder

__all__ = ["LocalRunLock", "default_local_lock_path"]


def default_local_lock_path(environ: Mapping[str, str] | None = None) -> Path:
    """Return ``$XDG_RUNTIME_DIR/deployer.lock``, else ``<state dir>/deployer.lock``.

    Why the runtime folder first: it is per user, on tmpfs, and gone after a reboot, which is
    exactly a run lock's lifetime.
    """
    env = os.environ if environ is None else environ
    runtime = env.get("XDG_RUNTIME_DIR") or ""
    if os.path.isabs(runtime):
        return Path(runtime) / "deployer.lock"
    state = env.get("XDG_STATE_HOME") or ""
    if not os.path.isabs(state):
        state = str(Path(env.get("HOME") or Path.home()) / ".local" / "state")
    return Path(state) / "deployer" / "deployer.lock"


class LocalRunLock:
    """An exclusive ``flock`` on a local file, held for one run; a context manager.

    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "deployer.lock"
    >>> with LocalRunLock.acquire(path, run_id="r1") as lock:
    ...     lock.holder.run_id
    'r1'
    """

    def __init__(self, path: Path, fd: int, holder: LockHolder) -> None:
        self.path = path
        self.holder = holder
        self._fd: int | None = fd

    @classmethod
    def acquire(
        cls,
        path: Path | None = None,
        *,
        run_id: str,
        command: str = "",
        clock: Callable[[], float] = time.time,
    ) -> LocalRunLock:
        """Take the lock at once or fail; never wait.

        The file is never deleted: unlinking a lock file lets a run that opened the old file and
        a run that created a new one both "hold" the lock. Release empties it instead.

        Raises:
            LockHeld: another process holds it (the message names its pid, run id, start).
        """
        target = path if path is not None else default_local_lock_path()
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(target, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise LockHeld(path=str(target), holder=_read_local_holder(target)) from None
        except BaseException:
            os.close(fd)
            raise
        holder = replace(LockHolder.for_this_process(run_id, command), acquired_at=clock())
        record = {
            "run_id": holder.run_id,
            "pid": holder.pid,
            "workstation": holder.workstation,
            "user": holder.user,
            "command": holder.command,
            "acquired_at": holder.acquired_at,
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(record) + "\n").encode("utf-8"), 0)
        return cls(target, fd, holder)

    def release(self) -> None:
        """Empty the file and drop the lock; safe to call twice."""
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            os.ftruncate(fd, 0)
        finally:
            os.close(fd)  # closing the last descriptor drops the flock

    def __enter__(self) -> LocalRunLock:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


def _read_local_holder(path: Path) -> LockHolder | None:
    """Read the holder a lock file records; None while the holder has not written it yet."""
    try:
        data = json.loads(path.read_text(encoding="utf-8") or "null")
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    return LockHolder.from_fields({str(k): str(v) for k, v in data.items() if v is not None})
