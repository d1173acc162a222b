"""Load Ansible-compatible inventories into :class:`~deployer.model.inventory.Inventory`.

Why Ansible's formats: operators already keep their control-plane hosts in Ansible
inventories; reading those files as they are (YAML, INI, directories, ``group_vars/``,
``host_vars/``, host ranges) means one source of truth and no translation step to get wrong.

Every problem of every file is collected and raised together as one :class:`InventoryError`;
warnings that do not stop the load are returned by :func:`load_inventory_with_warnings` and
logged by :func:`load_inventory`.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

from deployer.errors import InputProblem, InventoryError
from deployer.inventory.ansible_backend import needs_ansible, read_with_ansible
from deployer.inventory.draft import Draft, Layer, layer_from
from deployer.inventory.extra_vars import COMMAND_LINE, extra_var_layers
from deployer.inventory.groups import GroupTree, build_tree, hosts_in_order, link_implicit_groups
from deployer.inventory.hosts import HostBuilder
from deployer.inventory.ini_inventory import read_ini_inventory
from deployer.inventory.merge import Merged, merge_layers
from deployer.inventory.ranges import parse_address
from deployer.inventory.reveal import VaultSettings, decrypt_file, is_vault_file, secret_strings
from deployer.inventory.settings import InventorySettings, current_settings
from deployer.inventory.sources import inventory_files, looks_like_yaml, vars_dir_of, vars_entities
from deployer.inventory.yaml_inventory import read_yaml_inventory
from deployer.inventory.yamlfile import load_yaml_file, load_yaml_text
from deployer.inventory.yamllimits import YamlLimitError, check_text_size, limit_problem
from deployer.model.host import Host
from deployer.model.inventory import Inventory

__all__ = ["load_inventory", "load_inventory_with_warnings"]

_log = logging.getLogger(__name__)


def _read_inventory_file(draft: Draft, path: Path, shown: str) -> None:
    try:
        check_text_size(path.stat().st_size)
        text = path.read_text(encoding="utf-8")
    except YamlLimitError as exc:
        draft.problems.append(limit_problem(exc, shown))
        return
    except UnicodeDecodeError as exc:
        draft.error(f"not UTF-8 text: {exc.reason}", file=shown)
        return
    except OSError as exc:
        draft.error(f"cannot read the inventory file: {exc.strerror or exc}", file=shown)
        return
    if text.startswith("#!"):  # only reached when needs_ansible could not open it first
        draft.error(
            "an inventory script is read through ansible-inventory, which could not run it",
            file=shown,
            line=1,
            hint="check 'ansible-inventory -i SCRIPT --list'",
        )
        return
    if looks_like_yaml(path, text):
        result = load_yaml_text(text, shown)
        draft.problems.extend(result.problems)
        if not any(not p.is_warning for p in result.problems):
            read_yaml_inventory(draft, result.data, shown)
    else:
        read_ini_inventory(draft, text, shown)


def _read_host_list(draft: Draft, text: str) -> None:
    """Read ``-i 'cp1,cp2:2222,[fe80::1]:22,'``: Ansible's host list (hosts in ``ungrouped``).

    As ansible-core's ``host_list`` plugin: each item is an address with an optional port,
    no ranges; an item that is no address is a host name as written.
    """
    for item in (n.strip() for n in text.split(",")):
        if not item:
            continue
        parsed = parse_address(item)
        name, port = parsed if parsed is not None and "[" not in parsed[0] else (item, None)
        if name not in draft.hosts:
            draft.add_host(name, "ungrouped", COMMAND_LINE, None, port)


def _vars_files(draft: Draft, folder: Path, shown: str, kind: str) -> list[tuple[str, Path, str]]:
    """Return (entity, file, shown file) for one ``group_vars``/``host_vars`` folder."""
    sub = folder / kind
    if not sub.is_dir():
        return []
    prefix = kind if shown in ("", ".") else f"{shown.rstrip('/')}/{kind}"
    try:
        entities = vars_entities(sub)
    except OSError as exc:
        draft.error(f"cannot list: {exc.strerror or exc}", file=prefix)
        return []
    found: list[tuple[str, Path, str]] = []
    for entity in entities:
        known = entity.name in (draft.groups if kind == "group_vars" else draft.hosts)
        where = f"{prefix}/{entity.chosen.name}"
        if not known and kind == "group_vars":
            draft.warn(
                f"no group named {entity.name!r} in the inventory; this file is not used",
                file=where,
            )
            continue
        if not known:  # ansible-core's host_group_vars reads files of known hosts only
            draft.warn(
                f"no host named {entity.name!r} in the inventory; this file is not used",
                file=where,
                host=entity.name,
            )
            continue
        for other in entity.shadowed:
            winner = entity.chosen.name
            draft.warn(
                f"ignored: {kind}/{winner} is read instead (of name, name.yml, name.yaml and "
                "name.json only the first found is read, as in Ansible)",
                file=f"{prefix}/{other.name}",
                hint="merge the two files into one",
            )
        for path in entity.files:
            found.append((entity.name, path, f"{prefix}/{path.relative_to(sub).as_posix()}"))
    return found


def _load_vars_file(draft: Draft, path: Path, shown: str, vault: VaultSettings) -> object:
    """Parse one vars file; a vault-encrypted one is decrypted first, as Ansible does."""
    if not is_vault_file(path):
        result = load_yaml_file(path, shown)
        draft.problems.extend(result.problems)
        return result.data
    text, why = decrypt_file(path, shown, vault)
    if text is None:
        draft.error(
            why,
            file=shown,
            hint="pass --vault-password-file FILE or --vault-id ID@SOURCE "
            "(Ansible needs the password for this file too)",
        )
        return None
    result = load_yaml_text(text, shown)
    draft.problems.extend(result.problems)
    return secret_strings(result.data)


def _read_vars_dir(
    draft: Draft, index: int, folder: Path, shown: str, vault: VaultSettings
) -> None:
    for kind in ("group_vars", "host_vars"):
        for name, path, shown_file in _vars_files(draft, folder, shown, kind):
            data = _load_vars_file(draft, path, shown_file, vault)
            if data is None:
                continue
            if not isinstance(data, Mapping):
                draft.error(
                    f"a {kind} file must be a mapping of variable: value, "
                    f"got {type(data).__name__}",
                    file=shown_file,
                    line=1,
                )
                continue
            if kind == "group_vars":
                level = "all" if name == "all" else f"group:{name}"
                draft.groups[name].files.append(
                    (index, layer_from(data, level=level, file=shown_file, problems=draft.problems))
                )
            else:
                draft.hosts[name].files.append(
                    layer_from(
                        data, level="host", file=shown_file, problems=draft.problems, host=name
                    )
                )


def _read_sources(
    draft: Draft, sources: Sequence[str | Path], settings: InventorySettings
) -> tuple[str, ...]:
    if not sources:
        draft.error("no inventory given", hint="pass -i FILE or -i DIRECTORY (it may repeat)")
        return ()
    dynamic = needs_ansible(sources) if settings.backend != "ansible" else None
    if settings.backend == "ansible" or dynamic is not None:
        reason = (
            "--inventory-backend ansible"
            if dynamic is None
            else f"{dynamic} is an inventory script or plugin configuration"
        )
        read_with_ansible(draft, sources, settings.vault, reason)
        link_implicit_groups(draft)
        return tuple(str(s) for s in sources)
    shown_sources: list[str] = []
    vars_dirs: dict[Path, str] = {}
    for source in sources:
        text = str(source)
        shown_sources.append(text)
        path = Path(text).expanduser()
        if not path.exists():
            if "," in text:
                _read_host_list(draft, text)
            else:
                draft.error(
                    f"inventory source not found: {text}",
                    file=text,
                    hint="check the -i path (a file, a directory, or 'host1,host2,')",
                )
            continue
        try:
            files = inventory_files(path, text)
        except OSError as exc:
            draft.error(f"cannot list the inventory directory: {exc.strerror or exc}", file=text)
            continue
        for file, shown in files:
            _read_inventory_file(draft, file, shown)
        folder = vars_dir_of(path)
        shown_folder = text if path.is_dir() else str(Path(text).parent)
        vars_dirs.setdefault(folder.resolve(), shown_folder)
    link_implicit_groups(draft)
    for index, (folder, shown) in enumerate(vars_dirs.items()):
        _read_vars_dir(draft, index, folder, shown, settings.vault)
    return tuple(shown_sources)


def _consume_priorities(draft: Draft) -> None:
    """Take ``ansible_group_priority`` out of inline group variables into the group's priority.

    ansible-core consumes it when an inventory sets it (``Group.set_variable`` calls
    ``set_priority(int(value))``, ``lib/ansible/inventory/group.py``), so it is no host
    variable; set in a ``group_vars/`` file it is an ordinary variable, as there.
    """
    for name, group in draft.groups.items():
        for index, layer in enumerate(group.inline):
            if "ansible_group_priority" not in layer.values:
                continue
            value = layer.values["ansible_group_priority"]
            try:
                group.priority = int(value)  # type: ignore[call-overload]
            except (TypeError, ValueError):
                draft.error(
                    f"group {name}: ansible_group_priority must be a whole number, got {value!r}",
                    file=layer.file,
                    line=layer.lines.get("ansible_group_priority"),
                    hint="write ansible_group_priority: 10 (higher wins among groups of a depth)",
                )
            group.inline[index] = dataclasses.replace(
                layer,
                values={k: v for k, v in layer.values.items() if k != "ansible_group_priority"},
            )


def _group_layers(draft: Draft, tree: GroupTree, groups: frozenset[str]) -> list[Layer]:
    """A host's group layers in ansible-core's precedence (``VariableManager.get_vars``).

    With the default ``VARIABLE_PRECEDENCE`` every inventory file's group variables come
    before any ``group_vars/`` file: ``all`` inline, the other groups inline (sorted by depth,
    priority, name: ``sort_groups`` in ``lib/ansible/inventory/helpers.py``), then
    ``group_vars/all``, then the other groups' files; files go folder by folder (one folder per
    ``-i`` source), groups sorted within each folder.
    """
    ordered = sorted(
        groups - {"all"},
        key=lambda g: (tree.depth[g], draft.groups[g].priority, g),
    )
    everyone = draft.groups["all"]
    layers = [*everyone.inline]
    for name in ordered:
        layers.extend(draft.groups[name].inline)
    layers.extend(layer for _, layer in sorted(everyone.files, key=lambda item: item[0]))
    files = [
        (folder, rank, layer)
        for rank, name in enumerate(ordered)
        for folder, layer in draft.groups[name].files
    ]
    layers.extend(layer for _, _, layer in sorted(files, key=lambda item: item[:2]))
    return layers


def _build_hosts(draft: Draft, tree: GroupTree, extra: list[Layer]) -> list[Host]:
    direct: dict[str, list[str]] = {name: [] for name in draft.hosts}
    for group_name, group in draft.groups.items():
        for host_name in group.hosts:
            direct[host_name].append(group_name)
    bases: dict[frozenset[str], Merged] = {}  # hosts in the same groups share the group merge
    builder = HostBuilder(draft)
    hosts: list[Host] = []
    for name in hosts_in_order(draft, "all"):
        host = draft.hosts[name]
        groups = frozenset({"all"}).union(*(tree.ancestors(g) for g in direct[name]))
        base = bases.get(groups)
        if base is None:
            base = bases[groups] = merge_layers(None, _group_layers(draft, tree, groups))
        merged = merge_layers(base, (*host.inline, *host.files, *extra))
        hosts.append(builder.host(name, groups, merged))
    return hosts


def _group_members(draft: Draft) -> dict[str, tuple[str, ...]]:
    return {name: tuple(hosts_in_order(draft, name)) for name in draft.groups}


def _raise_if_errors(problems: list[InputProblem]) -> None:
    if any(not p.is_warning for p in problems):
        raise InventoryError(problems, hint="fix the problems above; nothing was touched")


def load_inventory_with_warnings(
    sources: Sequence[str | Path],
    extra_vars: Sequence[str] = (),
    settings: InventorySettings | None = None,
) -> tuple[Inventory, tuple[InputProblem, ...]]:
    """Load the inventory like :func:`load_inventory` and also return its warnings.

    Warnings (duplicate YAML keys, clear-text passwords, ignored files) do not stop the load;
    the command line shows them before it acts. ``settings`` (default: the command line's,
    :func:`~deployer.inventory.settings.current_settings`) chooses the backend; sources that
    are inventory scripts or plugin configurations are always read by ``ansible-inventory``.

    Raises:
        InventoryError: with every problem found in every source (warnings included).
    """
    draft = Draft()
    shown = _read_sources(draft, sources, settings or current_settings())
    extra, extra_problems = extra_var_layers(extra_vars)
    draft.problems.extend(extra_problems)
    tree = build_tree(draft)  # None after a cycle, recorded in draft.problems
    if not draft.hosts and not any(not p.is_warning for p in draft.problems):
        draft.error(
            "the inventory has no hosts",
            file=", ".join(shown) or None,
            hint="list the control-plane nodes under 'all: {children: {control_plane: "
            "{hosts: {cp1: ...}}}}' (YAML) or a [control_plane] section (INI)",
        )
    _raise_if_errors(draft.problems)
    if tree is None:  # unreachable: a cycle is an error, raised just above
        raise InventoryError(draft.problems)
    _consume_priorities(draft)
    hosts = _build_hosts(draft, tree, extra)
    _raise_if_errors(draft.problems)
    inventory = Inventory(
        hosts=tuple(hosts),
        groups=_group_members(draft),
        sources=shown,
        declared=tuple(draft.hosts),
    )
    return inventory, tuple(draft.problems)


def load_inventory(
    sources: Sequence[str | Path],
    extra_vars: Sequence[str] = (),
    settings: InventorySettings | None = None,
) -> Inventory:
    """Load hosts, groups and merged variables from Ansible-style inventory sources.

    ``sources`` are ``-i`` arguments in order (files, directories, or ``host1,host2,``);
    later ones add hosts and variables. ``extra_vars`` are ``-e`` arguments (highest
    precedence). Warnings are logged on this module's logger.

    Raises:
        InventoryError: with every problem of every source, never only the first.
    """
    inventory, warnings = load_inventory_with_warnings(sources, extra_vars, settings)
    for warning in warnings:
        _log.warning("%s", warning)
    return inventory
