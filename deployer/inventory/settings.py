"""How inventories are read in this invocation: the backend and the vault password sources.

Why a context variable: the command line's ``--inventory-backend``, ``--vault-password-file``
and ``--vault-id`` belong to every command that reads an inventory, and threading three more
arguments through each command and each caller of :func:`~deployer.inventory.load_inventory`
would touch them all for options most runs never give. The options set this once per
invocation; library callers can pass their own settings explicitly.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass, field

from deployer.inventory.reveal import VaultSettings

__all__ = ["BACKENDS", "InventorySettings", "current_settings", "use_settings"]

#: ``builtin``: deployer's own reader (the default); ``ansible``: ``ansible-inventory --list``.
BACKENDS = ("builtin", "ansible")


@dataclass(frozen=True, slots=True)
class InventorySettings:
    """The backend and the vault password sources of one invocation."""

    backend: str = "builtin"
    vault: VaultSettings = field(default_factory=VaultSettings)


_CURRENT: ContextVar[InventorySettings] = ContextVar("inventory_settings")


def current_settings() -> InventorySettings:
    """The settings set by :func:`use_settings`, or the defaults."""
    return _CURRENT.get(InventorySettings())


def use_settings(settings: InventorySettings) -> None:
    """Make ``settings`` the ones this invocation (this context) reads inventories with."""
    _CURRENT.set(settings)
