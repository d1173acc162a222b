"""The group tree: implicit ``all``/``ungrouped``, cycles, depths and ancestors.

Why depths: variables of a child group override its parent's, and Ansible orders a host's
groups by (depth, ``ansible_group_priority``, name) to decide which group wins. A group's depth
is the length of the longest path from ``all`` to it.
"""

from __future__ import annotations

from collections.abc import Mapping

from deployer.inventory.draft import Draft

__all__ = ["GroupTree", "build_tree", "hosts_in_order", "link_implicit_groups"]


class GroupTree:
    """Parents, depths and ancestor sets of every group, computed once per load."""

    def __init__(self, parents: Mapping[str, tuple[str, ...]], depth: Mapping[str, int]) -> None:
        self.parents = parents
        self.depth = depth
        self._ancestors: dict[str, frozenset[str]] = {}

    def ancestors(self, group: str) -> frozenset[str]:
        """Return ``group`` and every group above it (``all`` included)."""
        found = self._ancestors.get(group)
        if found is None:
            result = {group}
            for parent in self.parents.get(group, ()):
                result |= self.ancestors(parent)
            found = self._ancestors[group] = frozenset(result)
        return found


def link_implicit_groups(draft: Draft) -> None:
    """Hang parentless groups under ``all``; put in ``ungrouped`` exactly the lone hosts.

    This is ansible-core's ``InventoryData.reconcile_inventory`` (``lib/ansible/inventory/
    data.py``): afterwards ``all`` is the root of one tree, a host in any group other than
    ``all``/``ungrouped`` is no longer in ``ungrouped`` (an INI host listed before the first
    section and again under ``[control_plane]``), and a host in no group joins it. Run it
    before reading ``group_vars/`` so that ``group_vars/ungrouped.yml`` finds its group.
    """
    has_parent = {child for g in draft.groups.values() for child in g.children}
    for name in list(draft.groups):
        if name != "all" and name not in has_parent:
            draft.add_child("all", name, None, None)
    others = {
        h for name, g in draft.groups.items() if name not in ("all", "ungrouped") for h in g.hosts
    }
    ungrouped = draft.groups["ungrouped"].hosts
    for host in draft.hosts:
        if host in ungrouped and host in others:
            del ungrouped[host]
        elif host not in ungrouped and host not in others:
            ungrouped[host] = None


def hosts_in_order(draft: Draft, group: str) -> list[str]:
    """Return the hosts of ``group`` (through its children) in ansible-core's order.

    That order is ``Group.get_hosts`` (``lib/ansible/inventory/group.py``): the group's own
    hosts, then those of its children in the order they were added, then of their children
    level by level; each host once. It is the order ``group[0]`` indexes and, for ``all``,
    the order Ansible walks hosts in (``serial``), so it is deployer's rollout order too.
    """
    groups = draft.groups
    ordered = [group, *groups[group].children]
    seen = set(ordered)
    level = list(groups[group].children)
    while level:
        following: list[str] = []
        for parent in level:
            for child in groups[parent].children:
                if child not in seen:
                    ordered.append(child)
                    following.append(child)
        seen.update(following)
        level = following
    hosts: dict[str, None] = {}
    for name in ordered:
        for host in groups[name].hosts:
            hosts.setdefault(host, None)
    return list(hosts)


def _find_cycles(draft: Draft) -> None:
    """Report every group that is its own ancestor, with the declaration closing the loop."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    reported: set[frozenset[str]] = set()

    def visit(name: str, path: list[str]) -> None:
        state[name] = 1
        path.append(name)
        for child, (file, line) in draft.groups[name].children.items():
            if state.get(child) == 1:
                loop = [*path[path.index(child) :], child]
                key = frozenset(loop)
                if key not in reported:
                    reported.add(key)
                    draft.error(
                        f"group {child} is its own ancestor: {' -> '.join(loop)}",
                        file=file,
                        line=line,
                        hint=f"remove {child} from the children of {name}",
                    )
            elif state.get(child) is None:
                visit(child, path)
        path.pop()
        state[name] = 2

    for name in list(draft.groups):
        if state.get(name) is None:
            visit(name, [])


def build_tree(draft: Draft) -> GroupTree | None:
    """Complete the implicit groups and compute depths; None when a cycle makes that impossible.

    Cycles are recorded as problems in ``draft``.
    """
    link_implicit_groups(draft)
    before = len(draft.problems)
    _find_cycles(draft)
    if len(draft.problems) > before:
        return None
    parents: dict[str, list[str]] = {name: [] for name in draft.groups}
    for name, group in draft.groups.items():
        for child in group.children:
            parents[child].append(name)
    depth: dict[str, int] = {}

    def depth_of(name: str) -> int:
        found = depth.get(name)
        if found is None:
            found = depth[name] = (
                0 if name == "all" else 1 + max((depth_of(p) for p in parents[name]), default=0)
            )
        return found

    for name in draft.groups:
        depth_of(name)
    return GroupTree({k: tuple(v) for k, v in parents.items()}, depth)
