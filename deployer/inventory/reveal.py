"""Decrypt the vault values deployer needs, and only those, with ``ansible-vault`` itself.

Why only those: Ansible decrypts a ``!vault`` value when a task uses it, so inventories keep
vaulted values deployer never reads (a database password for another playbook). Requiring a
vault password for them would refuse inventories Ansible runs with. A value deployer reads
(its own variables and the connection ones) is decrypted by ``ansible-vault decrypt`` from
stdin, the password given as ``--vault-password-file``/``--vault-id`` (a file or a script, as
Ansible takes them, never the password itself on a command line). Without a password source,
or without ``ansible-vault``, the run stops with exit 6 naming host, variable and file.

A decrypted value is a secret: it becomes a :class:`RevealedText`, and is handed to the
masking (``deployer.report.masking.add_secret_values``), so every report, diff and message
that goes through :func:`~deployer.report.masking.mask_secrets` shows ``***`` instead.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from deployer.errors import InputProblem, InventoryError
from deployer.inventory.hosts import SECRET_VARS, connection_fields
from deployer.inventory.vault import VaultValue, contains_vault
from deployer.model.host import Host
from deployer.model.inventory import Inventory

__all__ = [
    "NEEDED_VARIABLES",
    "RevealedText",
    "VaultSettings",
    "decrypt_file",
    "is_vault_file",
    "reveal_needed",
    "revealed_texts",
    "secret_strings",
]

#: Variables deployer reads (README "Variables"), besides every ``ansible_*`` and
#: ``apiserver_*`` one; a vault value in any other variable is never decrypted.
NEEDED_VARIABLES = frozenset(
    {
        "kubernetes_version",
        "manifest_dir",
        "manifest_template",
        "backup_dir",
        "backup_keep",
        "kubeconfig",
        "cluster_ca_file",
        "crictl",
        "kubelet_check",
        "restart_timeout",
        "ready_timeout",
        "soak_seconds",
        "serial",
        "host_root",
        "ssh_known_hosts_file",
    }
)
_NEEDED_PREFIXES = ("ansible_", "apiserver_")
_TIMEOUT_S = 60.0
_VAULT_HEADER = b"$ANSIBLE_VAULT;"
_REVEALED: set[str] = set()


class RevealedText(str):
    """The clear text of a vault value: a secret, whatever the variable's name."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class VaultSettings:
    """Where ``ansible-vault`` finds the password: passed through as Ansible takes them."""

    password_files: tuple[str, ...] = ()
    vault_ids: tuple[str, ...] = ()

    def arguments(self) -> list[str]:
        """The ``ansible-vault`` options for these sources."""
        args: list[str] = []
        for path in self.password_files:
            args += ["--vault-password-file", path]
        for vault_id in self.vault_ids:
            args += ["--vault-id", vault_id]
        return args

    def configured(self) -> bool:
        """True when a password source is given, here or in Ansible's own environment."""
        return bool(
            self.password_files
            or self.vault_ids
            or os.environ.get("ANSIBLE_VAULT_PASSWORD_FILE")
            or os.environ.get("ANSIBLE_VAULT_IDENTITY_LIST")
        )


def _mask(value: str) -> None:
    """Hand a clear text to the masking (imported on first use: most runs decrypt nothing)."""
    from deployer.report.masking import add_secret_values

    _REVEALED.add(value)
    add_secret_values([value])


def revealed_texts() -> frozenset[str]:
    """Every clear text decrypted in this process (to mask by value wherever text goes)."""
    return frozenset(_REVEALED)


def is_needed(name: str) -> bool:
    """Tell whether deployer reads variable ``name`` (so a vault value there is decrypted).

    Inventory passwords are never read (become passwords come from the environment or a
    prompt), so a vaulted ``ansible_become_password`` stays encrypted.
    """
    if name in SECRET_VARS:
        return False
    return name in NEEDED_VARIABLES or name.startswith(_NEEDED_PREFIXES)


class _Decrypter:
    def __init__(self, settings: VaultSettings) -> None:
        self.settings = settings
        self.program = shutil.which("ansible-vault")
        self._cache: dict[str, RevealedText] = {}

    def problem(self, host: str, var: str, value: VaultValue) -> InputProblem | None:
        """Why ``value`` cannot be decrypted, or None when it can be tried."""
        if self.program is None:
            return InputProblem(
                f"variable {var} is vault-encrypted and deployer needs its value, but "
                "ansible-vault is not installed",
                file=value.file,
                line=value.line,
                host=host,
                hint="install ansible-core (pip install ansible-core) and pass "
                "--vault-password-file FILE or --vault-id ID@SOURCE",
            )
        if not self.settings.configured():
            return InputProblem(
                f"variable {var} is vault-encrypted and deployer needs its value",
                file=value.file,
                line=value.line,
                host=host,
                hint="pass --vault-password-file FILE or --vault-id ID@SOURCE "
                "(as for ansible-playbook)",
            )
        return None

    def decrypt(self, host: str, var: str, value: VaultValue) -> RevealedText:
        found = self._cache.get(value.ciphertext)
        if found is not None:
            return found
        program = self.program or "ansible-vault"  # problem() checked it is installed
        envelope = "\n".join(line.strip() for line in value.ciphertext.strip().splitlines())
        try:
            result = subprocess.run(
                [program, "decrypt", *self.settings.arguments(), "--output", "-", "-"],
                input=envelope + "\n",
                capture_output=True,
                text=True,
                timeout=_TIMEOUT_S,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise self._error(host, var, value, f"ansible-vault did not run: {exc}") from None
        if result.returncode != 0:
            detail = result.stderr.strip().splitlines()[-1:] or ["no message"]
            raise self._error(host, var, value, f"ansible-vault failed: {detail[0]}")
        clear = RevealedText(result.stdout)
        self._cache[value.ciphertext] = clear
        _mask(str(clear))  # masked in every report, diff and message from now on
        return clear

    @staticmethod
    def _error(host: str, var: str, value: VaultValue, why: str) -> InventoryError:
        return InventoryError(
            [
                InputProblem(
                    f"variable {var}: cannot decrypt the vault value: {why}",
                    file=value.file,
                    line=value.line,
                    host=host,
                    hint="check --vault-password-file/--vault-id (the vault id and password "
                    "that encrypted it)",
                )
            ]
        )


def is_vault_file(path: Path) -> bool:
    """Tell whether ``path`` is a whole file encrypted by ``ansible-vault encrypt``."""
    try:
        with path.open("rb") as handle:
            return handle.read(len(_VAULT_HEADER)) == _VAULT_HEADER
    except OSError:
        return False


def decrypt_file(path: Path, shown: str, settings: VaultSettings) -> tuple[str | None, str]:
    """Decrypt a vault-encrypted vars file; return (clear text, "") or (None, why not).

    Ansible decrypts such a file when it loads it (and fails without a password), so deployer
    does too. Every string of the file is then a secret (see :func:`secret_strings`).
    """
    decrypter = _Decrypter(settings)
    if decrypter.program is None:
        return None, "the file is vault-encrypted and ansible-vault is not installed"
    if not settings.configured():
        return None, "the file is vault-encrypted and no vault password was given"
    try:
        result = subprocess.run(
            [decrypter.program, "decrypt", *settings.arguments(), "--output", "-", str(path)],
            capture_output=True,
            text=True,
            timeout=_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, f"ansible-vault did not run: {exc}"
    if result.returncode != 0:
        detail = result.stderr.strip().splitlines()[-1:] or ["no message"]
        return None, f"ansible-vault failed: {detail[0]}"
    return result.stdout, ""


def secret_strings(value: object) -> object:
    """Return ``value`` with every string in it a :class:`RevealedText`, masked from now on."""
    if isinstance(value, str):
        _mask(value)
        return RevealedText(value)
    if isinstance(value, dict):
        return {k: secret_strings(v) for k, v in value.items()}
    if isinstance(value, list):
        return [secret_strings(v) for v in value]
    return value


def _first_vault(value: object) -> VaultValue | None:
    if isinstance(value, VaultValue):
        return value
    items = (
        value.values() if isinstance(value, Mapping) else value if isinstance(value, list) else ()
    )
    for item in items:
        found = _first_vault(item)
        if found is not None:
            return found
    return None


def _replace(value: object, host: str, var: str, decrypter: _Decrypter) -> object:
    if isinstance(value, VaultValue):
        return decrypter.decrypt(host, var, value)
    if isinstance(value, Mapping):
        return {k: _replace(v, host, f"{var}.{k}", decrypter) for k, v in value.items()}
    if isinstance(value, list):
        return [_replace(v, host, var, decrypter) for v in value]
    return value


def reveal_needed(inventory: Inventory, settings: VaultSettings | None = None) -> Inventory:
    """Return ``inventory`` with every vault value deployer reads decrypted.

    Hosts without such a value are returned as they are (no subprocess at all).

    Raises:
        InventoryError: a needed value cannot be decrypted (no ansible-vault, no password
            source, a wrong password); every such host and variable is listed.
    """
    decrypter = _Decrypter(settings or VaultSettings())
    problems: list[InputProblem] = []
    hosts: list[Host] = []
    for host in inventory.hosts:
        needed = [n for n, v in host.vars.items() if is_needed(n) and contains_vault(v)]
        if not needed:
            hosts.append(host)
            continue
        blocked = False
        for name in needed:
            first = _first_vault(host.vars[name])
            problem = decrypter.problem(host.name, name, first) if first else None
            if problem is not None:
                problems.append(problem)
                blocked = True
        if blocked:
            continue
        values = dict(host.vars)
        for name in needed:
            values[name] = _replace(values[name], host.name, name, decrypter)
        address, port, user = connection_fields(host, values)
        hosts.append(
            dataclasses.replace(
                host, vars=MappingProxyType(values), address=address, port=port, user=user
            )
        )
    if problems:
        raise InventoryError(problems, hint="nothing was touched")
    return dataclasses.replace(inventory, hosts=tuple(hosts))
