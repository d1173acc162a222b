"""Read an inventory written in Ansible's YAML shape into a :class:`Draft`.

The shape (Ansible's ``yaml`` inventory plugin)::

    all:
      vars: {...}
      hosts: {cp1: {ansible_host: 192.0.2.11}, cp2: null}
      children:
        control_plane:
          hosts: {cp[1:3]: {}}
          vars: {...}
          children: {...}

As in ansible-core's yaml plugin (``lib/ansible/plugins/inventory/yaml.py``), sections are
read in the order they are written; ``hosts: cp1`` (a string) is the one host ``cp1``, and a
host key that is no string (``1:``) is refused. The rollout order is then Ansible's group
order (:func:`deployer.inventory.groups.hosts_in_order`).
"""

from __future__ import annotations

from collections.abc import Mapping

from deployer.inventory.draft import Draft, layer_from
from deployer.inventory.ranges import HostPatternError, expand_host_pattern
from deployer.inventory.yamlfile import LineMap

__all__ = ["read_yaml_inventory"]

_SECTIONS = ("hosts", "vars", "children")


def _kind(value: object) -> str:
    return {list: "a list", str: "a string", int: "a number", bool: "a boolean"}.get(
        type(value), type(value).__name__
    )


def _line(mapping: Mapping[str, object], key: str) -> int | None:
    return mapping.lines.get(key) if isinstance(mapping, LineMap) else None


def _read_hosts(draft: Draft, group: str, hosts: object, file: str, line: int | None) -> None:
    if hosts is None:
        return
    if isinstance(hosts, str):  # 'hosts: cp1' means one host, as in ansible-core's yaml plugin
        single = LineMap(line)
        single[hosts] = None
        if line is not None:
            single.lines[hosts] = line
        hosts = single
    if not isinstance(hosts, Mapping):
        draft.error(
            f"group {group}: 'hosts' must be a mapping of host name to variables, "
            f"got {_kind(hosts)}",
            file=file,
            line=line,
            hint="write one 'cp1:' per line (a host with no variables may be left empty), "
            "not a '- cp1' list",
        )
        return
    for pattern, host_vars in hosts.items():
        host_line = _line(hosts, pattern)
        if isinstance(hosts, LineMap) and pattern in hosts.typed_keys:
            draft.error(
                f"group {group}: host {pattern} is a YAML {hosts.typed_keys[pattern]}, not a name",
                file=file,
                line=host_line,
                hint=f"quote it: '{pattern}': (Ansible refuses it too)",
            )
            continue
        try:
            names, port = expand_host_pattern(pattern)
        except HostPatternError as exc:
            draft.error(f"group {group}: {exc}", file=file, line=host_line)
            continue
        if host_vars is not None and not isinstance(host_vars, Mapping):
            draft.error(
                f"host {pattern}: variables must be a mapping, got {_kind(host_vars)}",
                file=file,
                line=host_line,
                hint="write 'cp1: {ansible_host: 192.0.2.11}' or leave the value empty",
            )
            continue
        values = LineMap(host_line)
        if host_vars:
            values.update(host_vars)
            values.lines.update(host_vars.lines if isinstance(host_vars, LineMap) else {})
        layer = None
        if values:  # one layer shared by every host of a range: cheap for cp[1:1000]
            layer = layer_from(
                values, level="host", file=file, problems=draft.problems, host=pattern
            )
        for name in names:
            host = draft.add_host(name, group, file, host_line, port)
            if layer is not None:
                host.inline.append(layer)


def _read_group(
    draft: Draft, name: str, data: object, file: str, line: int | None, path: tuple[str, ...]
) -> None:
    group = draft.group(name, file, line)
    if data is None:
        return
    if not isinstance(data, Mapping):
        draft.error(
            f"group {name} must be a mapping with 'hosts', 'vars' and/or 'children', "
            f"got {_kind(data)}",
            file=file,
            line=line,
            hint="a host written directly under a group belongs under its 'hosts:' key",
        )
        return
    if name in path:  # a YAML alias can nest a group inside itself
        draft.error(f"group {name} contains itself", file=file, line=line)
        return
    for key, value in data.items():
        key_line = _line(data, key)
        if key == "hosts":
            _read_hosts(draft, name, value, file, key_line)
        elif key == "vars":
            if value is None:
                continue
            if not isinstance(value, Mapping):
                draft.error(
                    f"group {name}: 'vars' must be a mapping of variable: value, "
                    f"got {_kind(value)}",
                    file=file,
                    line=key_line,
                )
                continue
            level = "all" if name == "all" else f"group:{name}"
            group.inline.append(layer_from(value, level=level, file=file, problems=draft.problems))
        elif key == "children":
            _read_children(draft, name, value, file, key_line, (*path, name))
        else:
            draft.warn(
                f"group {name}: unexpected key {key!r} ignored; only hosts, vars and children "
                "are valid",
                file=file,
                line=key_line,
                hint=f"if {key!r} is a host, put it under 'hosts:'; "
                "if it is a group, under 'children:'",
            )


def _read_children(
    draft: Draft, parent: str, children: object, file: str, line: int | None, path: tuple[str, ...]
) -> None:
    if children is None:
        return
    if not isinstance(children, Mapping):
        draft.error(
            f"group {parent}: 'children' must be a mapping of group name to group, "
            f"got {_kind(children)}",
            file=file,
            line=line,
            hint="write 'children: {control_plane: {hosts: ...}}', one group per key",
        )
        return
    for child, data in children.items():
        child_line = _line(children, child)
        draft.add_child(parent, child, file, child_line)
        _read_group(draft, child, data, file, child_line, path)


def read_yaml_inventory(draft: Draft, data: object, file: str) -> None:
    """Add the groups, hosts and inline variables of a parsed YAML inventory to ``draft``."""
    if data is None:
        draft.warn("the inventory file is empty", file=file)
        return
    if not isinstance(data, Mapping):
        draft.error(
            f"a YAML inventory must be a mapping of group names (usually 'all:'), "
            f"got {_kind(data)}",
            file=file,
            line=data.line if isinstance(data, LineMap) else 1,
        )
        return
    if "plugin" in data:
        draft.error(
            "an inventory plugin configuration (plugin: ...) must be read by ansible-inventory",
            file=file,
            line=_line(data, "plugin"),
            hint="pass --inventory-backend ansible",
        )
        return
    for name, group_data in data.items():
        line = _line(data, name)
        if name in _SECTIONS:
            draft.error(
                f"top-level key {name!r} is not a group",
                file=file,
                line=line,
                hint=f"put it under a group: 'all: {{{name}: ...}}'",
            )
            continue
        _read_group(draft, name, group_data, file, line, ())
