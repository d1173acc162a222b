"""The inventory: the ordered set of hosts one run works on."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from deployer.errors import InventoryError
from deployer.model.host import Host

__all__ = ["Inventory"]


def _no_groups() -> Mapping[str, tuple[str, ...]]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Inventory:
    """Hosts in rollout order, and the groups that name them.

    Why the order matters: apply walks hosts in this order, one (or ``serial``) at a time. It
    is the order Ansible walks the same inventory in (group ``all``'s own hosts, then its
    child groups' in the order they were declared, level by level).
    """

    hosts: tuple[Host, ...]
    #: group name -> host names (direct and through child groups), in the group's order.
    groups: Mapping[str, tuple[str, ...]] = field(default_factory=_no_groups)
    #: The inventory sources this was loaded from, for messages.
    sources: tuple[str, ...] = ()
    #: Host names in the order the sources first declared them (Ansible matches host name
    #: patterns in this order, which ``glob[0]`` indexes); empty means the rollout order.
    declared: tuple[str, ...] = ()

    def __getitem__(self, name: str) -> Host:
        """Return the host called ``name``.

        Raises:
            InventoryError: no such host (never a bare ``KeyError``).
        """
        for host in self.hosts:
            if host.name == name:
                return host
        known = ", ".join(h.name for h in self.hosts) or "none"
        raise InventoryError(f"no host named {name!r} in the inventory (hosts: {known})")

    def __iter__(self) -> Iterator[Host]:
        return iter(self.hosts)

    def __len__(self) -> int:
        return len(self.hosts)

    @property
    def names(self) -> tuple[str, ...]:
        """Host names in rollout order."""
        return tuple(h.name for h in self.hosts)
