"""Expand inventory host patterns (``cp[1:3]``, ``cp[01:03]``, ``node-[a:c]``, ``cp1:2222``).

Why: operators copy Ansible inventories as they are, and Ansible expands ranges when it reads
an inventory (INI and YAML alike), so ``cp[01:03]`` must mean ``cp01 cp02 cp03`` here too. The
port and address rules are ansible-core's ``parse_address`` (``lib/ansible/parsing/utils/
addresses.py``) and the ranges its ``expand_hostname_range`` (``lib/ansible/plugins/inventory/
__init__.py``), written anew here; the differential suite checks the two agree.
"""

from __future__ import annotations

import ipaddress
import re
import string

__all__ = ["HostPatternError", "expand_host_pattern", "parse_address", "split_port"]

_RANGE = re.compile(r"\[([^\]]*)\]")
#: ``[anything]:port`` (ansible-core: ``bracketed_hostport``).
_BRACKETED_PORT = re.compile(r"^\[(.+)\]:([0-9]+)$")
#: ``name:port`` where the name has no colon outside complete ``[...]`` ranges.
_HOST_PORT = re.compile(r"^((?:[^:\[\]]|\[[^\]]*\])*):([0-9]+)$")
_ALNUM_RANGE = r"\[(?:[a-z]:[a-z]|[0-9]+:[0-9]+)(?::[0-9]+)?\]"
_NUM_RANGE = r"\[[0-9]+:[0-9]+(?::[0-9]+)?\]"
_LABEL = rf"(?:\w|{_ALNUM_RANGE})(?:[\w-]|{_ALNUM_RANGE})*(?<![_-])"
_NAME = re.compile(rf"^{_LABEL}(?:\.{_LABEL})*$", re.IGNORECASE)
_OCTET = rf"(?:25[0-5]|2[0-4][0-9]|[01]?[0-9]{{1,2}}|{_NUM_RANGE})"
_IPV4 = re.compile(rf"^{_OCTET}(?:\.{_OCTET}){{3}}$")
#: IPv6 with ranges is rare: any hex digits, colons and complete ranges, two colons at least.
_IPV6_WITH_RANGES = re.compile(r"^(?=(?:[^:]*:){2})(?:[0-9a-f:.]|\[[0-9a-f]+:[0-9a-f]+\])+$", re.I)
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


def _is_ip_or_name(text: str) -> bool:
    """Tell whether ``text`` is an IPv4/IPv6 address or a host name (ranges allowed)."""
    if _IPV4.match(text) or _NAME.match(text):
        return True
    if "[" in text:
        return bool(_IPV6_WITH_RANGES.match(text))
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return False
    return True


def parse_address(text: str) -> tuple[str, int | None] | None:
    """Read ``host``, ``host:port`` or ``[host]:port``; None when it is no address or name.

    The rules of ansible-core's ``parse_address`` (``lib/ansible/parsing/utils/addresses.py``):
    ``[fe80::1]:1022`` is host ``fe80::1``, port 1022 (the only way to give an IPv6 address a
    port); ``fe80::1`` has no port; ``cp[1:3]:2222`` is a range with a port; what remains after
    the port must be an IPv4 or IPv6 address or a host name, ``[a:b]``/``[1:3]`` ranges allowed.
    """
    host, port = text, None
    bracketed = _BRACKETED_PORT.match(host)
    if bracketed:
        host, port = bracketed.group(1), int(bracketed.group(2))
    plain = _HOST_PORT.match(host)
    if plain:
        host, port = plain.group(1), int(plain.group(2))
    return (host, port) if _is_ip_or_name(host) else None


def split_port(pattern: str) -> tuple[str, int | None]:
    """Split off the port as ansible-core's inventory plugins do (``_expand_hostpattern``).

    A text that is no address or host name once split (``weird@name:22``) is left whole, with
    no port, as Ansible leaves it.
    """
    return parse_address(pattern) or (pattern, None)


def expand_host_pattern(pattern: str) -> tuple[list[str], int | None]:
    """Return the host names ``pattern`` stands for, and the port it names, if any.

    ``cp1:2222`` names port 2222 (Ansible's ``host:port``), ``[fe80::1]:1022`` an IPv6 address
    with a port; a bare IPv6 address is left alone.

    >>> expand_host_pattern("cp[01:03]")
    (['cp01', 'cp02', 'cp03'], None)
    >>> expand_host_pattern("cp[1:2]:2222")
    (['cp1', 'cp2'], 2222)
    >>> expand_host_pattern("[fe80::1]:1022")
    (['fe80::1'], 1022)

    Raises:
        HostPatternError: the range is malformed (the message is shown to the operator).
    """
    text = pattern.strip()
    if not text:
        raise HostPatternError("empty host name")
    text, port = split_port(text)
    if port is not None and not 0 < port < 65536:
        raise HostPatternError(f"port {port} in {pattern!r} is out of range 1-65535")
    if port is None and text.endswith(":"):
        raise HostPatternError(
            f"host pattern {pattern!r} ends in ':'; that character introduces a port"
        )
    return _expand_ranges(text), port
