"""Ansible Vault values and ``!unsafe`` strings as inventories carry them.

Why opaque: Ansible keeps a ``!vault`` value encrypted until a task uses it (its
``EncryptedString``, ``lib/ansible/parsing/vault/__init__.py``), so an inventory full of
vaulted database passwords loads without a password. deployer does the same: a
:class:`VaultValue` is carried through the merge untouched, and only a value deployer must
read (see :mod:`deployer.inventory.reveal`) is decrypted, by ``ansible-vault`` itself.

``!unsafe`` (Ansible's "never template this") is a plain string here, since deployer never
templates inventory values; :class:`UnsafeText` only lets the loader skip the Jinja warning.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["UnsafeText", "VaultValue", "contains_vault"]


@dataclass(frozen=True, slots=True)
class VaultValue:
    """An encrypted ``!vault`` value: the ciphertext, and where it was written."""

    #: The ``$ANSIBLE_VAULT;1.1;AES256`` envelope as written in the file.
    ciphertext: str = field(repr=False)
    #: The file and line it came from, for the error when its clear text is needed.
    file: str | None = None
    line: int | None = None

    def __str__(self) -> str:
        return "<vault-encrypted>"


class UnsafeText(str):
    """A ``!unsafe`` string: never templated (and so never warned about for ``{{``)."""

    __slots__ = ()


def contains_vault(value: object) -> bool:
    """Tell whether ``value`` is, or holds somewhere inside it, a :class:`VaultValue`."""
    if isinstance(value, VaultValue):
        return True
    if isinstance(value, dict):
        return any(contains_vault(v) for v in value.values())
    if isinstance(value, list):
        return any(contains_vault(v) for v in value)
    return False
