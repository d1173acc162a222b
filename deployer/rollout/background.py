"""One call run in a daemon thread of its own, its value read when it is needed.

Why: planning overlaps two reads with the rest of a host's observation on the same connection
(``/readyz`` once the CA has arrived, kubeadm-config once the first host is connected); both
need the same start-once, join-later holder. A daemon thread, so an interrupted command does
not wait for a network timeout on its way out.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

__all__ = ["Background"]

T = TypeVar("T")


class Background(Generic[T]):
    """``start`` a call once; ``result`` waits for it (``None``: not started, or it raised)."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._value: T | None = None
        self._thread: threading.Thread | None = None

    @property
    def started(self) -> bool:
        """True once :meth:`start` was called."""
        return self._thread is not None

    def start(self, call: Callable[[], T]) -> None:
        """Run ``call`` in a thread of its own."""

        def run() -> None:
            self._value = call()

        self._thread = threading.Thread(target=run, name=self._name, daemon=True)
        self._thread.start()

    def result(self) -> T | None:
        """The call's value, once it has returned."""
        if self._thread is not None:
            self._thread.join()
        return self._value
