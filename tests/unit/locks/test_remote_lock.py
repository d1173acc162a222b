from __future__ import annotations

import dataclasses
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path, PurePosixPath

import pytest
from lock_transport import LocalExecTransport

from deployer.errors import ExitCode, exit_code_for
from deployer.locks import (
    LOCK_FILE_NAME,
    LockAnswer,
    LockHeld,
    LockHolder,
    LockLost,
    RemoteLock,
    parse_lock_answer,
    remote_lock_argv,
)
from deployer.locks.remote import _SCRIPT


@pytest.fixture
def lock_path(tmp_path: Path) -> PurePosixPath:
    # The folder does not exist yet: the script creates it (0700, like the backup folder).
    return PurePosixPath(tmp_path / "etc" / "kubernetes" / "tmp" / LOCK_FILE_NAME)


def _fields(path: PurePosixPath) -> dict[str, str]:
    return dict(line.split("=", 1) for line in Path(path).read_text().splitlines())


def test_acquire_writes_a_lease_naming_the_run(
    transport: LocalExecTransport, lock_path: PurePosixPath
) -> None:
    lock = RemoteLock.acquire(transport, lock_path, "run-1", 120, command="converge")
    fields = _fields(lock_path)
    assert fields["run_id"] == "run-1"
    assert fields["pid"] == str(os.getpid())
    assert fields["command"] == "converge"
    assert int(fields["expires_at"]) - int(fields["acquired_at"]) == 120
    assert lock.expires_at == float(fields["expires_at"])
    assert lock.took_over_from is None
    assert Path(lock_path).stat().st_mode & 0o777 == 0o600
    assert Path(lock_path).parent.stat().st_mode & 0o777 == 0o700
    assert len(transport.commands) == 1  # one remote command per operation


def test_a_second_run_is_refused_with_the_holders_details(
    transport: LocalExecTransport, lock_path: PurePosixPath
) -> None:
    RemoteLock.acquire(transport, lock_path, "cron-1", 600)
    before = Path(lock_path).read_text()
    with pytest.raises(LockHeld) as caught:
        RemoteLock.acquire(LocalExecTransport(), lock_path, "operator-7", 600)
    err = caught.value
    assert exit_code_for(err) is ExitCode.LOCKED
    assert err.host == "cp1"
    assert err.holder is not None
    assert err.holder.run_id == "cron-1"
    assert err.holder.pid == os.getpid()
    assert "cron-1" in str(err)
    assert "lease expires in" in str(err)
    assert Path(lock_path).read_text() == before


def test_an_expired_lease_is_taken_over_with_a_warning(
    transport: LocalExecTransport, lock_path: PurePosixPath, caplog: pytest.LogCaptureFixture
) -> None:
    RemoteLock.acquire(transport, lock_path, "crashed-run", 0)  # expires at once
    with caplog.at_level(logging.WARNING, logger="deployer.locks.remote"):
        lock = RemoteLock.acquire(transport, lock_path, "next-run", 600)
    assert lock.took_over_from is not None
    assert lock.took_over_from.run_id == "crashed-run"
    assert _fields(lock_path)["run_id"] == "next-run"
    assert any("took over an expired lock" in r.getMessage() for r in caplog.records)


def test_renew_extends_the_lease_and_keeps_the_start(
    transport: LocalExecTransport, lock_path: PurePosixPath
) -> None:
    lock = RemoteLock.acquire(transport, lock_path, "run-1", 5)
    acquired = _fields(lock_path)["acquired_at"]
    renewed = dataclasses.replace(lock, lease_s=500).renew(transport)
    assert renewed.expires_at >= lock.expires_at + 495
    assert _fields(lock_path)["acquired_at"] == acquired
    assert float(_fields(lock_path)["expires_at"]) == renewed.expires_at


def test_renew_after_a_takeover_says_the_lock_is_lost(
    transport: LocalExecTransport, lock_path: PurePosixPath
) -> None:
    stale = RemoteLock.acquire(transport, lock_path, "slow-run", 0)
    RemoteLock.acquire(transport, lock_path, "new-run", 600)
    with pytest.raises(LockLost) as caught:
        stale.renew(transport)
    assert exit_code_for(caught.value) is ExitCode.LOCKED
    assert caught.value.holder is not None
    assert caught.value.holder.run_id == "new-run"


def test_release_removes_only_our_own_lock(
    transport: LocalExecTransport, lock_path: PurePosixPath, caplog: pytest.LogCaptureFixture
) -> None:
    stale = RemoteLock.acquire(transport, lock_path, "slow-run", 0)
    current = RemoteLock.acquire(transport, lock_path, "new-run", 600)
    with caplog.at_level(logging.WARNING, logger="deployer.locks.remote"):
        assert stale.release(transport) is False
    assert _fields(lock_path)["run_id"] == "new-run"
    assert any("left in place" in r.getMessage() for r in caplog.records)
    assert current.release(transport) is True
    assert not Path(lock_path).exists()
    assert current.release(transport) is False  # already gone: nothing to do


def test_concurrent_runs_never_both_get_the_lock(lock_path: PurePosixPath) -> None:
    winners: list[str] = []
    refused: list[str] = []
    guard = threading.Lock()

    def contend(run_id: str) -> None:
        try:
            RemoteLock.acquire(LocalExecTransport(), lock_path, run_id, 600)
        except LockHeld:
            with guard:
                refused.append(run_id)
        else:
            with guard:
                winners.append(run_id)

    threads = [threading.Thread(target=contend, args=(f"run-{i}",)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(winners) == 1
    assert len(refused) == 5
    assert _fields(lock_path)["run_id"] == winners[0]


_MUTEX_HOLDER = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
fcntl.flock(fd, fcntl.LOCK_EX)
print("held", flush=True)
sys.stdin.read()
"""


def test_a_run_killed_inside_the_critical_section_blocks_nobody(
    transport: LocalExecTransport, lock_path: PurePosixPath
) -> None:
    Path(lock_path).parent.mkdir(parents=True)
    holder = subprocess.Popen(
        [sys.executable, "-c", _MUTEX_HOLDER, f"{lock_path}.mutex"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(LockHeld, match="still starting"):
            RemoteLock.acquire(transport, lock_path, "waiting-run", 600, mutex_wait_s=1)
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(timeout=10)
    finally:
        if holder.poll() is None:
            os.kill(holder.pid, signal.SIGKILL)
            holder.wait(timeout=10)
    lock = RemoteLock.acquire(transport, lock_path, "waiting-run", 600, mutex_wait_s=1)
    assert lock.holder.run_id == "waiting-run"


def test_inspect_reads_the_holder_without_taking_the_lock(
    transport: LocalExecTransport, lock_path: PurePosixPath
) -> None:
    assert RemoteLock.inspect(transport, lock_path) is None
    RemoteLock.acquire(transport, lock_path, "run-1", 60)
    holder = RemoteLock.inspect(transport, lock_path)
    assert holder is not None
    assert holder.run_id == "run-1"
    assert holder.expires_at is not None
    assert len(transport.commands) == 1  # inspect only read the file


def test_renew_if_due_renews_after_a_third_of_the_lease() -> None:
    now = [100.0]
    lock = RemoteLock(
        host="cp1",
        path=PurePosixPath("/etc/kubernetes/tmp/deployer.lock"),
        holder=LockHolder(run_id="r"),
        lease_s=300,
        expires_at=1300.0,
        renewed_at_monotonic=100.0,
    )
    assert not lock.is_renewal_due(199.0)
    assert lock.is_renewal_due(200.0)
    # Not due: no command is sent at all (the transport would fail if used).
    assert lock.renew_if_due(LocalExecTransport(), monotonic=lambda: now[0]) is lock


def test_parse_lock_answer_reads_the_previous_holder() -> None:
    out = (
        "now=1700000100\n"
        "holder.run_id=cron-1\nholder.workstation=ws1\nholder.user=deployer\n"
        "holder.pid=4242\nholder.command=converge\n"
        "holder.acquired_at=1700000000\nholder.expires_at=1700000900\n"
        "result=held\n"
    )
    answer = parse_lock_answer(out)
    assert answer == LockAnswer(
        result="held",
        now=1700000100.0,
        previous=LockHolder(
            run_id="cron-1",
            pid=4242,
            workstation="ws1",
            user="deployer",
            command="converge",
            acquired_at=1700000000.0,
            expires_at=1700000900.0,
        ),
    )
    assert answer.previous is not None
    assert "lease expires in 800 s" in answer.previous.describe(now=answer.now)


@pytest.mark.parametrize(
    ("stdout", "result"),
    [("", "unknown"), ("now=oops\nresult=acquired\n", "acquired"), ("garbage", "unknown")],
)
def test_parse_lock_answer_tolerates_odd_output(stdout: str, result: str) -> None:
    answer = parse_lock_answer(stdout)
    assert answer.result == result
    assert answer.now is None
    assert answer.previous is None


def test_lock_argv_passes_values_as_parameters_not_script_text() -> None:
    holder = LockHolder(run_id="r-1", workstation="ws one\nevil=1", user="u", pid=7)
    argv = remote_lock_argv("acquire", PurePosixPath("/x/deployer.lock"), holder, lease_s=60)
    assert argv[:3] == ["sh", "-c", _SCRIPT]
    assert argv[4:8] == ["acquire", "/x/deployer.lock", "r-1", "60"]
    owner = dict(line.split("=", 1) for line in argv[8].splitlines())
    assert owner["workstation"] == "ws_one_evil_1"  # no newline can forge a field


@pytest.mark.parametrize(
    ("op", "path", "run_id"),
    [
        ("steal", "/x/deployer.lock", "r"),
        ("acquire", "relative/deployer.lock", "r"),
        ("acquire", "/x/deployer.lock", "r;rm -rf /"),
        ("acquire", "/x/deployer.lock", ""),
    ],
)
def test_lock_argv_refuses_impossible_inputs(op: str, path: str, run_id: str) -> None:
    with pytest.raises(ValueError, match=r"operation|absolute|run ids"):
        remote_lock_argv(op, PurePosixPath(path), LockHolder(run_id=run_id))


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="shellcheck is not installed")
def test_the_lock_script_is_shellcheck_clean() -> None:
    proc = subprocess.run(
        ["shellcheck", "-s", "sh", "-"], input=_SCRIPT, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stdout
