"""Who holds a lock, and the error that says so (exit 7)."""

from __future__ import annotations

import getpass
import os
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass

from deployer import errors

__all__ = ["LockHeld", "LockHolder", "LockLost"]


@dataclass(frozen=True, slots=True)
class LockHolder:
    """Who holds (or held) a lock, as its lock file says."""

    run_id: str = ""
    pid: int | None = None
    workstation: str = ""
    user: str = ""
    command: str = ""
    #: Unix time the holder took the lock (the host's clock for a remote lock).
    acquired_at: float | None = None
    #: Remote leases only: Unix time (host clock) after which the lock may be taken over.
    expires_at: float | None = None
    #: The holder's process identity beyond its pid (Linux; empty elsewhere): the kernel's
    #: boot id, the pid namespace and the process start time (clock ticks since boot). A pid
    #: alone is reused, and containers that share a host name have separate pid spaces.
    boot_id: str = ""
    pid_ns: str = ""
    proc_start: str = ""

    def describe(self, *, now: float | None = None) -> str:
        """Return a one-line description for messages (``run X (pid 12 on ws, user u) ...``)."""
        who = f"run {self.run_id or '?'}"
        where = ", ".join(
            part
            for part in (
                f"pid {self.pid}" if self.pid is not None else "",
                f"on {self.workstation}" if self.workstation else "",
                f"user {self.user}" if self.user else "",
                self.command,
            )
            if part
        )
        text = f"{who} ({where})" if where else who
        if self.acquired_at:
            started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.acquired_at))
            text += f", started {started}"
        if self.expires_at is not None and now is not None:
            text += f", lease expires in {max(int(self.expires_at - now), 0)} s"
        return text

    @classmethod
    def from_fields(cls, fields: Mapping[str, str]) -> LockHolder:
        """Build a holder from ``key=value`` fields; unknown or malformed values are ignored."""

        def number(key: str) -> float | None:
            try:
                return float(fields[key])
            except (KeyError, ValueError):
                return None

        pid = number("pid")
        return cls(
            run_id=fields.get("run_id", ""),
            pid=int(pid) if pid is not None else None,
            workstation=fields.get("workstation", ""),
            user=fields.get("user", ""),
            command=fields.get("command", ""),
            acquired_at=number("acquired_at"),
            expires_at=number("expires_at"),
            boot_id=fields.get("boot_id", ""),
            pid_ns=fields.get("pid_ns", ""),
            proc_start=fields.get("proc_start", ""),
        )

    @classmethod
    def for_this_process(cls, run_id: str, command: str = "") -> LockHolder:
        """Describe the current process as a lock holder (pid, hostname, user)."""
        try:
            user = getpass.getuser()
        except (KeyError, OSError):  # no passwd entry in some containers
            user = str(os.getuid())
        pid = os.getpid()
        return cls(
            run_id=run_id,
            pid=pid,
            workstation=socket.gethostname(),
            user=user,
            command=command,
            boot_id=_boot_id(),
            pid_ns=_pid_namespace(),
            proc_start=_process_start(pid) or "",
        )

    def crashed_here(self) -> bool:
        """True only when this holder is provably a dead process of this very machine.

        Same host name, same boot, same pid namespace, and its pid is gone or now belongs to a
        process that started at another time. Anything not provable (another machine or
        container, a record without identity) is False: that lease must expire instead.
        """
        if not (self.pid and self.boot_id and self.pid_ns and self.proc_start):
            return False
        if (self.workstation, self.boot_id, self.pid_ns) != (
            socket.gethostname(),
            _boot_id(),
            _pid_namespace(),
        ):
            return False
        return _process_start(self.pid) != self.proc_start


def _read(path: str) -> str:
    try:
        with open(path, encoding="ascii", errors="replace") as handle:
            return handle.read().strip()
    except OSError:
        return ""


def _boot_id() -> str:
    return _read("/proc/sys/kernel/random/boot_id")


def _pid_namespace() -> str:
    try:
        return os.readlink("/proc/self/ns/pid").removeprefix("pid:").strip("[]")
    except OSError:
        return ""


def _process_start(pid: int) -> str | None:
    """The process's start time (field 22 of /proc/<pid>/stat), or None when there is none."""
    stat = _read(f"/proc/{pid}/stat")
    if not stat:
        return None
    fields = stat.rsplit(")", 1)[-1].split()
    return fields[19] if len(fields) > 19 else None


class LockHeld(errors.LockHeld):
    """Another run holds the lock (exit 7); carries the holder, so the message says who.

    A subclass of :class:`deployer.errors.LockHeld`, so the command line's single error
    boundary maps it to exit 7 without knowing about this module.
    """

    def __init__(
        self,
        *,
        path: str,
        holder: LockHolder | None,
        host: str | None = None,
        now: float | None = None,
        hint: str | None = None,
    ) -> None:
        where = f"[{host}] " if host else ""
        who = holder.describe(now=now) if holder else "a run that is still starting"
        super().__init__(
            f"{where}locked: {path} is held by {who}",
            hint=hint or "wait for that run to finish; a crashed run's lock is released for you",
        )
        self.path = path
        self.holder = holder
        self.host = host


class LockLost(LockHeld):
    """This run's remote lease was taken over (it expired): stop before touching the host."""
