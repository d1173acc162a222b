"""Ask ansible-core how it reads inventories: the oracle of the differential suite.

Run as a subprocess by the test (``python oracle.py < cases.json``), never imported by deployer:
ansible-core is GPL and a test-only dependency. One process answers every case, so the
suite pays ansible's start-up once.

Input (stdin): ``[{"id": ..., "sources": [...], "patterns": [...], "vault_password_file": ...}]``.
Output (stdout): ``{id: {"hosts": [...], "groups": {...}, "vars": {...}, "limits": {...}}}``
or ``{id: {"error": "..."}}`` when ansible refuses the inventory. Hosts are in the order of
``all`` (``groups['all'].get_hosts()``), groups list their hosts as ``Group.get_hosts()``
keeps them, vars are what ``ansible-inventory --host`` prints (``VariableManager.get_vars``
without magic variables), and each limit is what ``--limit PATTERN`` selects from ``all``.
Encrypted values print as ``{"__ansible_vault": "<ciphertext>"}`` (ansible-inventory's form).
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any


def _plain(value: Any) -> Any:
    """Turn ansible's tagged values into JSON; vault values stay opaque markers."""
    from ansible.parsing.vault import EncryptedString

    if isinstance(value, EncryptedString):
        return {"__ansible_vault": value._ciphertext}
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    return str(value)


def _one(case: dict[str, Any]) -> dict[str, Any]:
    from ansible import constants as C
    from ansible.errors import AnsibleError
    from ansible.inventory.manager import InventoryManager
    from ansible.parsing.dataloader import DataLoader
    from ansible.vars.manager import VariableManager

    loader = DataLoader()
    if case.get("vault_password"):
        from ansible.parsing.vault import VaultSecret

        loader.set_vault_secrets([("default", VaultSecret(case["vault_password"].encode()))])
    try:
        inventory = InventoryManager(loader=loader, sources=case["sources"])
    except AnsibleError as exc:
        return {"error": str(exc).splitlines()[0]}
    manager = VariableManager(loader=loader, inventory=inventory)
    hidden = set(C.INTERNAL_STATIC_VARS) | {"inventory_hostname", "inventory_hostname_short"}
    hidden |= {"group_names", "groups", "omit", "playbook_dir", "ansible_play_hosts_all"}
    all_hosts = inventory.get_hosts("all")
    variables = {}
    for host in all_hosts:
        found = manager.get_vars(host=host, include_hostvars=False, stage="all")
        variables[host.name] = _plain({k: v for k, v in found.items() if k not in hidden})
    groups = {name: [h.name for h in group.get_hosts()] for name, group in inventory.groups.items()}
    limits: dict[str, Any] = {}
    for pattern in case.get("patterns", []):
        try:
            inventory.subset(pattern)
            limits[pattern] = [h.name for h in inventory.get_hosts("all")]
        except AnsibleError as exc:
            limits[pattern] = {"error": str(exc).splitlines()[0]}
        finally:
            inventory.subset(None)
            inventory.clear_pattern_cache()
            inventory._hosts_patterns_cache = {}
    return {
        "hosts": [h.name for h in all_hosts],
        "groups": groups,
        "vars": variables,
        "limits": limits,
    }


def main() -> int:
    """Answer every case read from stdin as one JSON object on stdout."""
    os.environ.setdefault("ANSIBLE_NOCOLOR", "1")
    from ansible.plugins.loader import init_plugin_loader

    init_plugin_loader([])  # as the ansible CLIs do: collections (ansible.builtin.*) resolve
    cases = json.load(sys.stdin)
    answers = {}
    for case in cases:
        cwd = os.getcwd()
        os.chdir(case.get("cwd", cwd))  # @file limits are relative to the case folder
        try:
            answers[case["id"]] = _one(case)
        finally:
            os.chdir(cwd)
    sys.stdout.write(json.dumps(answers))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
