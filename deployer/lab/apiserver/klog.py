"""Write log lines on stderr in klog's text format, as kube-apiserver does.

Why the exact format: operators (and the tool's own log readers, through ``crictl logs``) look
for lines such as ``E1128 15:04:05.123456       1 run.go:72] "command failed" err="..."``. The
header is klog's: severity letter, ``MMDD hh:mm:ss.uuuuuu``, the thread id (the pid here) right
aligned in seven columns, ``file:line]``. Structured lines quote the message and string values
with Go's ``%q`` rules.
"""

from __future__ import annotations

import datetime
import os
import threading
from collections.abc import Callable
from typing import TextIO

__all__ = ["Klog", "go_quote"]


def go_quote(text: str) -> str:
    """Quote ``text`` as Go's ``strconv.Quote`` does for printable text (``%q``)."""
    out = ['"']
    for char in text:
        if char in ('"', "\\"):
            out.append("\\" + char)
        elif char == "\n":
            out.append("\\n")
        elif char == "\t":
            out.append("\\t")
        elif char == "\r":
            out.append("\\r")
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\x{ord(char):02x}")
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


class Klog:
    """A klog-format logger bound to one stream, pid and verbosity (``-v``).

    Args:
        stream: where lines go (the process's stderr; kubelet captures it into the CRI log).
        verbosity: the ``-v`` level; :meth:`v` gates the detailed lines as klog's ``V(n)`` does.
        now: the clock, injectable for tests.
    """

    def __init__(
        self,
        stream: TextIO,
        *,
        verbosity: int = 0,
        now: Callable[[], datetime.datetime] = datetime.datetime.now,
    ) -> None:
        self._stream = stream
        self._verbosity = verbosity
        self._now = now
        self._pid = os.getpid()
        self._lock = threading.Lock()

    def set_verbosity(self, verbosity: int) -> None:
        """Apply ``-v`` once the flags are parsed (logging starts before parsing finishes)."""
        self._verbosity = verbosity

    def v(self, level: int) -> bool:
        """Return whether lines of verbosity ``level`` are written (klog's ``V(level)``)."""
        return self._verbosity >= level

    def info(self, where: str, message: str) -> None:
        """Write an ``I`` line: ``where`` is the Go source location (``server.go:142``)."""
        self._write("I", where, message)

    def warning(self, where: str, message: str) -> None:
        """Write a ``W`` line."""
        self._write("W", where, message)

    def error(self, where: str, message: str) -> None:
        """Write an ``E`` line."""
        self._write("E", where, message)

    def info_s(self, where: str, message: str, **values: str) -> None:
        """Write a structured ``I`` line (klog ``InfoS``): ``"msg" key="value" ...``."""
        self._write("I", where, _structured(message, values))

    def error_s(self, where: str, message: str, **values: str) -> None:
        """Write a structured ``E`` line (klog ``ErrorS``)."""
        self._write("E", where, _structured(message, values))

    def _write(self, severity: str, where: str, message: str) -> None:
        stamp = self._now()
        header = (
            f"{severity}{stamp.month:02d}{stamp.day:02d} "
            f"{stamp.hour:02d}:{stamp.minute:02d}:{stamp.second:02d}.{stamp.microsecond:06d} "
            f"{self._pid:7d} {where}] "
        )
        line = header + message
        if not line.endswith("\n"):
            line += "\n"
        with self._lock:
            self._stream.write(line)
            self._stream.flush()


def _structured(message: str, values: dict[str, str]) -> str:
    """Format klog's structured message: quoted message, then ``key="value"`` pairs."""
    parts = [go_quote(message)]
    parts.extend(f"{key}={go_quote(value)}" for key, value in values.items())
    return " ".join(parts)
