"""Go's strconv parsers and quoting, re-implemented for their exact results and error texts.

Why re-implement instead of using ``int()``/``float()``: kube-apiserver's error for a bad flag
value ends with the Go parser's message (``strconv.ParseInt: parsing "abc": invalid syntax``),
and Python accepts things Go refuses (``int(" 1")``, ``float("1e5 ")``) and the reverse (Go's
``0x1F``, ``0b101``, ``1_000`` with base 0). The lab's apiserver stand-in must print what the real
binary prints, and the offline validator must reject exactly what the binary rejects.
"""

from __future__ import annotations

import math
import re
import struct
from types import MappingProxyType

__all__ = [
    "GoValueError",
    "go_bytes",
    "go_quote",
    "go_quote_rune",
    "go_trim_space",
    "parse_bool",
    "parse_float",
    "parse_int",
    "parse_uint",
    "atoi",
]

#: unicode.IsSpace: what Go's strings.TrimSpace removes.
_GO_SPACE = (
    "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007"
    "\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
_ESCAPES = MappingProxyType(
    {
        "\a": "\\a",
        "\b": "\\b",
        "\f": "\\f",
        "\n": "\\n",
        "\r": "\\r",
        "\t": "\\t",
        "\v": "\\v",
    }
)


class GoValueError(ValueError):
    """A value Go's parser rejects; ``str()`` is Go's ``err.Error()`` text."""


def go_trim_space(text: str) -> str:
    """Return ``strings.TrimSpace(text)``."""
    return text.strip(_GO_SPACE)


def go_bytes(text: str) -> tuple[bytes, str]:
    """Return ``text`` as the bytes Go would see, and the codec error mode that gets it back.

    Arguments arrive with undecodable bytes as surrogate escapes; a lone surrogate from other
    sources (YAML) cannot be a Go string byte-for-byte, so it is kept with ``surrogatepass``.
    """
    try:
        return text.encode("utf-8", "surrogateescape"), "surrogateescape"
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass"), "surrogatepass"


def _escape_char(ch: str, quote: str) -> str:
    code = ord(ch)
    if ch == quote or ch == "\\":
        return "\\" + ch
    if ch in _ESCAPES:
        return _ESCAPES[ch]
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8 (surrogateescape)
        return f"\\x{code - 0xDC00:02x}"
    if code < 0x20 or code == 0x7F:
        return f"\\x{code:02x}"
    if ch == " " or ch.isprintable():
        return ch
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def go_quote(text: str) -> str:
    """Return ``strconv.Quote(text)`` (what ``%q`` prints for a string)."""
    return '"' + "".join(_escape_char(ch, '"') for ch in text) + '"'


def go_quote_rune(ch: str) -> str:
    """Return ``strconv.QuoteRune`` for one character (what ``%q`` prints for a byte or rune)."""
    return "'" + _escape_char(ch, "'") + "'"


def _syntax(func: str, text: str) -> GoValueError:
    return GoValueError(f"strconv.{func}: parsing {go_quote(text)}: invalid syntax")


def _range(func: str, text: str) -> GoValueError:
    return GoValueError(f"strconv.{func}: parsing {go_quote(text)}: value out of range")


def _underscore_ok(s: str) -> bool:
    """Port of strconv.underscoreOK: underscores only between digits (base prefix counts)."""
    saw = "^"
    i = 0
    if s and s[0] in "+-":
        s = s[1:]
    is_hex = False
    if len(s) >= 2 and s[0] == "0" and s[1].lower() in "box":
        i = 2
        saw = "0"
        is_hex = s[1].lower() == "x"
    while i < len(s):
        c = s[i]
        if "0" <= c <= "9" or (is_hex and "a" <= c.lower() <= "f"):
            saw = "0"
        elif c == "_":
            if saw != "0":
                return False
            saw = "_"
        elif saw == "_":
            return False
        else:
            saw = "!"
        i += 1
    return saw != "_"


def _digit(c: str) -> int:
    if "0" <= c <= "9":
        return ord(c) - 48
    low = c.lower()
    if "a" <= low <= "z" and c.isascii():
        return ord(low) - 87
    return 99


def _parse_uint(s: str, base: int, bit_size: int, func: str, shown: str) -> tuple[int, bool]:
    """strconv.ParseUint; errors carry ``func`` and ``shown`` (ParseInt rewrites both)."""
    if s == "":
        raise _syntax(func, shown)
    base0 = base == 0
    if base0:
        base = 10
        if s[0] == "0":
            if len(s) >= 3 and s[1].lower() == "b":
                base, s = 2, s[2:]
            elif len(s) >= 3 and s[1].lower() == "o":
                base, s = 8, s[2:]
            elif len(s) >= 3 and s[1].lower() == "x":
                base, s = 16, s[2:]
            else:
                base, s = 8, s[1:]
    max_val = (1 << bit_size) - 1
    cutoff = (1 << 64) // base + 1
    n = 0
    underscores = False
    for c in s:
        if c == "_" and base0:
            underscores = True
            continue
        d = _digit(c)
        if d >= base:
            raise _syntax(func, shown)
        if n >= cutoff:
            raise _range(func, shown)
        n = n * base + d
        if n > max_val:
            raise _range(func, shown)
    return n, underscores


def parse_uint(text: str, base: int = 0, bit_size: int = 64) -> int:
    """Return ``strconv.ParseUint(text, base, bit_size)``.

    Raises:
        GoValueError: Go's exact error text.
    """
    if text.isdigit() and text.isascii() and len(text) < 9 and (text[0] != "0" or base != 0):
        return int(text)  # plain decimal below 2^31-1: every bit size accepts it
    n, underscores = _parse_uint(text, base, bit_size, "ParseUint", text)
    if underscores and not _underscore_ok(text):
        raise _syntax("ParseUint", text)
    return n


def parse_int(text: str, base: int = 0, bit_size: int = 64, *, func: str = "ParseInt") -> int:
    """Return ``strconv.ParseInt(text, base, bit_size)``.

    Raises:
        GoValueError: Go's exact error text.
    """
    if text.isdigit() and text.isascii() and len(text) < 10 and (text[0] != "0" or base != 0):
        return int(text)  # plain decimal, far from any bound: Go's result without the loop
    if text == "":
        raise _syntax(func, text)
    s = text
    negative = False
    if s[0] == "+":
        s = s[1:]
    elif s[0] == "-":
        negative, s = True, s[1:]
    try:
        un, underscores = _parse_uint(s, base, bit_size, func, text)
        if underscores and not _underscore_ok(s):
            raise _syntax(func, text)
    except GoValueError as err:
        if "value out of range" not in str(err):
            raise
        un = 1 << 64
    cutoff = 1 << (bit_size - 1)
    if not negative and un >= cutoff:
        raise _range(func, text)
    if negative and un > cutoff:
        raise _range(func, text)
    return -un if negative else un


def atoi(text: str) -> int:
    """Return ``strconv.Atoi(text)`` (base 10, sign allowed, no underscores)."""
    return parse_int(text, 10, 64, func="Atoi")


_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})
_FALSE = frozenset({"0", "f", "F", "FALSE", "false", "False"})


def parse_bool(text: str) -> bool:
    """Return ``strconv.ParseBool(text)``.

    Raises:
        GoValueError: Go's exact error text.
    """
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise _syntax("ParseBool", text)


_DEC_FLOAT = re.compile(r"[+-]?(?:[0-9_]+\.?[0-9_]*|\.[0-9_]+)(?:[eE][+-]?[0-9_]+)?")
_HEX_FLOAT = re.compile(
    r"[+-]?0[xX](?:[0-9a-fA-F_]+\.?[0-9a-fA-F_]*|\.[0-9a-fA-F_]+)[pP][+-]?[0-9_]+"
)


def _special_float(text: str) -> float | None:
    s = text
    sign = 1.0
    signed = False
    if s[:1] in ("+", "-"):
        sign = -1.0 if s[0] == "-" else 1.0
        signed = True
        s = s[1:]
    low = s.lower()
    if low in ("inf", "infinity"):
        return sign * math.inf
    if low == "nan" and not signed:
        return math.nan
    return None


def parse_float(text: str, bit_size: int = 64) -> float:
    """Return ``strconv.ParseFloat(text, bit_size)``: Go float literal syntax, Inf/NaN words.

    Raises:
        GoValueError: Go's exact error text (``invalid syntax`` or ``value out of range``).
    """
    if text == "":
        raise _syntax("ParseFloat", text)
    special = _special_float(text)
    if special is not None:
        return special
    is_hex = _HEX_FLOAT.fullmatch(text) is not None
    if not is_hex and _DEC_FLOAT.fullmatch(text) is None:
        raise _syntax("ParseFloat", text)
    if not any(c.isdigit() for c in text.split("e")[0].split("E")[0]) and not is_hex:
        raise _syntax("ParseFloat", text)
    if "_" in text and not _underscore_ok(text):
        raise _syntax("ParseFloat", text)
    plain = text.replace("_", "")
    try:
        value = float.fromhex(plain) if is_hex else float(plain)
    except OverflowError:
        raise _range("ParseFloat", text) from None
    except ValueError:
        raise _syntax("ParseFloat", text) from None
    if math.isinf(value):
        raise _range("ParseFloat", text)
    if bit_size == 32:
        try:
            value = struct.unpack("f", struct.pack("f", value))[0]
        except OverflowError:
            raise _range("ParseFloat", text) from None
        if math.isinf(value):
            raise _range("ParseFloat", text)
    return value
