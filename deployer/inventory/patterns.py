"""Select hosts with Ansible ``--limit`` patterns, by ansible-core's own rules.

The rules are those of ansible-core's ``InventoryManager`` (``lib/ansible/inventory/
manager.py``), so a limit selects the same hosts as the operator's ``ansible-playbook``:

* splitting (``split_host_pattern``): a pattern with a ``,`` is split on commas only (``a:b,c``
  is the two terms ``a:b`` and ``c``); without one, a pattern that is a host address
  (``fe80::1``, ``cp[1:3]``, ``cp1:22``) stays whole, else it is split on ``:`` outside
  brackets;
* order (``order_patterns``): plain terms first, then ``&`` terms, then ``!`` terms; only
  ``&``/``!`` terms start from ``all``;
* one term (``_match_one_pattern``): a host's exact name is that host; else an optional
  subscript is split off (``grp[0]``, ``grp[-1]``, ``grp[1:3]``, ``grp[1:]``, end included;
  never on a ``~regex``), every group whose name matches contributes its hosts (in the
  group's order), and host names are matched too when no group matched or the term is a
  regex or holds ``.``, ``?``, ``*`` or ``[``; globs are ``fnmatch`` (whole name), regexes
  (``~``) ``re.match`` (anchored at the start only);
* ``@file``: each line of the file is one term, blank lines skipped (and ``#`` lines, which
  Ansible would take as a term that matches nothing: the selection is the same).

The result is always in rollout order (``all``'s order), as a limit is in Ansible.

Deliberately stricter than Ansible (Ansible warns and goes on): a term that matches no host
and an empty term (``a,,b``) are refused, since a mistyped ``!cp3`` must not roll out to cp3.
The README lists these exceptions.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Sequence
from pathlib import Path

from deployer.errors import InputProblem, InventoryError
from deployer.inventory.ranges import parse_address
from deployer.model.inventory import Inventory

__all__ = ["select_hosts", "split_pattern"]

#: ``:``-separated terms: runs of characters other than whitespace, ``:`` and brackets, or
#: complete bracketed expressions.
_COLON_TERMS = re.compile(r"(?:[^\s:\[\]]|\[[^\]]*\])+")
#: A term ending in a subscript: ``[N]``, ``[-N]``, ``[N:M]``, ``[N:]`` (and the old ``[N-M]``).
_SUBSCRIPT = re.compile(r"^(.+)\[(?:(-?[0-9]+)|([0-9]+)([:-])([0-9]*))\]$")
_HOST_SPECIALS = (".", "?", "*", "[")


def split_pattern(pattern: str) -> list[str]:
    """Split a ``--limit`` value into terms as ansible-core's ``split_host_pattern`` does.

    >>> split_pattern("a,b[1], c[2:3] , d")
    ['a', 'b[1]', 'c[2:3]', 'd']
    >>> split_pattern("control_plane:!cp2"), split_pattern("fe80::1"), split_pattern("cp1:22")
    (['control_plane', '!cp2'], ['fe80::1'], ['cp1:22'])
    """
    if "," in pattern:
        return [part.strip() for part in pattern.split(",")]
    if parse_address(pattern) is not None:
        return [pattern]
    return _COLON_TERMS.findall(pattern)


class _Matcher:
    """Evaluates terms against one inventory, caching each term's hosts."""

    def __init__(self, inventory: Inventory) -> None:
        self.inventory = inventory
        self.declared = inventory.declared or inventory.names
        self.known = set(self.declared)
        self._cache: dict[str, list[str]] = {}

    def _names_matching(self, names: Sequence[str], term: str) -> list[str]:
        try:
            regex = re.compile(term[1:] if term.startswith("~") else fnmatch.translate(term))
        except re.error as exc:
            kind = "regular expression" if term.startswith("~") else "glob"
            raise InventoryError(
                f"invalid {kind} in --limit {term!r}: {exc}",
                hint="a ~regex is a Python regular expression, matched from the start of a name",
            ) from None
        return [name for name in names if regex.match(name)]

    def _enumerate(self, term: str) -> list[str]:
        """``_enumerate_matches``: matching groups' hosts, then matching host names."""
        found: dict[str, None] = {}
        groups = self._names_matching(list(self.inventory.groups), term)
        for group in groups:
            found.update(dict.fromkeys(self.inventory.groups[group]))
        if not groups or term.startswith("~") or any(c in term for c in _HOST_SPECIALS):
            found.update(dict.fromkeys(self._names_matching(self.declared, term)))
        return list(found)

    def term(self, raw: str) -> list[str]:
        """The hosts one term stands for (its ``!``/``&`` ignored), in Ansible's order."""
        if raw in self.known:  # a plain host name is that host, even if a group shares it
            return [raw]
        term = raw[1:] if raw[0] in "!&" else raw
        cached = self._cache.get(term)
        if cached is not None:
            return cached
        expression, subscript = term, None
        match = None if term.startswith("~") else _SUBSCRIPT.match(term)
        if match:
            expression, index, start, _, end = match.groups()
            subscript = (int(index), None) if index else (int(start), int(end) if end else -1)
        hosts = self._enumerate(expression)
        if hosts and subscript is not None:
            first, last = subscript
            if last:  # Ansible: a [N:0] end counts as "no end", one host
                hosts = hosts[first : (len(hosts) - 1 if last == -1 else last) + 1]
            elif -len(hosts) <= first < len(hosts):
                hosts = [hosts[first]]
            else:
                raise InventoryError(
                    f"--limit {term!r}: position {first} is outside {expression} "
                    f"({len(hosts)} hosts, positions 0 to {len(hosts) - 1})",
                    hint="positions count from 0; [-1] is the last host",
                )
        self._cache[term] = hosts
        return hosts


def _read_limit_file(path_text: str) -> list[str]:
    path = Path(path_text).expanduser()
    try:
        text = path.read_text(encoding="utf-8")
    except IsADirectoryError:
        raise InventoryError(f"--limit @{path_text} is a directory, not a file") from None
    except OSError as exc:
        raise InventoryError(
            f"cannot read the --limit file {path_text}: {exc.strerror or exc}"
        ) from None
    lines = (line.strip() for line in text.split("\n"))
    return [line for line in lines if line and not line.startswith("#")]


def _terms(pattern: str) -> list[str]:
    terms: list[str] = []
    for term in split_pattern(pattern):
        if not term:
            raise InventoryError(
                f"--limit {pattern!r} has an empty term",
                hint="remove the doubled or trailing ',' (Ansible would skip it)",
            )
        terms.extend(_read_limit_file(term[1:]) if term.startswith("@") else [term])
    return terms


def select_hosts(inventory: Inventory, pattern: str | None) -> Inventory:
    """Return the part of ``inventory`` that ``pattern`` selects, in rollout order.

    ``None`` or an empty pattern selects everything. Groups keep only selected hosts.

    Raises:
        InventoryError: a term matches nothing (every such term is listed), a regular
            expression is invalid, a subscript is out of range, the limit file is
            unreadable, or nothing is left.
    """
    if pattern is None or not pattern.strip():
        return inventory
    terms = _terms(pattern)
    matcher = _Matcher(inventory)
    problems: list[InputProblem] = []
    resolved: dict[str, list[str]] = {}
    for term in terms:
        names = matcher.term(term)
        if not names:
            problems.append(InputProblem(f"--limit term {term!r} matches no host or group"))
        resolved[term] = names
    if problems:
        groups = ", ".join(sorted(inventory.groups)) or "none"
        known = ", ".join(inventory.names) or "none"
        raise InventoryError(problems, hint=f"hosts: {known}; groups: {groups}")
    plain = [t for t in terms if t[0] not in "!&"]
    selected: set[str] = set(inventory.names) if not plain else set()
    for term in plain:
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
        declared=tuple(n for n in matcher.declared if n in selected),
    )
