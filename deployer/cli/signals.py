"""Ctrl-C (SIGINT) and SIGTERM for the commands that talk to hosts: one behaviour for both.

Why SIGTERM too: ``systemctl stop``, a unit's ``TimeoutStartSec`` and container runtimes stop a
run with SIGTERM, and a run killed without a report, metrics or history line is one the alerts
never see. So SIGTERM is treated as an operator's Ctrl-C:

* before any host is being changed (connecting, observing, planning), the first signal stops
  the command at once: :class:`Interrupted` is raised in the main thread, nothing was touched,
  and the command exits 3 with its report written;
* during a rollout, the first signal asks the rollout to stop after the current host (it is
  finished, or rolled back); the second aborts at once (the report says where the host was
  left, exit 4). A SIGTERM also starts a bounded grace (:data:`TERM_GRACE_S`): a current host
  still busy when it ends is aborted as by a second signal, so the report is written before
  the supervisor's own kill timeout (systemd: 90 s by default).
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

from deployer.model.events import StopSignal

__all__ = ["TERM_GRACE_S", "Interrupted", "Interrupts", "handle_interrupts"]

#: Seconds a first SIGTERM leaves the current host to finish or roll back (systemd's default
#: stop timeout is 90 s; the report must be out before it).
TERM_GRACE_S = 60.0

_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(KeyboardInterrupt):
    """An interrupt (Ctrl-C or SIGTERM) that stops the command; carries the signal's name."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class Interrupts:
    """The handlers' state: whether a rollout is under way, and whether a stop was asked."""

    def __init__(self, *, on_first_stop: Callable[[int], None] | None = None) -> None:
        #: The rollout's stop request (model/events.py: importing it loads nothing else).
        self.stop = StopSignal()
        self._rolling_out = False
        self._on_first_stop = on_first_stop
        self._grace: threading.Timer | None = None
        #: The first signal received, if any (``signal.SIGINT`` or ``signal.SIGTERM``).
        self.first: int | None = None

    def rollout_started(self) -> None:
        """From now on the first signal stops after the current host instead of at once."""
        self._rolling_out = True

    def handler(self, signum: int, frame: FrameType | None) -> None:
        """The signal handler (runs in the main thread, between bytecodes)."""
        if not self._rolling_out or self.stop.requested:
            if self.first is None:
                self.first = signum
            raise Interrupted(signum)
        self.first = signum
        self.stop.request()
        if self._on_first_stop is not None:
            self._on_first_stop(signum)
        if signum == signal.SIGTERM:
            self._grace = threading.Timer(TERM_GRACE_S, self._grace_over)
            self._grace.daemon = True
            self._grace.start()

    def _grace_over(self) -> None:
        # Deliver the "second signal" to the main thread, where the handler raises.
        os.kill(os.getpid(), signal.SIGTERM)

    def cancel_grace(self) -> None:
        """Stop the grace timer (the rollout ended on its own)."""
        if self._grace is not None:
            self._grace.cancel()


@contextmanager
def handle_interrupts(
    *, on_first_stop: Callable[[int], None] | None = None
) -> Iterator[Interrupts]:
    """Install the SIGINT/SIGTERM handlers for one command; restore the previous ones after.

    Outside the main thread (an embedding program) signals cannot be handled here: the
    handlers are left alone and only the state object is returned.
    """
    interrupts = Interrupts(on_first_stop=on_first_stop)
    if threading.current_thread() is not threading.main_thread():
        yield interrupts
        return
    previous = {s: signal.getsignal(s) for s in _SIGNALS}
    for s in _SIGNALS:
        signal.signal(s, interrupts.handler)
    try:
        yield interrupts
    finally:
        interrupts.cancel_grace()
        for s, handler in previous.items():
            signal.signal(s, handler)
