"""How the engine tells the outside world what it is doing, how it waits, and how it is stopped.

Why protocols: the console view, the JSON report and the tests all listen to the same events;
the clock is injected so that the unit tests of polling code never sleep.
"""

from __future__ import annotations

import enum
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, TypeVar

T = TypeVar("T")

__all__ = [
    "Clock",
    "Event",
    "EventKind",
    "NullReporter",
    "Reporter",
    "StopSignal",
    "SystemClock",
    "poll_until",
]


class EventKind(enum.StrEnum):
    """What an event says about its phase (a closed set: the console styles each one)."""

    START = "start"
    OK = "ok"
    FAIL = "fail"
    INFO = "info"
    WARN = "warn"
    WAIT = "wait"


@dataclass(frozen=True, slots=True)
class Event:
    """Something that happened on a host: ``phase`` started/finished/progress, with a message."""

    host: str
    phase: str
    #: A :class:`EventKind` (a ``str`` too, so the console and the JSON need no mapping).
    kind: EventKind
    message: str = ""
    duration_s: float | None = None


class Reporter(Protocol):
    """Receives events as they happen (the CLI prints them; tests record them)."""

    def emit(self, event: Event) -> None:
        """Handle one event; must not raise."""


class NullReporter:
    """A reporter that drops every event (library use without output)."""

    def emit(self, event: Event) -> None:
        """Drop the event."""


class Clock(Protocol):
    """Time as the engine sees it."""

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back."""

    def time(self) -> float:
        """Wall-clock seconds since the epoch (for reports and backup names)."""

    def sleep(self, seconds: float) -> None:
        """Wait."""


class SystemClock:
    """The real clock."""

    def monotonic(self) -> float:
        """Return ``time.monotonic()``."""
        return time.monotonic()

    def time(self) -> float:
        """Return ``time.time()``."""
        return time.time()

    def sleep(self, seconds: float) -> None:
        """Sleep for real."""
        time.sleep(seconds)


def poll_until(
    clock: Clock,
    probe: Callable[[], T | None],
    *,
    timeout_s: float,
    interval_s: float = 0.5,
) -> T | None:
    """Call ``probe`` until it returns something other than None, or the time is up.

    Returns the first non-None value, or None on timeout. The probe runs at least once.
    """
    deadline = clock.monotonic() + timeout_s
    while True:
        value = probe()
        if value is not None:
            return value
        remaining = deadline - clock.monotonic()
        if remaining <= 0:
            return None
        clock.sleep(min(interval_s, remaining))


class StopSignal:
    """Set by the first Ctrl-C: finish (or roll back) the current host, then stop."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def request(self) -> None:
        """Ask the rollout to stop after the current host."""
        self._event.set()

    @property
    def requested(self) -> bool:
        """True once a stop was requested."""
        return self._event.is_set()
