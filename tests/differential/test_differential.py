"""Differential suite: deployer reads every corpus inventory exactly as ansible-core does.

For each case of ``tests/data/differential/cases.yml`` (a folder of inventory files), ansible-core
(the oracle, a test-only dependency run in a subprocess by ``oracle.py``) and deployer both
answer: the hosts in ``all`` order, every group's hosts in the group's order, every host's
merged variables, and the hosts each ``--limit`` pattern selects (or that the inventory is
refused). The answers must be equal, except where the case records a deliberate difference
under ``exceptions`` with its reason (``load``: deployer refuses the inventory; ``vars:HOST:VAR``:
that variable differs; a pattern: deployer refuses that limit); such an exception must still
be a real difference, so a stale one fails too.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from deployer.errors import InventoryError
from deployer.inventory import load_inventory, select_hosts
from deployer.inventory.reveal import VaultSettings
from deployer.inventory.settings import InventorySettings
from deployer.inventory.vault import VaultValue
from deployer.model.host import Secret
from deployer.model.inventory import Inventory

HERE = Path(__file__).resolve().parent
CORPUS = HERE.parent / "data" / "differential"
CASES: dict[str, dict[str, Any]] = yaml.safe_load((CORPUS / "cases.yml").read_text())
BIN = Path(sys.executable).parent
#: deployer's answer for an inventory or a limit it refuses.
_REFUSED = "refused"


def _ansible_env() -> dict[str, str]:
    """Ansible with no user configuration, failing on a source it cannot parse."""
    return {
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "HOME": os.environ.get("HOME", "/root"),
        "ANSIBLE_CONFIG": str(HERE / "ansible.cfg"),
        "ANSIBLE_INVENTORY_UNPARSED_FAILED": "1",
        "ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED": "1",
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_LOCAL_TEMP": os.environ.get("TMPDIR", "/tmp"),
    }


def _sources(name: str) -> list[str]:
    """The case's -i arguments: paths relative to its folder, or a 'host1,host2,' list."""
    return [s if "," in s else str(CORPUS / name / s) for s in CASES[name]["sources"]]


def _vault_password_file(name: str) -> Path | None:
    relative = CASES[name].get("vault_password_file")
    return CORPUS / name / relative if relative else None


def _vault_password(name: str) -> str | None:
    path = _vault_password_file(name)
    return path.read_text(encoding="utf-8").strip() if path else None


@cache
def oracle() -> dict[str, Any]:
    """ansible-core's answers for the whole corpus (one subprocess for every case)."""
    if not (BIN / "ansible-inventory").exists():
        if os.environ.get("CI"):
            pytest.fail("ansible-core (the test oracle) is not installed: run scripts/setup")
        pytest.skip("ansible-core (the test oracle) is not installed: run scripts/setup")
    payload = [
        {
            "id": name,
            "sources": _sources(name),
            "patterns": case.get("patterns", []),
            "cwd": str(CORPUS / name),
            "vault_password": _vault_password(name),
        }
        for name, case in CASES.items()
    ]
    result = subprocess.run(
        [sys.executable, str(HERE / "oracle.py")],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        env=_ansible_env(),
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    answers: dict[str, Any] = json.loads(result.stdout)
    return answers


def _plain(value: object) -> object:
    if isinstance(value, VaultValue):
        return {"__ansible_vault": value.ciphertext}
    if isinstance(value, Secret):
        return value.value
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _limit(inventory: Inventory, pattern: str, cwd: Path) -> object:
    here = Path.cwd()
    os.chdir(cwd)
    try:
        return list(select_hosts(inventory, pattern).names)
    except InventoryError:
        return _REFUSED
    finally:
        os.chdir(here)


def deployer_answer(name: str) -> dict[str, Any]:
    """deployer's answer for one case, in the oracle's shape."""
    case = CASES[name]
    password = _vault_password_file(name)
    vault = VaultSettings(password_files=(str(password),) if password else ())
    try:
        inventory = load_inventory(_sources(name), settings=InventorySettings(vault=vault))
    except InventoryError as exc:
        return {"error": str(exc)}
    return {
        "hosts": list(inventory.names),
        "groups": {group: list(hosts) for group, hosts in inventory.groups.items()},
        "vars": {host.name: _plain(dict(host.vars)) for host in inventory.hosts},
        "limits": {
            pattern: _limit(inventory, pattern, CORPUS / name)
            for pattern in case.get("patterns", [])
        },
    }


def _ansible_limit(answer: object) -> object:
    """An empty or failed selection is one that deployer must refuse (nothing to work on)."""
    if answer == [] or isinstance(answer, dict):
        return _REFUSED
    return answer


@pytest.mark.parametrize("name", list(CASES))
def test_deployer_reads_the_inventory_as_ansible_core_does(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = CASES[name]
    expected = oracle()[name]
    for key, value in _ansible_env().items():  # deployer's own ansible-inventory runs
        monkeypatch.setenv(key, value)
    actual = deployer_answer(name)
    exceptions: dict[str, str] = case.get("exceptions", {}) or {}
    if "load" in exceptions:  # deployer refuses on purpose what ansible loads
        assert "error" in actual and "error" not in expected, (expected, actual)
        return
    if "error" in expected or "error" in actual:
        assert ("error" in actual) == ("error" in expected), (expected, actual)
        return
    assert actual["hosts"] == expected["hosts"]
    assert actual["groups"] == expected["groups"]
    for key in [k for k in exceptions if k.startswith("vars:")]:
        _, host, var = key.split(":", 2)
        ours, theirs = actual["vars"][host].pop(var, None), expected["vars"][host].pop(var, None)
        assert ours != theirs, f"exception for {key!r} is stale: both give {ours!r}"
    assert actual["vars"] == expected["vars"]
    for pattern, found in expected["limits"].items():
        wanted = _ansible_limit(found)
        got = actual["limits"][pattern]
        if pattern in exceptions:
            assert got != wanted, f"exception for {pattern!r} is stale: both give {got}"
            assert got == _REFUSED, f"{pattern!r}: a documented exception is a refusal"
            continue
        assert got == wanted, f"--limit {pattern!r}: ansible {wanted}, deployer {got}"


@pytest.mark.parametrize(
    ("name", "pattern"),
    [("patterns_ini", "control_plane[-1]:!zone_b,etcd"), ("yaml_nested", "k8s")],
)
def test_the_oracle_answers_as_the_ansible_command_line_does(name: str, pattern: str) -> None:
    """The oracle uses ansible-core's Python API; ``ansible --list-hosts`` must agree with it."""
    answers = oracle()
    result = subprocess.run(
        [str(BIN / "ansible"), "all", "--list-hosts", "--limit", pattern]
        + [arg for source in _sources(name) for arg in ("-i", source)],
        capture_output=True,
        text=True,
        env=_ansible_env(),
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    listed = [line.strip() for line in result.stdout.splitlines()[1:] if line.strip()]
    payload = [{"id": name, "sources": _sources(name), "patterns": [pattern]}]
    single = subprocess.run(
        [sys.executable, str(HERE / "oracle.py")],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        env=_ansible_env(),
        timeout=120,
        check=True,
    )
    assert listed == json.loads(single.stdout)[name]["limits"][pattern]
    assert answers[name]["hosts"] == json.loads(single.stdout)[name]["hosts"]
