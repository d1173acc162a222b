"""Read inventories through ``ansible-inventory --list``: dynamic inventories and plugins.

Why a subprocess: an executable inventory script, an inventory plugin configuration
(``plugin: constructed``, a cloud plugin) or a collection's plugin only Ansible can run; its
code is GPL and not deployer's to import. ``ansible-inventory -i SRC ... --list --export``
prints the inventory as JSON (groups with their ``hosts``, ``children`` and ``vars``, and
``_meta.hostvars``; ``lib/ansible/cli/inventory.py``), which fills the same draft as a file
would, so precedence, ``apiserver_flags`` merging, limits and ``inventory show --explain``
(whose origins name ``ansible-inventory``) work as with the built-in reader.

``--export`` keeps group variables on their groups instead of folding them into each host,
so deployer merges them by its documented precedence. ``{"__ansible_vault": ...}`` values
stay :class:`~deployer.inventory.vault.VaultValue`; ``{"__ansible_unsafe": ...}`` are text.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from deployer.inventory.draft import Draft, layer_from
from deployer.inventory.reveal import VaultSettings
from deployer.inventory.sources import inventory_files
from deployer.inventory.vault import UnsafeText, VaultValue
from deployer.inventory.yamlfile import LineMap

__all__ = ["needs_ansible", "read_with_ansible"]

_PLUGIN_LINE = re.compile(r"^plugin:[ \t]*\S", re.MULTILINE)
_TIMEOUT_S = 300.0
_STDERR_LINES = 15


def _file_needs_ansible(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            head = handle.read(65536)
    except OSError:
        return False  # the built-in reader reports it
    if head.startswith(b"#!"):
        return True
    if path.suffix.lower() in (".yml", ".yaml", "") or path.suffix.lower() == ".json":
        return bool(_PLUGIN_LINE.search(head.decode("utf-8", "replace")))
    return False


def needs_ansible(sources: Sequence[str | Path]) -> str | None:
    """Return the first source file only Ansible can read (a script or a plugin config)."""
    for source in sources:
        path = Path(str(source)).expanduser()
        if not path.exists():
            continue
        try:
            files = inventory_files(path, str(source))
        except OSError:
            continue
        for file, shown in files:
            if _file_needs_ansible(file):
                return shown
    return None


def _value(value: object, shown: str) -> object:
    if isinstance(value, dict):
        if set(value) == {"__ansible_vault"}:
            return VaultValue(str(value["__ansible_vault"]), shown)
        if set(value) == {"__ansible_unsafe"}:
            return UnsafeText(str(value["__ansible_unsafe"]))
        return {str(k): _value(v, shown) for k, v in value.items()}
    if isinstance(value, list):
        return [_value(v, shown) for v in value]
    return value


def _layer_values(raw: object, shown: str) -> LineMap:
    values = LineMap()
    if isinstance(raw, Mapping):
        for key, value in raw.items():
            values[str(key)] = _value(value, shown)
    return values


def _run(sources: Sequence[str | Path], vault: VaultSettings) -> tuple[str | None, str]:
    """Run ansible-inventory; return (JSON text, "") or (None, what went wrong)."""
    program = shutil.which("ansible-inventory")
    if program is None:
        return None, "ansible-inventory is not installed"
    argv = [program]
    for source in sources:
        argv += ["-i", str(source)]
    argv += ["--list", "--export", *vault.arguments()]
    # A source Ansible cannot parse is a warning and an empty inventory by default; here it
    # is the failure it is (deployer must not work on a partial host list).
    env = {
        **os.environ,
        "ANSIBLE_INVENTORY_UNPARSED_FAILED": "1",
        "ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED": "1",
        "ANSIBLE_NOCOLOR": "1",
    }
    try:
        result = subprocess.run(
            argv, capture_output=True, text=True, timeout=_TIMEOUT_S, check=False, env=env
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, f"ansible-inventory did not run: {exc}"
    if result.returncode != 0:
        tail = "\n".join(result.stderr.strip().splitlines()[-_STDERR_LINES:])
        return None, f"ansible-inventory exited {result.returncode}:\n{tail or '(no stderr)'}"
    return result.stdout, ""


def read_with_ansible(
    draft: Draft, sources: Sequence[str | Path], vault: VaultSettings, reason: str
) -> str:
    """Fill ``draft`` from ``ansible-inventory --list --export``; return the origin's name.

    ``reason`` says why Ansible reads these sources (for the error when it cannot).
    """
    shown = "ansible-inventory " + " ".join(f"-i {s}" for s in sources)
    text, failure = _run(sources, vault)
    if text is None:
        draft.error(
            f"{reason}: {failure}",
            file=shown,
            hint="install ansible-core (pip install ansible-core) and check that "
            f"'{shown} --list' works",
        )
        return shown
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        draft.error(f"ansible-inventory printed no JSON: {exc}", file=shown)
        return shown
    if not isinstance(data, dict):
        draft.error("ansible-inventory printed JSON that is not an inventory", file=shown)
        return shown
    meta = data.get("_meta")
    found = meta.get("hostvars") if isinstance(meta, dict) else None
    hostvars: dict[str, object] = found if isinstance(found, dict) else {}
    for name, group in data.items():
        if name == "_meta" or not isinstance(group, dict):
            continue
        draft.group(name, shown)
        for child in group.get("children") or ():
            draft.add_child(name, str(child), shown, None)
        for host in group.get("hosts") or ():
            draft.add_host(str(host), name, shown, None)
        variables = _layer_values(group.get("vars"), shown)
        if variables:
            level = "all" if name == "all" else f"group:{name}"
            draft.groups[name].inline.append(
                layer_from(variables, level=level, file=shown, problems=draft.problems)
            )
    for host_name, raw in hostvars.items():
        host = draft.hosts.get(str(host_name))
        values = _layer_values(raw, shown)
        if host is not None and values:
            host.inline.append(
                layer_from(
                    values, level="host", file=shown, problems=draft.problems, host=host.name
                )
            )
    return shown
