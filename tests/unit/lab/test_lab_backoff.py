"""kubelet's crash-loop back-off as the stand-in keeps it (pure, with explicit times)."""

from __future__ import annotations

from deployer.lab.kubelet.housekeeping import BACKOFF_MAX_S, take_backoff
from deployer.lab.kubelet.records import BackoffEntry, KubeletState


def test_first_restart_is_immediate_then_back_off_doubles_up_to_the_maximum() -> None:
    state = KubeletState()
    key = "uid/kube-apiserver"
    assert take_backoff(state, key, finished_at_s=100.0, scale=1.0, now=100.5) is None
    assert state.backoff[key] == BackoffEntry(10.0, 100.5)

    held = take_backoff(state, key, finished_at_s=101.0, scale=1.0, now=105.0)
    assert held == BackoffEntry(10.0, 100.5)  # 4 s after the exit: still held back
    assert take_backoff(state, key, finished_at_s=101.0, scale=1.0, now=111.0) is None
    assert state.backoff[key].backoff_s == 20.0

    state.backoff[key] = BackoffEntry(BACKOFF_MAX_S, 1000.0)
    assert take_backoff(state, key, finished_at_s=1000.0, scale=1.0, now=1300.0) is None
    assert state.backoff[key].backoff_s == BACKOFF_MAX_S


def test_back_off_is_scaled_and_forgotten_after_twice_the_maximum() -> None:
    state = KubeletState(backoff={"k": BackoffEntry(3.0, 0.0)})
    # 2 x 300 s x 0.1 = 60 s without an update: forgotten, so no hold and the initial value.
    assert take_backoff(state, "k", finished_at_s=60.5, scale=0.1, now=61.0) is None
    assert state.backoff["k"] == BackoffEntry(1.0, 61.0)
