"""SIGINT and SIGTERM behave alike: stop at once before a rollout, once/twice during one."""

from __future__ import annotations

import os
import signal
import threading

import pytest

from deployer.cli import signals
from deployer.cli.signals import Interrupted, handle_interrupts


def _signal_and_wait(signum: int, wait_s: float = 5.0) -> None:
    """Send a signal to this process and wait; the handler raises in the main thread."""
    os.kill(os.getpid(), signum)
    threading.Event().wait(wait_s)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_before_a_rollout_the_first_signal_stops_at_once(signum: int) -> None:
    with handle_interrupts() as interrupts, pytest.raises(Interrupted):
        _signal_and_wait(signum)
    assert interrupts.first == signum


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_during_a_rollout_once_stops_after_the_host_and_twice_aborts(signum: int) -> None:
    announced: list[int] = []
    with handle_interrupts(on_first_stop=announced.append) as interrupts:
        interrupts.rollout_started()
        os.kill(os.getpid(), signum)
        assert interrupts.stop.requested
        assert announced == [signum]
        with pytest.raises(Interrupted):
            _signal_and_wait(signal.SIGINT)


def test_sigterm_grace_ends_in_an_abort(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(signals, "TERM_GRACE_S", 0.2)
    with handle_interrupts() as interrupts:
        interrupts.rollout_started()
        os.kill(os.getpid(), signal.SIGTERM)
        with pytest.raises(Interrupted):  # the grace timer delivers the second signal
            threading.Event().wait(10)


def test_ctrl_c_has_no_grace_timer() -> None:
    with handle_interrupts() as interrupts:
        interrupts.rollout_started()
        os.kill(os.getpid(), signal.SIGINT)
        assert interrupts.stop.requested
        threading.Event().wait(0.1)  # nothing fires: only a second Ctrl-C aborts


def test_previous_handlers_come_back() -> None:
    before = signal.getsignal(signal.SIGTERM)
    with handle_interrupts():
        assert signal.getsignal(signal.SIGTERM) is not before
    assert signal.getsignal(signal.SIGTERM) is before
