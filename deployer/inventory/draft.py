"""The inventory while it is being read: groups, hosts and variable layers, plus problems.

Why a mutable draft: several files (YAML, INI, group_vars, host_vars, ``-e``) each add a little
to the same groups and hosts, in order. The draft collects all of it, and every problem found
on the way, before :mod:`deployer.inventory.loader` turns it into frozen model objects.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from deployer.errors import InputProblem
from deployer.inventory.vault import UnsafeText
from deployer.inventory.yamlfile import LineMap

__all__ = [
    "MERGED_BY_KEY",
    "MERGED_BY_PATH",
    "Draft",
    "GroupDraft",
    "HostDraft",
    "Layer",
    "layer_from",
]

#: Variables whose mappings merge key by key across levels (``null`` removes a key).
MERGED_BY_KEY = frozenset({"apiserver_flags", "apiserver_extra_env"})
#: Variables that are lists of ``{path: ...}`` items merged by ``path`` across levels (an item
#: replaces a lower level's item of the same path; ``state: absent`` removes it).
MERGED_BY_PATH = frozenset({"apiserver_files"})


def plain(value: object) -> object:
    """Return ``value`` with every :class:`LineMap` turned into a plain ``dict``.

    Why: line bookkeeping must not leak into ``Host.vars`` (``yaml.safe_dump`` refuses dict
    subclasses, and equality with INI-loaded values must hold).
    """
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, UnsafeText):
        return str(value)
    return value


@dataclass(frozen=True, slots=True)
class Layer:
    """Variables set together at one precedence level by one file (or one ``-e``)."""

    #: ``all``, ``group:<name>``, ``host`` or ``extra`` (as in :class:`VarOrigin`).
    level: str
    file: str
    values: Mapping[str, object]
    #: Variable -> 1-based line in ``file``.
    lines: Mapping[str, int]
    #: For :data:`MERGED_BY_KEY` variables: variable -> key -> line.
    sublines: Mapping[str, Mapping[str, int]]


def layer_from(
    data: Mapping[str, object],
    *,
    level: str,
    file: str,
    problems: list[InputProblem],
    line: int | None = None,
    host: str | None = None,
) -> Layer:
    """Build a layer from a mapping of variables, checking the by-key variables' shape.

    ``line`` stands in for keys without a line of their own (INI lines, ``-e`` arguments).
    """
    lines = dict(data.lines) if isinstance(data, LineMap) else {}
    _warn_templates(data, file=file, lines=lines, problems=problems, line=line, host=host)
    values: dict[str, object] = {}
    sublines: dict[str, Mapping[str, int]] = {}
    for key, value in data.items():
        name = str(key)
        if line is not None:
            lines.setdefault(name, line)
        if name in MERGED_BY_KEY and value is not None:
            if not isinstance(value, Mapping):
                problems.append(
                    InputProblem(
                        f"variable {name} must be a mapping (flag: value), "
                        f"got {type(value).__name__}",
                        file=file,
                        line=lines.get(name),
                        host=host,
                        hint=f"write it as {name}: {{name: value}}, one key per line",
                    )
                )
                continue
            if isinstance(value, LineMap):
                sublines[name] = dict(value.lines)
            elif name in lines:  # an INI dict literal or -e: each key is on the variable's line
                sublines[name] = {str(k): lines[name] for k in value}
            values[name] = {str(k): plain(v) for k, v in value.items()}
            continue
        if name in MERGED_BY_PATH and value is not None:
            items = _path_items(name, value, file=file, line=lines.get(name), host=host)
            if isinstance(items, InputProblem):
                problems.append(items)
                continue
            sublines[name] = items
            values[name] = plain(value)
            continue
        values[name] = plain(value)
    return Layer(level=level, file=file, values=values, lines=lines, sublines=sublines)


def _path_items(
    name: str, value: object, *, file: str, line: int | None, host: str | None
) -> dict[str, int] | InputProblem:
    """Return ``path -> line`` of a by-path list, or the problem with its shape."""
    hint = f"write it as {name}: [{{path: /etc/kubernetes/..., content: ...}}, ...]"
    if not isinstance(value, list):
        return InputProblem(
            f"variable {name} must be a list of {{path: ...}} items, got {type(value).__name__}",
            file=file,
            line=line,
            host=host,
            hint=hint,
        )
    found: dict[str, int] = {}
    for index, item in enumerate(value):
        where = getattr(item, "line", None) or line
        path = item.get("path") if isinstance(item, Mapping) else None
        if not isinstance(path, str) or not path:
            return InputProblem(
                f"variable {name}: item {index} needs a path (a string)",
                file=file,
                line=where,
                host=host,
                hint=hint,
            )
        if path in found:
            return InputProblem(
                f"variable {name}: {path} is listed twice in the same file",
                file=file,
                line=where,
                host=host,
                hint="keep one item per path (a higher level replaces a lower level's item)",
            )
        found[path] = where if where is not None else 0
    return found


def _is_template(value: object) -> bool:
    if isinstance(value, UnsafeText):  # !unsafe: Ansible never templates it either
        return False
    return isinstance(value, str) and ("{{" in value or "{%" in value)


def _warn_templates(
    data: Mapping[str, object],
    *,
    file: str,
    lines: Mapping[str, int],
    problems: list[InputProblem],
    line: int | None,
    host: str | None,
) -> None:
    """Warn about Jinja expressions: Ansible would evaluate them, deployer keeps them as text.

    Why a warning: an inventory copied from Ansible may say ``ansible_host: "{{ ip }}"``; used
    as it is, that text would end up in a connection or in a kube-apiserver flag.
    """
    for key, value in data.items():
        here = lines.get(str(key), line)
        found = [(str(key), here)] if _is_template(value) else []
        if isinstance(value, Mapping):
            sub_lines = value.lines if isinstance(value, LineMap) else {}
            found += [
                (f"{key}.{k}", sub_lines.get(str(k), here))
                for k, v in value.items()
                if _is_template(v)
            ]
        for name, where in found:
            problems.append(
                InputProblem(
                    f"variable {name} contains a Jinja expression, which deployer does not "
                    "evaluate; the text is used as it is",
                    file=file,
                    line=where,
                    host=host,
                    hint="write the final value (deployer does not template inventory values)",
                    is_warning=True,
                )
            )


@dataclass(slots=True)
class GroupDraft:
    """A group as declared so far by every source."""

    name: str
    #: Where the group was first declared, for messages.
    file: str | None = None
    line: int | None = None
    #: Hosts listed directly in the group, in order of first appearance.
    hosts: dict[str, None] = field(default_factory=dict)
    #: Child group -> (file, line) of the declaration that made it a child.
    children: dict[str, tuple[str | None, int | None]] = field(default_factory=dict)
    #: Inline variables (written in an inventory file), in reading order.
    inline: list[Layer] = field(default_factory=list)
    #: ``group_vars/`` files as (index of the vars folder, layer), in reading order.
    files: list[tuple[int, Layer]] = field(default_factory=list)
    #: ``ansible_group_priority`` as the inventory set it (Ansible consumes it, default 1).
    priority: int = 1


@dataclass(slots=True)
class HostDraft:
    """A host as declared so far by every source."""

    name: str
    file: str
    line: int | None
    inline: list[Layer] = field(default_factory=list)
    files: list[Layer] = field(default_factory=list)


@dataclass(slots=True)
class Draft:
    """Everything read so far; insertion order of ``hosts`` is the rollout order."""

    groups: dict[str, GroupDraft] = field(default_factory=dict)
    hosts: dict[str, HostDraft] = field(default_factory=dict)
    problems: list[InputProblem] = field(default_factory=list)

    def __post_init__(self) -> None:
        # ansible-core's InventoryData starts with 'all' and its first child 'ungrouped'
        # (lib/ansible/inventory/data.py): group order and 'all' host order depend on it.
        self.group("all")
        self.add_child("all", "ungrouped", None, None)

    def group(self, name: str, file: str | None = None, line: int | None = None) -> GroupDraft:
        """Return the group called ``name``, declaring it (at ``file:line``) if new."""
        found = self.groups.get(name)
        if found is None:
            found = self.groups[name] = GroupDraft(name, file, line)
        return found

    def add_host(
        self, name: str, group: str, file: str, line: int | None, port: int | None = None
    ) -> HostDraft:
        """Declare ``name`` (if new) as a member of ``group``; return its draft.

        ``port`` (from ``name:port``) counts only where the host is first declared, before that
        line's variables, as in ansible-core (``InventoryData.add_host`` creates ``Host(name,
        port)`` for a new host only, ``lib/ansible/inventory/data.py``).
        """
        host = self.hosts.get(name)
        if host is None:
            host = self.hosts[name] = HostDraft(name, file, line)
            if port is not None:
                values = LineMap(line)
                values["ansible_port"] = port
                if line is not None:
                    values.lines["ansible_port"] = line
                host.inline.append(layer_from(values, level="host", file=file, problems=[]))
        self.group(group, file, line).hosts[name] = None
        return host

    def add_child(self, parent: str, child: str, file: str | None, line: int | None) -> None:
        """Make ``child`` a child group of ``parent`` (both declared if new)."""
        self.group(child, file, line)
        self.group(parent, file, line).children.setdefault(child, (file, line))

    def error(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        column: int | None = None,
        host: str | None = None,
        hint: str | None = None,
    ) -> None:
        """Record a problem that fails the load (loading goes on to find the others)."""
        self.problems.append(
            InputProblem(message, file=file, line=line, column=column, host=host, hint=hint)
        )

    def warn(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        host: str | None = None,
        hint: str | None = None,
    ) -> None:
        """Record a problem that is shown but does not fail the load."""
        self.problems.append(
            InputProblem(message, file=file, line=line, host=host, hint=hint, is_warning=True)
        )
