"""Take a host's lock for a run: a lease long enough for its steps, crashed holders taken over."""

from __future__ import annotations

from deployer.locks import LOCK_FILE_NAME, LockHeld, RemoteLock
from deployer.locks.heartbeat import lease_for
from deployer.model.events import EventKind
from deployer.phases.context import HostContext

__all__ = ["take_host_lock"]


def take_host_lock(ctx: HostContext, *, lease_s: int, command: str) -> RemoteLock:
    """Take the host's lease (sized to outlast the longest step); take over a crashed run's.

    Raises:
        LockHeld: another live run holds it (exit 7).
    """
    path = ctx.path(ctx.state.backup_dir) / LOCK_FILE_NAME
    ctx.run(["mkdir", "-p", "-m", "0700", str(path.parent)])

    def acquire(crashed_run_id: str) -> RemoteLock:
        return RemoteLock.acquire(
            ctx.transport,
            path,
            ctx.run_id,
            lease_for(
                lease_s,
                ctx.state.restart_timeout_s,
                ctx.state.ready_timeout_s + ctx.state.soak_s,
            ),
            command=command,
            sudo=ctx.state.become,
            monotonic=ctx.clock.monotonic,
            crashed_run_id=crashed_run_id,
        )

    try:
        return acquire("")
    except LockHeld as exc:
        holder = exc.holder
        # A holder proven dead on this very machine (same boot, pid namespace, and its pid
        # gone or reused) crashed: its lease would block every run until it expires. The
        # take-over is checked again on the host, under the lock's mutex, by run id.
        if holder is not None and holder.run_id and holder.crashed_here():
            ctx.emit(
                "preflight",
                EventKind.WARN,
                f"taking over the lock of a crashed run: {holder.describe()}",
            )
            return acquire(holder.run_id)
        raise
