"""Every byte the commands print or log goes through the run's :class:`ValueMasker`.

Why at the stream: the phase lines, plans, diffs, recaps, warnings and tracebacks-as-one-line
are printed from many places; masking the console's file and the log handlers catches them
all, including text nobody thought could hold a secret. The report files are masked by
:func:`deployer.report.secret_values.mask_report` before they are written.
"""

from __future__ import annotations

import logging
from typing import IO

from deployer.report.secret_values import ValueMasker

__all__ = ["MaskedStream", "mask_logging"]


class MaskedStream:
    """A text stream that masks what is written (rich's Console writes each print at once)."""

    def __init__(self, stream: IO[str], mask: ValueMasker) -> None:
        self._stream = stream
        self._mask = mask

    def write(self, text: str) -> int:
        """Write ``text`` masked; return the length of what was given (as callers expect)."""
        self._stream.write(self._mask(text))
        return len(text)

    def flush(self) -> None:
        """Flush the wrapped stream."""
        self._stream.flush()

    def isatty(self) -> bool:
        """Whether the wrapped stream is a terminal (rich decides colours from it)."""
        return self._stream.isatty()

    def fileno(self) -> int:
        """The wrapped stream's descriptor (rich reads the terminal size from it)."""
        return self._stream.fileno()

    @property
    def encoding(self) -> str:
        """The wrapped stream's encoding."""
        return getattr(self._stream, "encoding", None) or "utf-8"


class _MaskingFilter(logging.Filter):
    def __init__(self, mask: ValueMasker) -> None:
        super().__init__("deployer-masking")
        self._mask = mask

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a malformed %-format: keep the raw message
            message = str(record.msg)
        record.msg = self._mask(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._mask(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = self._mask(record.exc_text)
        return True


def mask_logging(mask: ValueMasker) -> None:
    """Mask every record reaching the root logger's handlers (``-v`` .. ``-vvv`` output)."""
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, _MaskingFilter) for f in handler.filters):
            handler.addFilter(_MaskingFilter(mask))
