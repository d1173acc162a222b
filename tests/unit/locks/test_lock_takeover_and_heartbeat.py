"""A crashed run's lease is taken over only when provably dead here, atomically; a lease is
renewed by a heartbeat, and once lost the host is fenced off."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import time
from pathlib import Path, PurePosixPath

import pytest
from lock_transport import LocalExecTransport

from deployer.locks import LOCK_FILE_NAME, LockHeld, LockHolder, LockLost, RemoteLock
from deployer.locks.heartbeat import Heartbeat, LeasedTransport, lease_for


@pytest.fixture
def lock_path(tmp_path: Path) -> PurePosixPath:
    return PurePosixPath(tmp_path / "tmp" / LOCK_FILE_NAME)


def _dead_holder(run_id: str) -> LockHolder:
    """The identity of a process that ran on this machine and is gone now."""
    code = (
        "from deployer.locks import LockHolder; import dataclasses, json;"
        f"print(json.dumps(dataclasses.asdict(LockHolder.for_this_process({run_id!r}))))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    return LockHolder(**json.loads(done.stdout))


def test_this_process_is_not_crashed() -> None:
    assert not LockHolder.for_this_process("me").crashed_here()


def test_a_finished_process_of_this_machine_is_crashed() -> None:
    assert _dead_holder("gone").crashed_here()


@pytest.mark.parametrize(
    "change",
    [
        {"boot_id": "another-boot"},
        {"pid_ns": "4026530000"},
        {"workstation": "another-host"},
        {"proc_start": ""},
        {"boot_id": ""},
    ],
    ids=["other-boot", "other-container", "other-host", "old-record", "no-boot-id"],
)
def test_a_holder_that_cannot_be_proven_dead_here_is_not_crashed(change: dict[str, str]) -> None:
    holder = dataclasses.replace(_dead_holder("gone"), **change)
    assert not holder.crashed_here()


def test_a_reused_pid_is_recognised_by_its_start_time() -> None:
    me = LockHolder.for_this_process("me")
    assert dataclasses.replace(me, proc_start=str(int(me.proc_start) - 1)).crashed_here()


def test_take_over_replaces_the_crashed_runs_unexpired_lease(
    transport: LocalExecTransport, lock_path: PurePosixPath
) -> None:
    RemoteLock.acquire(transport, lock_path, "crashed-run", 900)
    lock = RemoteLock.acquire(transport, lock_path, "next-run", 900, crashed_run_id="crashed-run")
    assert lock.took_over_from is not None
    assert lock.took_over_from.run_id == "crashed-run"
    assert "run_id=next-run" in Path(lock_path).read_text()


def test_take_over_never_replaces_a_lock_another_run_took_meanwhile(
    transport: LocalExecTransport, lock_path: PurePosixPath
) -> None:
    RemoteLock.acquire(transport, lock_path, "third-run", 900)  # took it after the crash
    with pytest.raises(LockHeld):
        RemoteLock.acquire(transport, lock_path, "next-run", 900, crashed_run_id="crashed-run")
    assert "run_id=third-run" in Path(lock_path).read_text()


def test_the_lease_records_the_holders_identity(
    transport: LocalExecTransport, lock_path: PurePosixPath
) -> None:
    RemoteLock.acquire(transport, lock_path, "run-1", 60)
    held = RemoteLock.inspect(transport, lock_path, sudo=False)
    assert held is not None
    me = LockHolder.for_this_process("run-1")
    assert (held.boot_id, held.pid_ns, held.proc_start) == (me.boot_id, me.pid_ns, me.proc_start)
    assert not any(
        p.name.startswith(f"{LOCK_FILE_NAME}.tmp") for p in Path(lock_path).parent.iterdir()
    )


def test_heartbeat_renews_and_a_lost_lease_fences_the_host(
    transport: LocalExecTransport, lock_path: PurePosixPath
) -> None:
    lock = RemoteLock.acquire(transport, lock_path, "run-1", 60)
    beat = Heartbeat(lock, transport, sudo=False, interval_s=0.05).start()
    fenced = LeasedTransport(transport, beat)
    try:
        deadline = time.monotonic() + 20
        while beat.renewals < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert beat.renewals >= 2
        assert fenced.run(["true"]).ok
        now = int(time.time())
        Path(lock_path).write_text(f"run_id=other\nacquired_at={now}\nexpires_at={now + 600}\n")
        while beat.lost is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert beat.lost is not None
        with pytest.raises(LockLost):
            fenced.run(["true"])
        with pytest.raises(LockLost):
            fenced.read(PurePosixPath(lock_path))
    finally:
        beat.stop()
    assert "run_id=other" in Path(lock_path).read_text(), "the other run's lease is untouched"


def test_lease_outlasts_the_longest_step() -> None:
    assert lease_for(900, 300, 330) == 900
    assert lease_for(60, 600) >= 600
    assert lease_for(900, 7200) > 7200
