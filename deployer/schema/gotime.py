"""Go's ``time.ParseDuration`` and ``Duration.String()``, with their exact texts.

Why: duration flags (``--request-timeout=60`` without a unit) fail with Go's own message
(``time: missing unit in duration "60"``), and the stand-in's ``FLAG:`` dump prints durations
as Go does (``1m0s``).
"""

from __future__ import annotations

import re
from types import MappingProxyType

from deployer.schema.gostrconv import GoValueError, go_bytes

__all__ = ["format_duration", "parse_duration"]


def _time_quote(text: str) -> str:
    """Quote like package time does: non-ASCII and control bytes as hex escapes, nothing else."""
    out = ['"']
    for ch in text:
        if ord(ch) >= 0x80 or ord(ch) < 0x20:
            out.extend(f"\\x{b:02x}" for b in go_bytes(ch)[0])
        else:
            out.append("\\" + ch if ch in '"\\' else ch)
    out.append('"')
    return "".join(out)


_UNITS = MappingProxyType(
    {
        "ns": 1,
        "us": 1_000,
        "\u00b5s": 1_000,
        "\u03bcs": 1_000,
        "ms": 1_000_000,
        "s": 1_000_000_000,
        "m": 60_000_000_000,
        "h": 3_600_000_000_000,
    }
)
_MAX = 1 << 63
#: Whole numbers with units, small enough that no overflow check can fire: the common case.
_SIMPLE_DURATION = re.compile(r"(?:[1-9][0-9]{0,5}(?:ns|us|ms|s|m|h)|0(?:ns|us|ms|s|m|h))+")
_DURATION_PART = re.compile(r"([0-9]+)(ns|us|ms|s|m|h)")


def parse_duration(text: str) -> int:
    """Return ``time.ParseDuration(text)`` in nanoseconds.

    Raises:
        GoValueError: Go's exact error text (``time: invalid duration "5x"`` ...).
    """
    if _SIMPLE_DURATION.fullmatch(text):
        return sum(int(n) * _UNITS[u] for n, u in _DURATION_PART.findall(text))
    invalid = GoValueError("time: invalid duration " + _time_quote(text))
    s = text
    negative = False
    if s and s[0] in "+-":
        negative, s = s[0] == "-", s[1:]
    if s == "0":
        return 0
    if s == "":
        raise invalid
    total = 0
    while s:
        if not (s[0] == "." or "0" <= s[0] <= "9"):
            raise invalid
        i = 0
        v = 0
        while i < len(s) and "0" <= s[i] <= "9":
            if v > _MAX // 10:
                raise invalid
            v = v * 10 + ord(s[i]) - 48
            if v > _MAX:
                raise invalid
            i += 1
        pre = i > 0
        s = s[i:]
        frac, scale, post = 0, 1.0, False
        if s and s[0] == ".":
            s = s[1:]
            i = 0
            overflow = False
            while i < len(s) and "0" <= s[i] <= "9":
                if not overflow:
                    if frac > (_MAX - 1) // 10:
                        overflow = True
                    else:
                        y = frac * 10 + ord(s[i]) - 48
                        if y > _MAX:
                            overflow = True
                        else:
                            frac, scale = y, scale * 10
                i += 1
            post = i > 0
            s = s[i:]
        if not pre and not post:
            raise invalid
        i = 0
        while i < len(s) and not (s[i] == "." or "0" <= s[i] <= "9"):
            i += 1
        if i == 0:
            raise GoValueError("time: missing unit in duration " + _time_quote(text))
        unit_text, s = s[:i], s[i:]
        unit = _UNITS.get(unit_text)
        if unit is None:
            raise GoValueError(
                f"time: unknown unit {_time_quote(unit_text)} in duration {_time_quote(text)}"
            )
        if v > _MAX // unit:
            raise invalid
        v *= unit
        if frac > 0:
            v += int(float(frac) * (float(unit) / scale))
            if v > _MAX:
                raise invalid
        total += v
        if total > _MAX:
            raise invalid
    if negative:
        return -total
    if total > _MAX - 1:
        raise invalid
    return total


def _format_frac(v: int, prec: int) -> tuple[str, int]:
    digits = ""
    printed = False
    for _ in range(prec):
        digit = v % 10
        printed = printed or digit != 0
        if printed:
            digits = str(digit) + digits
        v //= 10
    return ("." + digits if printed else ""), v


def format_duration(ns: int) -> str:
    """Return Go's ``time.Duration.String()`` (``1m0s``, ``1.5s``, ``300ms``, ``0s``)."""
    if ns == 0:
        return "0s"
    negative = ns < 0
    u = -ns if negative else ns
    if u < 1_000_000_000:
        if u < 1_000:
            text = f"{u}ns"
        elif u < 1_000_000:
            frac, whole = _format_frac(u, 3)
            text = f"{whole}{frac}\u00b5s"
        else:
            frac, whole = _format_frac(u, 6)
            text = f"{whole}{frac}ms"
    else:
        frac, secs = _format_frac(u, 9)
        text = f"{secs % 60}{frac}s"
        minutes = secs // 60
        if minutes > 0:
            text = f"{minutes % 60}m{text}"
            hours = minutes // 60
            if hours > 0:
                text = f"{hours}h{text}"
    return "-" + text if negative else text
