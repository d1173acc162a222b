"""Merge variable layers in precedence order and record where every value came from.

Precedence, low to high (documented for operators in ``inventories/production/README.md``):

1. group ``all`` (inline inventory vars, then ``group_vars/all``),
2. other groups by depth (parent before child), then ``ansible_group_priority``, then name;
   for each group its inline vars, then its ``group_vars/`` files,
3. the host (inline inventory vars, then ``host_vars/`` files),
4. ``-e`` extra vars, in command-line order.

``apiserver_flags`` and ``apiserver_extra_env`` merge key by key: a level sets or overrides
single keys, and a key set to ``null`` removes what a lower level set. Every other variable is
replaced whole. A variable set to ``null`` as a whole by-key mapping changes nothing (an empty
``apiserver_flags:`` left after commenting out its lines must not wipe the group's flags).

``apiserver_files`` (a list of ``{path, content | template, ...}``) merges item by item on
``path``: a level's item replaces the lower levels' item of the same path whole, an item with
``state: absent`` removes it, and items keep the order in which their path first appeared.
"""

from __future__ import annotations

from collections.abc import Iterable

from deployer.inventory.draft import MERGED_BY_KEY, MERGED_BY_PATH, Layer
from deployer.model.host import VarOrigin

__all__ = ["Merged", "flag_key", "merge_layers"]


def flag_key(name: str) -> str:
    """Return the name kube-apiserver gives a flag (``--etcd_servers`` is ``etcd-servers``).

    Why here too: a host that overrides ``etcd_servers`` must replace the group's
    ``etcd-servers``, not add a second spelling of the same flag.
    """
    return name.lstrip("-").replace("_", "-")


class Merged:
    """Variables and origins after some layers; copied cheaply to extend per host."""

    __slots__ = ("flag_spelling", "origins", "values")

    def __init__(
        self,
        values: dict[str, object],
        origins: dict[str, VarOrigin],
        flag_spelling: dict[str, str] | None = None,
    ) -> None:
        self.values = values
        self.origins = origins
        #: Normalized flag name -> the spelling currently in ``apiserver_flags``.
        self.flag_spelling = flag_spelling if flag_spelling is not None else {}

    def copy(self) -> Merged:
        """Return a copy that can take more layers without changing this one."""
        values = {
            k: dict(v)
            if k in MERGED_BY_KEY and isinstance(v, dict)
            else list(v)
            if k in MERGED_BY_PATH and isinstance(v, list)
            else v
            for k, v in self.values.items()
        }
        return Merged(values, dict(self.origins), dict(self.flag_spelling))


def _merge_by_key(merged: Merged, var: str, layer: Layer, update: dict[str, object]) -> None:
    current = merged.values.get(var)
    target: dict[str, object] = current if isinstance(current, dict) else {}
    merged.values[var] = target
    lines = layer.sublines.get(var, {})
    is_flags = var == "apiserver_flags"
    spelling = merged.flag_spelling
    for key, value in update.items():
        if is_flags:
            normal = flag_key(key)
            old = spelling.get(normal)
            if old is not None and old != key:  # another spelling of the same flag
                target.pop(old, None)
                merged.origins.pop(f"{var}.{old}", None)
            if value is None:
                spelling.pop(normal, None)
            else:
                spelling[normal] = key
        if value is None:
            target.pop(key, None)
            merged.origins.pop(f"{var}.{key}", None)
            continue
        target[key] = value
        merged.origins[f"{var}.{key}"] = VarOrigin(layer.level, layer.file, lines.get(key))


def _merge_by_path(merged: Merged, var: str, layer: Layer, items: list[object]) -> None:
    current = merged.values.get(var)
    by_path: dict[str, object] = {}
    for item in current if isinstance(current, list) else []:
        if isinstance(item, dict):
            by_path[str(item.get("path"))] = item
    lines = layer.sublines.get(var, {})
    for item in items:
        if not isinstance(item, dict):
            continue
        path = str(item.get("path"))
        if item.get("state") == "absent":
            by_path.pop(path, None)
            merged.origins.pop(f"{var}.{path}", None)
            continue
        by_path[path] = item
        merged.origins[f"{var}.{path}"] = VarOrigin(layer.level, layer.file, lines.get(path))
    merged.values[var] = list(by_path.values())


def apply_layer(merged: Merged, layer: Layer) -> None:
    """Apply one layer on top of ``merged`` (in place)."""
    for var, value in layer.values.items():
        origin = VarOrigin(layer.level, layer.file, layer.lines.get(var))
        if var in MERGED_BY_PATH:
            if isinstance(value, list):
                _merge_by_path(merged, var, layer, value)
                merged.origins[var] = origin
            continue
        if var in MERGED_BY_KEY:
            if isinstance(value, dict):
                _merge_by_key(merged, var, layer, value)
                merged.origins[var] = origin
            continue
        merged.values[var] = value
        merged.origins[var] = origin


def merge_layers(base: Merged | None, layers: Iterable[Layer]) -> Merged:
    """Return ``base`` (copied, not changed) with ``layers`` applied in order."""
    merged = base.copy() if base is not None else Merged({}, {})
    for layer in layers:
        apply_layer(merged, layer)
    return merged
