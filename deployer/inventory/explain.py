"""Explain a host's variables: each value and where it came from.

Why: with five precedence levels and key-by-key flag merging, "why does cp3 get
``--audit-log-maxage=7``?" must be answerable without reading every file. This feeds
``deployer inventory show HOST --explain``.
"""

from __future__ import annotations

from collections.abc import Mapping

from deployer.inventory.draft import MERGED_BY_KEY, MERGED_BY_PATH
from deployer.model.host import Host, VarOrigin

__all__ = ["explain_host"]


def explain_host(host: Host) -> list[tuple[str, object, VarOrigin | None]]:
    """Return ``(name, value, origin)`` rows for every variable of ``host``, sorted by name.

    ``apiserver_flags`` and ``apiserver_extra_env`` are shown one row per key
    (``apiserver_flags.audit-log-maxage``), since each key can come from a different level;
    ``apiserver_files`` one row per path (``apiserver_files./etc/kubernetes/audit.yaml``).
    Secrets stay :class:`~deployer.model.host.Secret` values, which print as ``***``.

    >>> from deployer.model.host import Host, VarOrigin
    >>> h = Host("cp1", "cp1", vars={"serial": 1},
    ...          origins={"serial": VarOrigin("all", "group_vars/all.yml", 3)})
    >>> [(n, v, str(o)) for n, v, o in explain_host(h)]
    [('serial', 1, 'group_vars/all.yml:3 (all)')]
    """
    rows: list[tuple[str, object, VarOrigin | None]] = []
    for name in sorted(host.vars):
        value = host.vars[name]
        if name in MERGED_BY_KEY and isinstance(value, Mapping):
            for key in sorted(value, key=str):
                full = f"{name}.{key}"
                rows.append((full, value[key], host.origins.get(full, host.origins.get(name))))
            continue
        if name in MERGED_BY_PATH and isinstance(value, list):
            items = [i for i in value if isinstance(i, Mapping)]
            for item in sorted(items, key=lambda i: str(i.get("path"))):
                full = f"{name}.{item.get('path')}"
                rows.append((full, item, host.origins.get(full, host.origins.get(name))))
            continue
        rows.append((name, value, host.origins.get(name)))
    return rows
