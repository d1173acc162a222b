"""Per-version facts about companion files, read from the package's own data files.

Why one module reads both files: a validator asks "which (apiVersion, kind) does 1.31 accept for
``--authentication-config``, how strictly is it decoded, which fields exist, and what did the
binary say then" in one breath; keeping the version arithmetic here leaves the validators free of
``if minor >= (1, 34)`` tables. Versions are plain ``"major.minor"`` strings so this package does
not depend on which flag schemas are packaged (``deployer/schema/data`` grows on its own).

The data is immutable package data parsed once per process (``functools.cache``), like
:mod:`deployer.schema.loader`.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any, cast

from deployer.errors import InputError, InputProblem

__all__ = [
    "KINDS",
    "Gvk",
    "LoaderFacts",
    "field_tree",
    "flag_kinds",
    "kind_extra",
    "gate_default",
    "loader_facts",
    "message",
    "minor_key",
    "since",
    "supported_minors",
]

_DATA_PACKAGE = "deployer.companions.data"

#: The kinds this package validates, by the name an inventory declares (``kind:``).
KINDS = (
    "Policy",
    "EncryptionConfiguration",
    "AuthenticationConfiguration",
    "AuthorizationConfiguration",
    "AdmissionConfiguration",
    "EgressSelectorConfiguration",
    "TracingConfiguration",
)


@dataclass(frozen=True, slots=True)
class Gvk:
    """An ``apiVersion`` and ``kind`` pair as written in a file (``apiserver.config.k8s.io/v1``)."""

    api_version: str
    kind: str

    def __str__(self) -> str:
        return f"{self.api_version}, Kind={self.kind}"


@dataclass(frozen=True, slots=True)
class LoaderFacts:
    """How one minor's kube-apiserver loads one kind of companion file."""

    kind: str
    minor: str
    #: The flag naming the file, without dashes.
    flag: str
    #: ``strict`` (unknown fields fail), ``strict-then-lenient`` (they warn), ``lenient``
    #: (they are dropped) or ``kind-only`` (only ``kind`` is read, apiVersion ignored).
    decoding: str
    #: The (apiVersion, kind) pairs the loader accepts; empty when the minor has no such file.
    accepted: tuple[Gvk, ...]
    #: Where the facts come from.
    source: str
    #: The loader's text for a file of another registered kind (``{gvk}``/``{kind}`` filled in).
    other_kind: str = ""


def minor_key(minor: str) -> tuple[int, int]:
    """Return ``(1, 31)`` for ``"1.31"``; raise InputError for anything else."""
    major, dot, rest = minor.partition(".")
    if not (dot and major.isdigit() and rest.isdigit()):
        raise InputError(
            f"Kubernetes version {minor!r} is not of the form major.minor", hint='e.g. "1.31"'
        )
    return int(major), int(rest)


@functools.cache
def _load(name: str) -> Mapping[str, Any]:
    text = resources.files(_DATA_PACKAGE).joinpath(name).read_text(encoding="utf-8")
    return cast(Mapping[str, Any], json.loads(text))


@functools.cache
def supported_minors() -> tuple[str, ...]:
    """Return the minors with field data, oldest first."""
    return tuple(sorted(_load("fields.json")["versions"], key=minor_key))


def _check_minor(minor: str) -> None:
    if minor not in supported_minors():
        known = ", ".join(supported_minors())
        raise InputError(
            (
                InputProblem(
                    f"no companion-file facts for Kubernetes {minor}", hint=f"known: {known}"
                ),
            )
        )


def _pick(entries: Sequence[Any], minor: str) -> Any:
    """Return the value of the last ``[from, value]`` (or ``{"from": ...}``) entry <= ``minor``."""
    chosen: Any = None
    for entry in entries:
        start = entry["from"] if isinstance(entry, Mapping) else entry[0]
        if minor_key(start) <= minor_key(minor):
            chosen = entry
    return chosen


@functools.cache
def loader_facts(kind: str, minor: str) -> LoaderFacts:
    """Return how kube-apiserver ``minor`` loads a file of ``kind``."""
    _check_minor(minor)
    raw = _load("loaders.json")["kinds"][kind]
    decoding = _pick(raw["decoding"], minor)
    accept = _pick(raw["accept"], minor)
    gvks = tuple(Gvk(a, k) for a, k in accept["gvks"]) if accept else ()
    return LoaderFacts(
        kind=kind,
        minor=minor,
        flag=str(raw["flag"]),
        decoding=str(decoding["mode"]) if decoding else "strict",
        accepted=gvks,
        source=str(raw["source"]),
        other_kind=str(raw.get("other_kind", "")),
    )


@functools.cache
def flag_kinds() -> Mapping[str, str]:
    """Return flag name (no dashes) -> the kind of file that flag names, for every kind."""
    kinds = _load("loaders.json")["kinds"]
    return {str(kinds[kind]["flag"]): kind for kind in KINDS}


def kind_extra(kind: str, key: str) -> tuple[str, ...]:
    """Return a list-valued extra fact of ``kind`` (``authorizer_types`` ...)."""
    return tuple(_load("loaders.json")["kinds"][kind][key])


@functools.cache
def gate_default(gate: str, minor: str) -> bool:
    """Return the default of ``gate`` in ``minor``; a removed gate's feature is always on."""
    entry = _pick(_load("loaders.json")["gates"][gate], minor)
    if entry is None:
        return False
    value = entry[1]
    return True if value is None else bool(value)


def message(key: str, minor: str) -> str:
    """Return the text upstream used in ``minor`` for the message ``key``."""
    entry = _pick(_load("loaders.json")["messages"][key], minor)
    if entry is None:
        entry = _load("loaders.json")["messages"][key][0]
    return str(entry[1])


def since(change: str, minor: str) -> bool:
    """Return True when the check named ``change`` exists in ``minor``."""
    start = _load("loaders.json")["changes"][change][0]
    return minor_key(minor) >= minor_key(start)


def field_tree(gvk: Gvk, minor: str) -> Mapping[str, Any] | None:
    """Return the JSON field tree of ``gvk`` in ``minor``, or None when it is not registered."""
    data = _load("fields.json")
    schema_id = data["versions"][minor]["kinds"].get(f"{gvk.api_version}/{gvk.kind}")
    return None if schema_id is None else cast(Mapping[str, Any], data["schemas"][schema_id])
