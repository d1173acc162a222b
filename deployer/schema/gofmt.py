"""Go formatting that startup error texts depend on: ``%v`` of floats, url.Parse errors, aggregates.

Why: kube-apiserver's startup messages embed Go-formatted values (``%v`` of a float32 QPS, a
``url.Error``) and several errors are joined by apimachinery's ``utilerrors.NewAggregate``;
the lab's stand-in must log the same ``err="..."`` text as the real binary.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Sequence

from deployer.schema.gostrconv import go_quote

__all__ = ["aggregate", "go_format_float", "go_url_error"]


def aggregate(messages: Sequence[str]) -> str:
    """Return ``utilerrors.NewAggregate(errs).Error()``: de-duplicated, ``[a, b]`` when several."""
    seen: list[str] = []
    for message in messages:
        if message not in seen:
            seen.append(message)
    if len(seen) == 1:
        return seen[0]
    return "[" + ", ".join(seen) + "]"


def _shortest_digits(value: float, bits: int) -> str:
    if bits == 64:
        return repr(value)
    for precision in range(1, 10):
        text = f"{value:.{precision}g}"
        if struct.unpack("f", struct.pack("f", float(text)))[0] == value:
            return text
    return repr(value)


def go_format_float(value: float, bits: int = 64) -> str:
    """Return Go's ``%v`` of a float: shortest digits, exponent form from 1e+06 or below 1e-4.

    Go's ``%v`` is ``%g`` with the shortest precision, switching to exponent form when the
    exponent is < -4 or >= 6 (strconv uses precision 6 for that decision when shortest).
    """
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "+Inf" if value > 0 else "-Inf"
    if value == 0:
        return "-0" if str(value).startswith("-") else "0"
    digits = _shortest_digits(value, bits)
    mantissa, _, exp_text = digits.lower().partition("e")
    negative = mantissa.startswith("-")
    mantissa = mantissa.lstrip("-")
    whole, _, frac = mantissa.partition(".")
    exponent = int(exp_text or 0) + len(whole.lstrip("0") or "0") - 1
    all_digits = (whole + frac).lstrip("0").rstrip("0") or "0"
    if whole.strip("0") == "":
        exponent = int(exp_text or 0) - (len(frac) - len(frac.lstrip("0"))) - 1
    sign = "-" if negative else ""
    if exponent < -4 or exponent >= 6:
        body = all_digits[0] + ("." + all_digits[1:] if len(all_digits) > 1 else "")
        return f"{sign}{body}e{'-' if exponent < 0 else '+'}{abs(exponent):02d}"
    if exponent < 0:
        return f"{sign}0.{'0' * (-exponent - 1)}{all_digits}"
    if len(all_digits) <= exponent + 1:
        return f"{sign}{all_digits}{'0' * (exponent + 1 - len(all_digits))}"
    return f"{sign}{all_digits[: exponent + 1]}.{all_digits[exponent + 1 :]}"


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_SCHEME_CHARS = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*")
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")


def go_url_error(raw: str) -> str | None:
    """Return Go's ``url.Parse(raw)`` error text, or None when Go accepts it.

    Covers the failures an operator can realistically type: control characters, a leading
    ``:``, a colon in a scheme-less first path segment, a bad ``%`` escape and a non-numeric port.
    """

    def error(detail: str) -> str:
        return f"parse {go_quote(raw)}: {detail}"

    if _CONTROL.search(raw):
        return error("net/url: invalid control character in URL")
    rest = raw.partition("#")[0]
    if rest.startswith(":"):
        return error("missing protocol scheme")
    scheme = ""
    match = _SCHEME_CHARS.match(rest)
    if match and rest[match.end() : match.end() + 1] == ":":
        scheme, rest = match.group(), rest[match.end() + 1 :]
    bad = _BAD_ESCAPE.search(rest)
    if bad:
        return error(f"invalid URL escape {go_quote(rest[bad.start() : bad.start() + 3])}")
    path = rest.partition("?")[0]
    if not scheme and not path.startswith("/") and ":" in path.partition("/")[0]:
        return error("first path segment in URL cannot contain colon")
    if path.startswith("//") and (scheme or not path.startswith("///")):
        host = path[2:].partition("/")[0].rpartition("@")[2]
        port = ""
        if host.startswith("["):
            port = host[host.find("]") + 1 :] if "]" in host else ""
        elif ":" in host:
            port = host[host.rfind(":") :]
        if port and port != ":" and not (port[0] == ":" and port[1:].isdigit()):
            return error(f"invalid port {go_quote(port)} after host")
    return None
