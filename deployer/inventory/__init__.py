"""Ansible-compatible inventories: files in, :class:`~deployer.model.inventory.Inventory` out.

Public API:

* :func:`load_inventory` / :func:`load_inventory_with_warnings`: YAML, INI, directories,
  ``group_vars/``, ``host_vars/`` and ``-e`` extra vars, merged with provenance;
* :func:`select_hosts`: Ansible ``--limit`` patterns;
* :func:`explain_host`: each variable of a host and where it came from.

This package depends only on :mod:`deployer.model`, :mod:`deployer.errors` and, to mask
decrypted vault values, :mod:`deployer.report.masking`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from deployer.inventory.loader import load_inventory, load_inventory_with_warnings
from deployer.inventory.patterns import select_hosts
from deployer.lazy_exports import lazy_getattr

if TYPE_CHECKING:
    from deployer.inventory.explain import explain_host

__all__ = ["explain_host", "load_inventory", "load_inventory_with_warnings", "select_hosts"]

# explain_host on first use: every plan loads inventories, few explain one.
__getattr__ = lazy_getattr(__name__, {"explain_host": "explain"}, globals())
