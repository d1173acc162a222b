"""Background: start once, read the value later; nothing started reads as None."""

from __future__ import annotations

import threading

from deployer.rollout.background import Background


def test_the_value_is_read_after_the_call_returns_in_its_own_thread() -> None:
    release = threading.Event()
    seen: list[str] = []

    def call() -> int:
        seen.append(threading.current_thread().name)
        release.wait(5)
        return 42

    job: Background[int] = Background("job")
    assert not job.started and job.result() is None
    job.start(call)
    assert job.started
    release.set()
    assert job.result() == 42
    assert seen == ["job"]
