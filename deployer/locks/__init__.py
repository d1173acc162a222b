"""Run locks: one deployer run at a time per workstation, and per control-plane host.

Two locks, because they guard different things (DESIGN.md rule 10):

* **Local run lock** (``--lock FILE``): ``flock(LOCK_EX | LOCK_NB)`` on an open file that also
  records the holder (pid, run id, start time). A second run fails at once with
  :class:`LockHeld` (exit 7). The kernel drops the lock when the holder's process dies,
  however it dies, so a crashed run never blocks the next one.
* **Remote host lock** (:class:`RemoteLock`): a timer on one workstation and an operator on
  another must not change the same host at once. A lock held over SSH cannot be a process
  holding ``flock`` for the whole run (one exec per step, and the SSH session may die while the
  remote process lives on), so it is a **lease**: a small file ``<backup_dir>/deployer.lock``
  naming the run id, workstation, user, pid and an expiry time. The holder renews it between
  steps; a run that crashed stops renewing, the lease expires, and the next run takes the lock
  over with a warning. Each operation (acquire, renew, release) is one short remote ``sh``
  script that runs under ``flock`` on ``<lock>.mutex``, so check-then-write is atomic against
  concurrent runs, and that ``flock`` is held only for milliseconds and dies with the script.
  Expiry is judged by the *host's* clock, written and compared there, so clock skew between
  workstations cannot make a live lease look expired. Release removes the file only when the
  run id matches.
"""

from __future__ import annotations

from deployer.locks.holder import LockHeld, LockHolder, LockLost
from deployer.locks.local import LocalRunLock, default_local_lock_path
from deployer.locks.remote import (
    DEFAULT_LEASE_S,
    LOCK_FILE_NAME,
    LockAnswer,
    RemoteLock,
    parse_lock_answer,
    remote_lock_argv,
)

__all__ = [
    "DEFAULT_LEASE_S",
    "LOCK_FILE_NAME",
    "LocalRunLock",
    "LockAnswer",
    "LockHeld",
    "LockHolder",
    "LockLost",
    "RemoteLock",
    "default_local_lock_path",
    "parse_lock_answer",
    "remote_lock_argv",
]
