"""Vault values: opaque on load, decrypted by the real ansible-vault only when needed."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from deployer.errors import InventoryError, exit_code_for
from deployer.inventory import load_inventory
from deployer.inventory.reveal import RevealedText, VaultSettings, reveal_needed, revealed_texts
from deployer.inventory.settings import InventorySettings
from deployer.inventory.vault import VaultValue
from deployer.model.inventory import Inventory
from deployer.report.masking import mask_secrets

DATA = Path(__file__).resolve().parents[2] / "data"
VAULT = DATA / "inventories" / "vault" / "hosts.yml"
PASSWORD = DATA / "differential" / "vault-password.txt"
BIN = Path(sys.executable).parent


@pytest.fixture
def with_ansible(monkeypatch: pytest.MonkeyPatch) -> None:
    if not (BIN / "ansible-vault").exists():
        pytest.skip("ansible-core is not installed (scripts/setup installs it)")
    monkeypatch.setenv("PATH", f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    monkeypatch.delenv("ANSIBLE_VAULT_PASSWORD_FILE", raising=False)
    monkeypatch.delenv("ANSIBLE_VAULT_IDENTITY_LIST", raising=False)


@pytest.fixture
def inventory() -> Inventory:
    return load_inventory([VAULT])


def test_vault_values_load_without_a_password_and_stay_opaque(inventory: Inventory) -> None:
    cp1 = inventory["cp1"]
    assert isinstance(cp1.vars["db_password"], VaultValue)
    assert str(cp1.vars["db_password"]) == "<vault-encrypted>"
    assert cp1.vars["db_password"].file == str(VAULT)
    assert cp1.address == "cp1"  # the vaulted ansible_host is not read yet


def test_a_host_without_needed_vault_values_needs_no_password(inventory: Inventory) -> None:
    cp2 = Inventory(hosts=(inventory["cp2"],))
    assert reveal_needed(cp2, VaultSettings()) == cp2


def test_a_needed_vault_value_without_a_password_is_exit_6_naming_host_variable_file(
    with_ansible: None, inventory: Inventory
) -> None:
    with pytest.raises(InventoryError) as caught:
        reveal_needed(inventory, VaultSettings())
    problems = caught.value.problems
    assert {(p.host, p.message.split(" is ")[0]) for p in problems} == {
        ("cp1", "variable ansible_host"),
        ("cp1", "variable apiserver_flags"),
    }
    assert all(p.file == str(VAULT) and p.line for p in problems)
    assert "--vault-password-file" in str(caught.value)
    assert "db_password" not in str(caught.value)  # never needed, never asked for
    assert exit_code_for(caught.value) == 6


def test_ansible_vault_decrypts_what_is_needed_as_a_secret(
    with_ansible: None, inventory: Inventory
) -> None:
    revealed = reveal_needed(inventory, VaultSettings(password_files=(str(PASSWORD),)))
    cp1 = revealed["cp1"]
    assert cp1.address == "192.0.2.21"
    flag = cp1.vars["apiserver_flags"]["oidc-client-id"]  # type: ignore[index]
    assert flag == "vaulted-client-id"
    assert isinstance(flag, RevealedText)
    assert {"192.0.2.21", "vaulted-client-id"} <= revealed_texts()
    diff = "+    - --oidc-client-id=vaulted-client-id\n+    - --advertise-address=192.0.2.21"
    assert mask_secrets(diff) == "+    - --oidc-client-id=***\n+    - --advertise-address=***"
    assert isinstance(cp1.vars["db_password"], VaultValue)  # still encrypted


def test_a_vault_id_is_passed_through(with_ansible: None, inventory: Inventory) -> None:
    settings = VaultSettings(vault_ids=(f"default@{PASSWORD}",))
    assert reveal_needed(inventory, settings)["cp1"].address == "192.0.2.21"


def test_a_wrong_password_is_exit_6_with_ansible_vaults_reason(
    with_ansible: None, inventory: Inventory, tmp_path: Path
) -> None:
    wrong = tmp_path / "wrong.txt"
    wrong.write_text("not the password\n", encoding="utf-8")
    with pytest.raises(InventoryError, match="cannot decrypt the vault value") as caught:
        reveal_needed(inventory, VaultSettings(password_files=(str(wrong),)))
    assert caught.value.problems[0].host == "cp1"
    assert exit_code_for(caught.value) == 6


def test_without_ansible_vault_the_error_says_what_to_install(
    inventory: Inventory, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(InventoryError, match="ansible-vault is not installed") as caught:
        reveal_needed(inventory, VaultSettings(password_files=(str(PASSWORD),)))
    assert "pip install ansible-core" in str(caught.value)


VAULT_FILE_CASE = DATA / "differential" / "vault_file" / "hosts.yml"


def test_a_vault_encrypted_vars_file_without_a_password_is_exit_6_naming_it(
    with_ansible: None,
) -> None:
    with pytest.raises(InventoryError) as caught:
        load_inventory([VAULT_FILE_CASE])
    [problem] = [p for p in caught.value.problems if not p.is_warning]
    assert problem.file and problem.file.endswith("group_vars/control_plane/vault.yml")
    assert "no vault password was given" in problem.message
    assert exit_code_for(caught.value) == 6


def test_a_vault_encrypted_vars_file_is_decrypted_and_its_strings_masked(
    with_ansible: None,
) -> None:
    settings = InventorySettings(vault=VaultSettings(password_files=(str(PASSWORD),)))
    cp1 = load_inventory([VAULT_FILE_CASE], settings=settings)["cp1"]
    assert cp1.vars["vault_db_password"] == "S3cret-in-a-vault-file"
    assert mask_secrets("password is S3cret-in-a-vault-file") == "password is ***"
