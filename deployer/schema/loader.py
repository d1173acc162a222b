"""Load the packaged per-version flag schemas (``deployer/schema/data/<minor>.json``).

Which minors exist and which file holds each is the versions table's answer
(:mod:`deployer.versions`), not a directory listing.

Why ``importlib.resources`` and ``functools.cache``: the data ships inside the package (the
runtime never reads the shared reference), is immutable, and is asked for once per host; parsing
it once per process keeps validating a thousand hosts cheap. The cache holds only pure results
of immutable package data, so it cannot leak state between callers.
"""

from __future__ import annotations

import functools
import json
from types import MappingProxyType
from typing import Any

from deployer.errors import InputError
from deployer.schema.model import FeatureGate, FlagSchema, FlagSpec, RemovedFlag
from deployer.versions import data_folder, version_table

__all__ = ["load_flag_schema", "supported_versions"]


def supported_versions() -> tuple[str, ...]:
    """Return the minor versions of the versions table, oldest first (``("1.28", ...)``)."""
    return version_table().minors


def _spec(name: str, raw: dict[str, Any]) -> FlagSpec:
    return FlagSpec(
        name=name,
        type=str(raw["type"]),
        default=str(raw["default"]),
        deprecated=bool(raw["deprecated"]),
        deprecation_message=str(raw["deprecation_message"]),
        hidden=bool(raw["hidden"]),
        no_opt_default=str(raw["no_opt_default"]),
        shorthand=str(raw["shorthand"]),
        parser=str(raw["parser"]),
    )


@functools.cache
def load_flag_schema(minor: str) -> FlagSchema:
    """Return the flag schema of kube-apiserver ``minor`` (``"1.31"``).

    Raises:
        InputError: no schema is packaged for that version.
    """
    row = version_table().get(minor)
    if row is None:
        known = ", ".join(supported_versions())
        raise InputError(f"no kube-apiserver flag schema for {minor!r}", hint=f"supported: {known}")
    text = data_folder().joinpath(row.schema).read_text(encoding="utf-8")
    doc = json.loads(text)
    flags = {name: _spec(name, raw) for name, raw in doc["flags"].items()}
    gates = {
        name: FeatureGate(name=name, stage=str(g["stage"]), default=bool(g["default"]))
        for name, g in doc["feature_gates"].items()
    }
    removed = {
        name: RemovedFlag(name=name, removed_in=str(r["removed_in"]), note=str(r["note"]))
        for name, r in doc["removed"].items()
    }
    return FlagSchema(
        version=str(doc["version"]),
        flags=MappingProxyType(flags),
        admission_plugins=frozenset(doc["admission_plugins"]),
        admission_plugins_enabled_by_default=tuple(doc["admission_plugins_enabled_by_default"]),
        feature_gates=MappingProxyType(gates),
        feature_gates_complete=bool(doc["feature_gates_complete"]),
        removed=MappingProxyType(removed),
        shorthands=MappingProxyType({s.shorthand: s for s in flags.values() if s.shorthand}),
        confidence=str(doc.get("confidence", "")),
    )
