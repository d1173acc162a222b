"""Read an inventory written in Ansible's INI shape into a :class:`Draft`.

The rules follow Ansible's ``ini`` inventory plugin, so existing files mean the same here:

* lines before the first section belong to the group ``ungrouped``;
* ``[group]`` lists hosts, one per line: ``cp[1:3] ansible_user=ops key="a value"``;
* ``[group:vars]`` sets ``key=value`` per line; ``[group:children]`` names child groups;
* values are read as Python literals when they are one (``2222`` is an int, ``True`` a bool,
  ``{'audit-log-maxage': 30}`` a dict), otherwise kept as text;
* ``#`` and ``;`` start comment lines; a ``[group:vars]`` or ``[group:children]`` entry must
  refer to a group declared in this file or in an earlier inventory file.
"""

from __future__ import annotations

import ast
import re
import shlex
import warnings
from dataclasses import dataclass, field

from deployer.inventory.draft import Draft, layer_from
from deployer.inventory.ranges import HostPatternError, expand_host_pattern
from deployer.inventory.yamlfile import LineMap

__all__ = ["parse_ini_value", "read_ini_inventory"]

_SECTION = re.compile(r"^\[([^:\]\s]+)(?::(\w+))?\]\s*(?:[#;].*)?$")
_GROUP_NAME = re.compile(r"^([^:\]\s]+)\s*(?:[#;].*)?$")


def parse_ini_value(text: str) -> object:
    """Read an INI value as Ansible does: a Python literal when it is one, else the text.

    >>> parse_ini_value("2222"), parse_ini_value("true"), parse_ini_value("'quoted'")
    (2222, 'true', 'quoted')
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SyntaxWarning)
            value = ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return text
    if isinstance(value, tuple | set):
        return list(value)
    if isinstance(value, bytes | complex) or value is Ellipsis:
        return text
    return value


@dataclass(slots=True)
class _Pending:
    """A group referenced by ``:vars`` or ``:children`` before (or without) its declaration."""

    kind: str
    line: int
    parents: list[str] = field(default_factory=list)


def _vars_of(group: str, by_group: dict[str, LineMap]) -> LineMap:
    found = by_group.get(group)
    if found is None:
        found = by_group[group] = LineMap()
    return found


def _host_line(draft: Draft, group: str, text: str, file: str, number: int) -> None:
    try:
        tokens = shlex.split(text, comments=True)
    except ValueError as exc:
        draft.error(f"cannot parse host line: {exc}", file=file, line=number)
        return
    try:
        names, port = expand_host_pattern(tokens[0])
    except HostPatternError as exc:
        draft.error(str(exc), file=file, line=number)
        return
    if any(name.strip() == "---" for name in names):
        draft.error(
            "'---' is not a host name",
            file=file,
            line=number,
            hint="this looks like a YAML file: name it .yml so it is read as YAML",
        )
        return
    values = LineMap(number)
    for token in tokens[1:]:
        key, sep, raw = token.partition("=")
        if not sep or not key:
            draft.error(
                f"expected key=value host variable, got {token!r}",
                file=file,
                line=number,
                hint='quote values containing spaces: key="a value"',
            )
            return
        values[key] = parse_ini_value(raw)
        values.lines[key] = number
    layer = None
    if values:
        layer = layer_from(
            values, level="host", file=file, problems=draft.problems, line=number, host=tokens[0]
        )
    for name in names:
        host = draft.add_host(name, group, file, number, port)
        if layer is not None:
            host.inline.append(layer)


def read_ini_inventory(draft: Draft, text: str, file: str) -> None:
    """Add the groups, hosts and variables of INI inventory ``text`` (from ``file``)."""
    group, state = "ungrouped", "hosts"
    # Groups of earlier files count as declared: ansible-core checks the whole inventory built
    # so far (``self.inventory.groups`` in ``lib/ansible/plugins/inventory/ini.py``).
    declared: set[str] = {"all", "ungrouped", *draft.groups}
    pending: dict[str, _Pending] = {}
    group_vars: dict[str, LineMap] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        match = _SECTION.match(line)
        if match:
            group, kind = match.group(1), match.group(2) or "hosts"
            if kind not in ("hosts", "children", "vars"):
                draft.error(
                    f"section [{group}:{kind}] has unknown type {kind!r}",
                    file=file,
                    line=number,
                    hint="use [group], [group:vars] or [group:children]",
                )
                state = "skip"
                continue
            state = kind
            if kind == "vars":
                if group not in declared and group not in pending:
                    pending[group] = _Pending("vars", number)
            else:
                declared.add(group)
                pending.pop(group, None)
            draft.group(group, file, number)
            continue
        if line.startswith("[") and line.endswith("]"):
            draft.error(
                f"invalid section header {line!r}",
                file=file,
                line=number,
                hint="no spaces inside [ ]; the forms are [group], [group:vars], [group:children]",
            )
            state = "skip"
            continue
        if state == "hosts":
            _host_line(draft, group, line, file, number)
        elif state == "vars":
            key, sep, value = line.partition("=")
            if not sep or not key.strip():
                draft.error(f"expected key=value, got {line!r}", file=file, line=number)
                continue
            values = _vars_of(group, group_vars)
            values[key.strip()] = parse_ini_value(value.strip())
            values.lines[key.strip()] = number
        elif state == "children":
            child_match = _GROUP_NAME.match(line)
            if not child_match:
                draft.error(f"expected a group name, got {line!r}", file=file, line=number)
                continue
            child = child_match.group(1)
            draft.add_child(group, child, file, number)
            if child not in declared:
                pending.setdefault(child, _Pending("children", number)).parents.append(group)
    for name, decl in pending.items():
        if name in declared:
            continue
        if decl.kind == "vars":
            message = f"section [{name}:vars] is for group {name!r}, which this file never declares"
        else:
            message = f"section [{decl.parents[-1]}:children] names undeclared group {name!r}"
        draft.error(message, file=file, line=decl.line, hint=f"add a [{name}] section")
    for name, values in group_vars.items():
        level = "all" if name == "all" else f"group:{name}"
        draft.group(name).inline.append(
            layer_from(values, level=level, file=file, problems=draft.problems)
        )
