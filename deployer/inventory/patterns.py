"""Select hosts with Ansible ``--limit`` patterns.

Forms (combine them with ``:`` or ``,``):

=================  ==========================================================
``cp1``            a host, or every host of a group with that name
``control_plane``  every host of the group (through child groups)
``cp*``            shell-style glob on host and group names (``fnmatch``)
``~cp[12]$``       regular expression (``re.search``) on host and group names
``all`` or ``*``   every host
``a:b``, ``a,b``   union
``a:!b``           ``a`` without ``b`` (exclusions apply last)
``a:&b``           hosts in both ``a`` and ``b``
``grp[0]``         by position in a group: ``[0]``, ``[-1]``, ``[0:2]`` (end included)
``@file``          the patterns in a file, one per line (Ansible's retry files)
=================  ==========================================================

Differences from Ansible, on purpose: a term that matches nothing is an error, not a
warning (a mistyped ``!cp3`` must not roll out to cp3), and the result keeps inventory order
(the rollout order), whatever order the terms are written in.
"""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path

from deployer.errors import InputProblem, InventoryError
from deployer.model.inventory import Inventory

__all__ = ["select_hosts"]

_TERM = re.compile(r"(?:[^\s:\[\]]|\[[^\]]*\])+")
_SUBSCRIPT = re.compile(r"^(?P<base>.+?)\[(?P<start>-?\d+)?(?::(?P<end>-?\d*))?\]$")
_GLOB_CHARS = frozenset("*?[")


def _split(pattern: str) -> list[str]:
    """Split on ``,`` and on ``:`` outside brackets (``grp[0:2]`` and ``~a[1:2]`` stay whole)."""
    terms: list[str] = []
    for part in pattern.split(","):
        part = part.strip()
        if part.startswith("~"):  # a regex may contain ':'; keep it whole
            terms.append(part)
        else:
            terms.extend(_TERM.findall(part))
    return [t for t in terms if t]


def _names(inventory: Inventory, term: str) -> list[str]:
    """Return the host names one term (without ``!``/``&``) stands for, in inventory order."""
    if term in ("all", "*"):
        return list(inventory.names)
    subscript = _SUBSCRIPT.match(term) if not term.startswith("~") else None
    if subscript and subscript.group("base") in inventory.groups:
        members = list(inventory.groups[subscript.group("base")])
        start = int(subscript.group("start") or 0)
        end_text = subscript.group("end")
        start = start + len(members) if start < 0 else start
        if end_text is None:  # grp[3], grp[-1]
            return members[start : start + 1] if 0 <= start < len(members) else []
        end = int(end_text) if end_text else len(members) - 1
        end = end + len(members) if end < 0 else end
        return members[start : end + 1]  # Ansible's [a:b] includes b
    if term.startswith("~"):
        try:
            regex = re.compile(term[1:])
        except re.error as exc:
            raise InventoryError(f"invalid regular expression in --limit {term!r}: {exc}") from None

        def matches(name: str) -> bool:
            return regex.search(name) is not None
    else:

        def matches(name: str) -> bool:
            return fnmatch.fnmatchcase(name, term)

    found: set[str] = set()
    group_hit = False
    for group, group_hosts in inventory.groups.items():
        if matches(group):
            found.update(group_hosts)
            group_hit = True
    if not group_hit or term.startswith("~") or _GLOB_CHARS & set(term):
        found.update(name for name in inventory.names if matches(name))
    return [name for name in inventory.names if name in found]


def _read_limit_file(path_text: str) -> list[str]:
    path = Path(path_text).expanduser()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InventoryError(
            f"cannot read the --limit file {path_text}: {exc.strerror or exc}"
        ) from None
    terms: list[str] = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            terms.extend(_split(line))
    return terms


def select_hosts(inventory: Inventory, pattern: str | None) -> Inventory:
    """Return the part of ``inventory`` that ``pattern`` selects, in inventory order.

    ``None`` or an empty pattern selects everything. Groups keep only selected hosts.

    Raises:
        InventoryError: a term matches nothing (every such term is listed), a regular
            expression is invalid, the limit file is unreadable, or nothing is left.
    """
    if pattern is None or not pattern.strip():
        return inventory
    terms: list[str] = []
    for term in _split(pattern):
        terms.extend(_read_limit_file(term[1:]) if term.startswith("@") else [term])
    selected: set[str] = set()
    positive = [t for t in terms if t[0] not in "!&"]
    if not positive:  # only exclusions/intersections: start from every host, as Ansible does
        selected.update(inventory.names)
    problems: list[InputProblem] = []
    resolved: dict[str, list[str]] = {}
    for term in terms:
        bare = term.lstrip("!&")
        names = _names(inventory, bare)
        if not names:
            problems.append(InputProblem(f"--limit term {term!r} matches no host or group"))
        resolved[term] = names
    if problems:
        groups = ", ".join(sorted(inventory.groups)) or "none"
        known = ", ".join(inventory.names) or "none"
        raise InventoryError(problems, hint=f"hosts: {known}; groups: {groups}")
    for term in positive:
        selected.update(resolved[term])
    for term in terms:
        if term.startswith("&"):
            selected &= set(resolved[term])
    for term in terms:
        if term.startswith("!"):
            selected -= set(resolved[term])
    if not selected:
        raise InventoryError(
            f"--limit {pattern!r} leaves no host to work on",
            hint="check the '!' and '&' terms of the pattern",
        )
    return Inventory(
        hosts=tuple(h for h in inventory.hosts if h.name in selected),
        groups={
            name: tuple(n for n in group_hosts if n in selected)
            for name, group_hosts in inventory.groups.items()
        },
        sources=inventory.sources,
    )
