"""Expand inventory host patterns (``cp[1:3]``, ``cp[01:03]``, ``node-[a:c]``, ``cp1:2222``).

Why: operators copy Ansible inventories as they are, and Ansible expands ranges when it reads
an inventory (INI and YAML alike), so ``cp[01:03]`` must mean ``cp01 cp02 cp03`` here too.
"""

from __future__ import annotations

import re
import string

__all__ = ["HostPatternError", "expand_host_pattern"]

_RANGE = re.compile(r"\[([^\]]*)\]")
_PORT = re.compile(r":(?P<port>\d+)$")
#: Generous bound: a typo such as ``cp[1:100000]`` should be reported, not expanded.
_MAX_HOSTS = 100_000


class HostPatternError(ValueError):
    """A host pattern cannot be expanded; the message says why, for the operator."""


def _sequence(spec: str) -> list[str]:
    bounds = spec.split(":")
    if len(bounds) not in (2, 3):
        raise HostPatternError(f"host range [{spec}] must be [begin:end] or [begin:end:step]")
    beg, end = bounds[0] or "0", bounds[1]
    if not end:
        raise HostPatternError(f"host range [{spec}] has no end value")
    try:
        step = int(bounds[2]) if len(bounds) == 3 else 1
    except ValueError:
        raise HostPatternError(f"host range [{spec}] has a step that is not a number") from None
    if step < 1:
        raise HostPatternError(f"host range [{spec}] needs a step of at least 1")
    letters = string.ascii_letters
    if beg in letters and end in letters and len(beg) == len(end) == 1:
        i_beg, i_end = letters.index(beg), letters.index(end)
        if i_beg > i_end:
            raise HostPatternError(f"host range [{spec}] must have begin <= end")
        return list(letters[i_beg : i_end + 1 : step])
    if not (beg.isdigit() and end.isdigit()):
        raise HostPatternError(
            f"host range [{spec}] must be numeric ([1:3], [01:03]) or single letters ([a:c])"
        )
    width = 0
    if beg.startswith("0") and len(beg) > 1:  # zero-padded: [01:10] -> 01 .. 10 (Ansible's rule)
        if len(beg) != len(end):
            raise HostPatternError(
                f"host range [{spec}]: a zero-padded range needs begin and end of equal length"
            )
        width = len(beg)
    i_beg, i_end = int(beg), int(end)
    if i_beg > i_end:
        raise HostPatternError(f"host range [{spec}] must have begin <= end")
    if (i_end - i_beg) // step + 1 > _MAX_HOSTS:
        raise HostPatternError(f"host range [{spec}] expands to more than {_MAX_HOSTS} hosts")
    return [str(i).zfill(width) for i in range(i_beg, i_end + 1, step)]


def _expand_ranges(pattern: str) -> list[str]:
    match = _RANGE.search(pattern)
    if match is None:
        if "[" in pattern or "]" in pattern:
            raise HostPatternError(f"unbalanced '[' or ']' in host pattern {pattern!r}")
        return [pattern]
    head, tail = pattern[: match.start()], pattern[match.end() :]
    if "]" in head:
        raise HostPatternError(f"unbalanced '[' or ']' in host pattern {pattern!r}")
    names: list[str] = []
    for item in _sequence(match.group(1)):
        names.extend(_expand_ranges(f"{head}{item}{tail}"))
        if len(names) > _MAX_HOSTS:
            raise HostPatternError(f"host pattern {pattern!r} expands to too many hosts")
    return names


def expand_host_pattern(pattern: str) -> tuple[list[str], int | None]:
    """Return the host names ``pattern`` stands for, and the port it names, if any.

    ``cp1:2222`` names port 2222 (Ansible's ``host:port``); IPv6 addresses are left alone.

    >>> expand_host_pattern("cp[01:03]")
    (['cp01', 'cp02', 'cp03'], None)
    >>> expand_host_pattern("cp[1:2]:2222")
    (['cp1', 'cp2'], 2222)

    Raises:
        HostPatternError: the range is malformed (the message is shown to the operator).
    """
    text = pattern.strip()
    if not text:
        raise HostPatternError("empty host name")
    port: int | None = None
    outside = _RANGE.sub("", text)  # colons inside [1:3] belong to the range
    if outside.count(":") == 1:  # more than one colon outside brackets: an IPv6 address
        match = _PORT.search(text)
        if match:
            text, port = text[: match.start()].strip(), int(match.group("port"))
            if not 0 < port < 65536:
                raise HostPatternError(f"port {port} in {pattern!r} is out of range 1-65535")
    if text.endswith(":"):
        raise HostPatternError(
            f"host pattern {pattern!r} ends in ':'; that character introduces a port"
        )
    return _expand_ranges(text), port
