"""The result of parsing a kube-apiserver command line: typed values plus what was set.

Why a separate value: the startup validation, the offline validator and the lab's apiserver
stand-in all read flag values the same way (typed, defaults filled in, "was it given?"), whether
the values came from an argv (:func:`~deployer.schema.pflag.parse_command_line`) or from an
inventory's flag mapping.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from deployer.schema.loader import load_flag_schema, supported_versions
from deployer.schema.model import FlagSchema
from deployer.schema.values import default_value
from deployer.schema.valuetypes import Duration, PortRange

__all__ = ["ParsedFlags", "schema_defaults"]


_EMPTY: Mapping[str, object] = MappingProxyType({})


@functools.cache
def _packaged_defaults(minor: str) -> MappingProxyType[str, object]:
    schema = load_flag_schema(minor)
    return MappingProxyType({n: default_value(s) for n, s in schema.flags.items()})


def schema_defaults(schema: FlagSchema) -> MappingProxyType[str, object]:
    """Return every flag's typed default (computed once per packaged version)."""
    if schema.version in supported_versions() and load_flag_schema(schema.version) is schema:
        return _packaged_defaults(schema.version)
    return MappingProxyType({n: default_value(s) for n, s in schema.flags.items()})


@dataclass(frozen=True, slots=True)
class ParsedFlags:
    """Typed flag values of one kube-apiserver command line."""

    #: The minor version whose flag set parsed this.
    schema_version: str
    #: Every flag of the schema -> typed value (the default when not given; ``None`` for an
    #: unset ``ip``/number without a default).
    values: Mapping[str, object]
    #: Flags given on the command line (pflag's ``Changed``).
    set_flags: frozenset[str]
    #: Flags in the order they were first given.
    order: tuple[str, ...] = ()
    #: The texts given per flag, in order (one per occurrence).
    raw: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))
    #: Positional arguments (only empty strings survive parsing).
    args: tuple[str, ...] = ()
    #: What pflag printed to stderr while parsing (deprecation warnings), in order.
    warnings: tuple[str, ...] = ()

    def any_set(self, names: frozenset[str]) -> bool:
        """Return whether any of ``names`` was given (rules skip work on pure defaults)."""
        return not self.set_flags.isdisjoint(names)

    def is_set(self, name: str) -> bool:
        """Return whether ``--name`` was given (even with its default value)."""
        return name in self.set_flags

    @property
    def help_requested(self) -> bool:
        """True when ``-h``/``--help`` was given: the binary prints usage and exits 0."""
        return self.values.get("help") is True

    @property
    def version_requested(self) -> str:
        """``false``, ``true``, ``raw`` or a ``v...`` override given to ``--version``."""
        value = self.values.get("version", "false")
        return value if isinstance(value, str) else "false"

    def text(self, name: str) -> str:
        """Return a ``string`` flag's value (``""`` when unset or unknown in this version)."""
        value = self.values.get(name, "")
        return value if isinstance(value, str) else ""

    def strings(self, name: str) -> tuple[str, ...]:
        """Return a ``stringSlice``/``stringArray`` flag's values (``()`` when empty)."""
        value = self.values.get(name, ())
        return value if type(value) is tuple else ()

    def integer(self, name: str, default: int = 0) -> int:
        """Return an integer flag's value."""
        value = self.values.get(name)
        return value if isinstance(value, int) and not isinstance(value, bool) else default

    def number(self, name: str, default: float = 0.0) -> float:
        """Return a float flag's value."""
        value = self.values.get(name)
        if isinstance(value, bool) or not isinstance(value, int | float):
            return default
        return float(value)

    def boolean(self, name: str, default: bool = False) -> bool:
        """Return a bool flag's value."""
        value = self.values.get(name)
        return value if isinstance(value, bool) else default

    def duration_ns(self, name: str) -> int:
        """Return a ``duration`` flag's value in nanoseconds (0 when unset)."""
        value = self.values.get(name)
        return value.ns if isinstance(value, Duration) else 0

    def mapping(self, name: str) -> Mapping[str, object]:
        """Return a map flag's value (``{}`` when empty or unknown)."""
        value = self.values.get(name)
        return value if isinstance(value, MappingProxyType | dict) else _EMPTY

    def port_range(self, name: str) -> PortRange:
        """Return a ``portRange`` flag's value."""
        value = self.values.get(name)
        return value if isinstance(value, PortRange) else PortRange(0, 0)
