"""The stand-in's life: starting (post-start hooks not finished), ready, shutting down.

Why: the tool must wait for evidence of a restart and then for ``/readyz``; a real apiserver
answers ``/livez`` early while ``/readyz`` still fails its post-start hooks, and on SIGTERM fails
``/readyz`` (``[-]shutdown failed``) before it stops listening. The lab reproduces both windows.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

__all__ = ["Lifecycle"]


class Lifecycle:
    """Track startup and shutdown of one server process.

    Args:
        ready_after_s: how long the post-start hooks take (``DEPLOYER_LAB_READY_DELAY_S``, or
            the slow-start fault's delay).
        clock: monotonic clock, injectable for tests.
        shutdown: the event SIGTERM sets (installed before startup, as the real signal handler).
    """

    def __init__(
        self,
        ready_after_s: float,
        clock: Callable[[], float] = time.monotonic,
        shutdown: threading.Event | None = None,
    ) -> None:
        self._clock = clock
        self._ready_at = clock() + max(0.0, ready_after_s)
        self._shutdown = threading.Event() if shutdown is None else shutdown

    @property
    def hooks_finished(self) -> bool:
        """Whether the startup moment is over (post-start hooks done)."""
        return self._clock() >= self._ready_at

    @property
    def shutting_down(self) -> bool:
        """Whether SIGTERM was received."""
        return self._shutdown.is_set()

    def begin_shutdown(self) -> None:
        """Record SIGTERM: from now on ``/readyz`` fails its ``shutdown`` check."""
        self._shutdown.set()

    def wait_for_shutdown(self, timeout_s: float | None = None) -> bool:
        """Block until :meth:`begin_shutdown` (or the timeout); return whether it happened."""
        return self._shutdown.wait(timeout_s)
