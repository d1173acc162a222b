"""The remote per-host lock: a lease file renewed by its holder, taken over once expired.

See :mod:`deployer.locks` for why a lease. Each operation is one constant POSIX ``sh`` script
run through :meth:`Transport.run`, its variables passed as positional parameters; the
functions that build its argv and parse its answer are pure and tested without a host.
"""

from __future__ import annotations

import contextlib
import logging
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import PurePosixPath

from deployer import errors
from deployer.locks.holder import LockHeld, LockHolder, LockLost
from deployer.transport.base import Transport

__all__ = [
    "DEFAULT_LEASE_S",
    "LOCK_FILE_NAME",
    "LockAnswer",
    "RemoteLock",
    "parse_lock_answer",
    "remote_lock_argv",
]

_log = logging.getLogger(__name__)

#: Name of the remote lock file inside the host's backup folder.
LOCK_FILE_NAME = "deployer.lock"
#: Default lease: longer than any single step (restart wait, readiness, soak), renewed between.
DEFAULT_LEASE_S = 900
#: Renew once this fraction of the lease has passed.
_RENEW_FRACTION = 1 / 3
#: Exit codes of the remote script (sysexits-style, none of them used by sh itself).
_EXIT_BUSY = 74  # the mutex stayed taken: another run is in its critical section
_EXIT_HELD = 75  # another run holds a lease that has not expired
_EXIT_LOST = 76  # renew: this run no longer holds the lease
_SAFE_TEXT = re.compile(r"[^A-Za-z0-9._@:+-]")
_RUN_ID = re.compile(r"^[A-Za-z0-9._:+-]{1,128}$")

# "$1" op (acquire|take_over|renew|release), "$2" lock file, "$3" run id, "$4" lease seconds,
# "$5" owner lines (key=value), "$6" seconds to wait for the mutex, "$7" take_over only: the run
# id of the crashed holder that may be replaced (checked under the mutex, so the take-over is
# atomic: a lock another run took meanwhile is never replaced). Prints `now=`, the previous holder's
# lines prefixed `holder.`, then `result=`. The mutex file is never removed: removing a file
# others may be waiting on with flock would let two runs hold "the" mutex at once.
_SCRIPT = """set -eu
op=$1 lock=$2 run_id=$3 lease=$4 owner=$5 wait_s=$6 expected=${7:-}
umask 077
mkdir -p -- "$(dirname -- "$lock")"
exec 9>>"$lock.mutex"
if ! flock -w "$wait_s" 9; then echo "result=busy"; exit 74; fi
# Under the mutex no other run is writing a lease: a temp file is a killed run's leftover.
rm -f -- "$lock".tmp.*
now=$(date +%s)
echo "now=$now"
cur_id=''
cur_exp=0
acquired=$now
if [ -s "$lock" ]; then
  cur_id=$(sed -n 's/^run_id=//p' "$lock" | head -n 1)
  cur_exp=$(sed -n 's/^expires_at=//p' "$lock" | head -n 1)
  acquired=$(sed -n 's/^acquired_at=//p' "$lock" | head -n 1)
  case $cur_exp in ''|*[!0-9]*) cur_exp=0 ;; esac
  case $acquired in ''|*[!0-9]*) acquired=$now ;; esac
  sed 's/^/holder./' "$lock"
fi
write_lease() {
  tmp="$lock.tmp.$$"
  trap 'rm -f -- "$tmp"' EXIT
  printf '%s\\nacquired_at=%s\\nexpires_at=%s\\n' "$owner" "$1" "$((now + lease))" > "$tmp"
  mv -f -- "$tmp" "$lock"
  trap - EXIT
}
case $op in
  acquire)
    if [ -n "$cur_id" ] && [ "$cur_id" != "$run_id" ] && [ "$cur_exp" -gt "$now" ]; then
      echo "result=held"
      exit 75
    fi
    if [ -n "$cur_id" ] && [ "$cur_id" != "$run_id" ]; then
      result=taken_over
    else
      result=acquired
    fi
    if [ "$cur_id" != "$run_id" ]; then acquired=$now; fi
    write_lease "$acquired"
    echo "result=$result"
    ;;
  take_over)
    if [ -n "$cur_id" ] && [ "$cur_id" != "$run_id" ] && [ "$cur_id" != "$expected" ] \\
        && [ "$cur_exp" -gt "$now" ]; then
      echo "result=held"
      exit 75
    fi
    if [ -n "$cur_id" ] && [ "$cur_id" != "$run_id" ]; then
      result=taken_over
    else
      result=acquired
    fi
    write_lease "$now"
    echo "result=$result"
    ;;
  renew)
    if [ "$cur_id" != "$run_id" ]; then echo "result=lost"; exit 76; fi
    write_lease "$acquired"
    echo "result=renewed"
    ;;
  release)
    if [ -z "$cur_id" ]; then
      echo "result=absent"
    elif [ "$cur_id" != "$run_id" ]; then
      echo "result=not_owner"
    else
      rm -f -- "$lock"
      echo "result=released"
    fi
    ;;
  *)
    echo "result=usage"
    exit 64
    ;;
esac
"""


@dataclass(frozen=True, slots=True)
class LockAnswer:
    """What one run of the remote lock script said (pure data, parsed from its output)."""

    #: acquired | taken_over | renewed | released | absent | not_owner | held | lost | busy.
    result: str
    #: The host's clock when the script ran (Unix seconds), None if it did not get that far.
    now: float | None
    #: The holder recorded *before* this operation, None when there was no lock file.
    previous: LockHolder | None


def _owner_lines(holder: LockHolder) -> str:
    """Return the holder as ``key=value`` lines, each value reduced to a safe character set."""
    fields = {
        "run_id": holder.run_id,
        "workstation": holder.workstation,
        "user": holder.user,
        "pid": "" if holder.pid is None else str(holder.pid),
        "command": holder.command,
        "boot_id": holder.boot_id,
        "pid_ns": holder.pid_ns,
        "proc_start": holder.proc_start,
    }
    return "\n".join(f"{k}={_SAFE_TEXT.sub('_', v)}" for k, v in fields.items())


def remote_lock_argv(
    op: str,
    path: PurePosixPath,
    holder: LockHolder,
    *,
    lease_s: int = DEFAULT_LEASE_S,
    mutex_wait_s: int = 30,
    expected_run_id: str = "",
) -> list[str]:
    """Return the argv of one lock operation (``acquire``, ``take_over``, ``renew``, ``release``).

    Everything variable travels as positional parameters of a constant script, so nothing is
    spliced into shell text.

    Raises:
        ValueError: unknown operation, relative path, or a run id with unsafe characters.
    """
    if op not in {"acquire", "take_over", "renew", "release"}:
        raise ValueError(f"unknown lock operation {op!r}")
    if op == "take_over" and not _RUN_ID.match(expected_run_id):
        raise ValueError(f"take_over needs the crashed run's id: {expected_run_id!r}")
    if not path.is_absolute():
        raise ValueError(f"the remote lock path must be absolute: {path}")
    if not _RUN_ID.match(holder.run_id):
        raise ValueError(f"run ids may use letters, digits and ._:+- only: {holder.run_id!r}")
    return [
        "sh",
        "-c",
        _SCRIPT,
        "deployer-lock",
        op,
        str(path),
        holder.run_id,
        str(max(int(lease_s), 0)),
        _owner_lines(holder),
        str(max(int(mutex_wait_s), 1)),
        expected_run_id,
    ]


def parse_lock_answer(stdout: str) -> LockAnswer:
    """Parse the lock script's output (pure; see :data:`_SCRIPT` for the format)."""
    result = ""
    now: float | None = None
    holder_fields: dict[str, str] = {}
    for line in stdout.splitlines():
        key, sep, value = line.partition("=")
        if not sep:
            continue
        if key == "result":
            result = value
        elif key == "now":
            with contextlib.suppress(ValueError):
                now = float(value)
        elif key.startswith("holder."):
            holder_fields.setdefault(key.removeprefix("holder."), value)
    previous = LockHolder.from_fields(holder_fields) if holder_fields else None
    return LockAnswer(result=result or "unknown", now=now, previous=previous)


@dataclass(frozen=True, slots=True)
class RemoteLock:
    """A held lease on one host's lock file; immutable, each renewal returns a new one.

    Typical use by the apply engine::

        lock = RemoteLock.acquire(transport, backup_dir / LOCK_FILE_NAME, run_id)
        for step in steps:
            lock = lock.renew_if_due(transport)
            step()
        lock.release(transport)   # not in ``finally`` on crash paths: the lease expires
    """

    host: str
    path: PurePosixPath
    holder: LockHolder
    lease_s: int
    #: Host clock: when the lease runs out unless renewed.
    expires_at: float
    #: Local monotonic time of the last acquire/renew, to decide when to renew.
    renewed_at_monotonic: float
    #: The expired holder this run took the lock over from, if any.
    took_over_from: LockHolder | None = None

    @classmethod
    def acquire(
        cls,
        transport: Transport,
        path: PurePosixPath,
        run_id: str,
        lease_s: int = DEFAULT_LEASE_S,
        *,
        command: str = "",
        sudo: bool = True,
        mutex_wait_s: int = 30,
        monotonic: Callable[[], float] = time.monotonic,
        crashed_run_id: str = "",
    ) -> RemoteLock:
        """Take the host's lock, or take over an expired one (logged as a warning).

        With ``crashed_run_id`` (a holder proven dead, see ``LockHolder.crashed_here``), that
        run's lease is replaced even before it expires, atomically on the host: if another
        run holds the lock by then, that run's lease is left alone (``LockHeld``).

        Raises:
            LockHeld: another run holds an unexpired lease (or kept the mutex too long).
            CommandFailed: the script failed otherwise (no ``sh``/``flock``, no permission).
        """
        holder = LockHolder.for_this_process(run_id, command)
        op = "take_over" if crashed_run_id else "acquire"
        answer = _run_script(
            transport, op, path, holder, lease_s, sudo, mutex_wait_s, expected=crashed_run_id
        )
        host = transport.host.name
        if answer.result in {"held", "busy"}:
            raise LockHeld(
                path=str(path),
                holder=answer.previous if answer.result == "held" else None,
                host=host,
                now=answer.now,
                hint=(
                    "another deployer run is changing this host; wait for it, or if it crashed, "
                    "for its lease to expire"
                ),
            )
        _expect(answer, {"acquired", "taken_over"}, transport, path)
        took_over = answer.previous if answer.result == "taken_over" else None
        if took_over is not None:
            _log.warning(
                "[%s] took over an expired lock %s from %s",
                host,
                path,
                took_over.describe(now=answer.now),
            )
        now = answer.now or 0.0
        return cls(
            host=host,
            path=path,
            holder=replace(holder, acquired_at=now, expires_at=now + lease_s),
            lease_s=lease_s,
            expires_at=now + lease_s,
            renewed_at_monotonic=monotonic(),
            took_over_from=took_over,
        )

    def renew(
        self,
        transport: Transport,
        *,
        sudo: bool = True,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> RemoteLock:
        """Extend the lease by ``lease_s`` from now (host clock).

        Raises:
            LockLost: the lease expired and another run took the lock: stop touching the host.
        """
        answer = _run_script(transport, "renew", self.path, self.holder, self.lease_s, sudo, 30)
        if answer.result == "lost":
            raise LockLost(
                path=str(self.path),
                holder=answer.previous,
                host=self.host,
                now=answer.now,
                hint="this run's lease expired and another run took the lock; nothing more "
                "was changed on this host by this run",
            )
        if answer.result == "busy":
            raise LockHeld(path=str(self.path), holder=None, host=self.host)
        _expect(answer, {"renewed"}, transport, self.path)
        expires = (answer.now or 0.0) + self.lease_s
        return replace(
            self,
            expires_at=expires,
            holder=replace(self.holder, expires_at=expires),
            renewed_at_monotonic=monotonic(),
        )

    def is_renewal_due(self, now_monotonic: float) -> bool:
        """Return True once a third of the lease has passed since the last acquire/renew."""
        return now_monotonic - self.renewed_at_monotonic >= self.lease_s * _RENEW_FRACTION

    def renew_if_due(
        self, transport: Transport, *, monotonic: Callable[[], float] = time.monotonic
    ) -> RemoteLock:
        """Renew only when due, so steps can call this freely (one command per renewal).

        Raises:
            LockLost: see :meth:`renew`.
        """
        if self.is_renewal_due(monotonic()):
            return self.renew(transport, monotonic=monotonic)
        return self

    def release(self, transport: Transport, *, sudo: bool = True) -> bool:
        """Remove the lock file if this run still holds it; return True when it was removed.

        A lock that another run took over is left alone (logged): removing it would free a
        host that run is changing.
        """
        answer = _run_script(transport, "release", self.path, self.holder, 0, sudo, 30)
        if answer.result == "not_owner":
            who = answer.previous.describe(now=answer.now) if answer.previous else "another run"
            _log.warning("[%s] lock %s now belongs to %s; left in place", self.host, self.path, who)
        return answer.result == "released"

    @staticmethod
    def inspect(
        transport: Transport, path: PurePosixPath, *, sudo: bool = True
    ) -> LockHolder | None:
        """Return who holds the host's lock (expired or not), without taking it."""
        content = transport.read(path, sudo=sudo)
        if not content:
            return None
        fields: dict[str, str] = {}
        for line in content.decode("utf-8", "replace").splitlines():
            key, sep, value = line.partition("=")
            if sep:
                fields.setdefault(key, value)
        return LockHolder.from_fields(fields)


def _run_script(
    transport: Transport,
    op: str,
    path: PurePosixPath,
    holder: LockHolder,
    lease_s: int,
    sudo: bool,
    mutex_wait_s: int,
    *,
    expected: str = "",
) -> LockAnswer:
    argv = remote_lock_argv(
        op, path, holder, lease_s=lease_s, mutex_wait_s=mutex_wait_s, expected_run_id=expected
    )
    result = transport.run(
        argv,
        sudo=sudo,
        ok_exit_codes=(0, _EXIT_BUSY, _EXIT_HELD, _EXIT_LOST),
        timeout_s=mutex_wait_s + 30.0,
    )
    return parse_lock_answer(result.stdout)


def _expect(
    answer: LockAnswer, results: Sequence[str] | set[str], transport: Transport, path: PurePosixPath
) -> None:
    if answer.result not in results:
        raise errors.TransportError(
            f"the lock script on {path} answered {answer.result!r}; expected one of "
            f"{', '.join(sorted(results))}",
            host=transport.host.name,
        )
