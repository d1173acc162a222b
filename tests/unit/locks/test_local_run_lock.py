from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from deployer.errors import ExitCode, exit_code_for
from deployer.locks import LocalRunLock, LockHeld, default_local_lock_path

_HOLDER = """
import sys
from pathlib import Path
from deployer.locks import LocalRunLock
lock = LocalRunLock.acquire(Path(sys.argv[1]), run_id="cron-run", command="converge")
print("held", flush=True)
sys.stdin.read()
"""


def test_second_run_is_refused_at_once_with_the_holders_pid_and_start(tmp_path: Path) -> None:
    path = tmp_path / "deployer.lock"
    with LocalRunLock.acquire(path, run_id="first", command="converge", clock=lambda: 1.0e9):
        started = time.monotonic()
        with pytest.raises(LockHeld) as caught:
            LocalRunLock.acquire(path, run_id="second")
        assert time.monotonic() - started < 1.0
    err = caught.value
    assert exit_code_for(err) is ExitCode.LOCKED
    assert err.holder is not None
    assert err.holder.pid == os.getpid()
    assert err.holder.run_id == "first"
    assert err.holder.acquired_at == 1.0e9
    assert f"pid {os.getpid()}" in str(err)
    assert "2001-09-09T01:46:40Z" in str(err)


def test_release_lets_the_next_run_in_and_keeps_the_file(tmp_path: Path) -> None:
    path = tmp_path / "deployer.lock"
    lock = LocalRunLock.acquire(path, run_id="one")
    lock.release()
    lock.release()  # twice is harmless
    assert path.exists()
    assert path.read_text() == ""
    with LocalRunLock.acquire(path, run_id="two") as again:
        assert again.holder.run_id == "two"
        assert '"run_id": "two"' in path.read_text()
    assert oct(path.stat().st_mode & 0o777) == oct(0o600)


def test_a_killed_holders_lock_disappears_with_its_process(tmp_path: Path) -> None:
    path = tmp_path / "deployer.lock"
    child = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "held"
        with pytest.raises(LockHeld) as caught:
            LocalRunLock.acquire(path, run_id="operator")
        assert caught.value.holder is not None
        assert caught.value.holder.pid == child.pid
        assert caught.value.holder.run_id == "cron-run"
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            os.kill(child.pid, signal.SIGKILL)
            child.wait(timeout=10)
    with LocalRunLock.acquire(path, run_id="operator") as lock:
        assert lock.holder.pid == os.getpid()


def test_a_holder_that_has_not_written_its_record_yet_is_reported_as_starting(
    tmp_path: Path,
) -> None:
    import fcntl

    path = tmp_path / "deployer.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        with pytest.raises(LockHeld, match="still starting") as caught:
            LocalRunLock.acquire(path, run_id="late")
        assert caught.value.holder is None
    finally:
        os.close(fd)


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"XDG_RUNTIME_DIR": "/run/user/1000", "HOME": "/home/op"}, "/run/user/1000/deployer.lock"),
        ({"XDG_STATE_HOME": "/var/lib/x", "HOME": "/home/op"}, "/var/lib/x/deployer/deployer.lock"),
        ({"HOME": "/home/op"}, "/home/op/.local/state/deployer/deployer.lock"),
        ({"XDG_RUNTIME_DIR": "relative", "HOME": "/h"}, "/h/.local/state/deployer/deployer.lock"),
    ],
)
def test_default_lock_path_follows_xdg(env: dict[str, str], expected: str) -> None:
    assert default_local_lock_path(env) == Path(expected)


def test_docstring_example_holds() -> None:
    import doctest

    import deployer.locks.local as local

    result = doctest.testmod(local, raise_on_error=False)
    assert result.attempted >= 1
    assert result.failed == 0
