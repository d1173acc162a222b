"""Feature gates and ``--emulated-version``: effective gate values and the pre-run checks.

Why separate: from 1.31 the gates are applied in cobra's ``PersistentPreRunE`` (after logging
starts, before ``RunE``), so their errors are logged as ``"command failed"`` and stop the
binary before any other startup check; up to 1.30 pflag itself parsed them (a parse error).
Several startup checks also depend on gate values (``StructuredAuthenticationConfiguration``,
``MultiCIDRServiceAllocator`` ...).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from deployer.schema.gostrconv import GoValueError, go_quote, go_trim_space, parse_bool
from deployer.schema.loader import load_flag_schema, supported_versions
from deployer.schema.model import FlagSchema
from deployer.schema.parsed import ParsedFlags
from deployer.versions import version_table

__all__ = ["GateValues", "gate_values", "prerun_error"]

#: kube-apiserver registers exactly one component with the globals registry (1.31+).
_COMPONENT = "kube"


@functools.cache
def _nearest_listed(minor_number: int) -> FlagSchema | None:
    """The packaged version with a gate list nearest to ``minor_number`` (pure package data)."""
    listed = [load_flag_schema(v) for v in supported_versions()]
    listed = [s for s in listed if s.feature_gates]
    if not listed:
        return None
    return min(listed, key=lambda s: abs(s.minor_number - minor_number))


def _default(schema: FlagSchema, gate: str) -> bool:
    """The version's listed default, else the versions table's facts, else the nearest list.

    The table covers GA gates the lists leave out and defaults that changed between minors.
    """
    if gate in schema.feature_gates:
        return schema.feature_gates[gate].default
    fact = version_table().gate(schema.version, gate)
    if fact is not None:
        return fact.default and not fact.removed
    listed = _nearest_listed(schema.minor_number)
    if listed is not None and gate in listed.feature_gates:
        return listed.feature_gates[gate].default
    return False


@dataclass(frozen=True, slots=True)
class GateValues:
    """The gates set on the command line, over each version's defaults."""

    schema: FlagSchema
    #: Gate -> value as given (only gates that parsed cleanly).
    explicit: Mapping[str, bool]

    def enabled(self, gate: str) -> bool:
        """Return whether ``gate`` is on for this command line."""
        if gate in self.explicit:
            return self.explicit[gate]
        return _default(self.schema, gate)


def _parse_gate_items(items: tuple[str, ...]) -> tuple[dict[str, bool], str | None]:
    """featureGate.Set over joined items: the values, or the first error."""
    out: dict[str, bool] = {}
    for item in ",".join(items).split(","):
        if not item:
            continue
        key, eq, value = item.partition("=")
        key = go_trim_space(key)
        if not eq:
            return out, f"missing bool value for {key}"
        value = go_trim_space(value)
        try:
            out[key] = parse_bool(value)
        except GoValueError as err:
            return out, f"invalid value of {key}={value}, err: {err}"
    return out, None


def _kube_gates(parsed: ParsedFlags) -> tuple[dict[str, bool], str | None]:
    raw = parsed.mapping("feature-gates")
    if not raw or any(isinstance(v, bool) for v in raw.values()):
        # Up to 1.30 pflag's mapStringBool already parsed and checked them.
        return {str(k): v for k, v in raw.items() if isinstance(v, bool)}, None
    groups = {str(k): tuple(str(x) for x in v) for k, v in raw.items() if isinstance(v, tuple)}
    if "" in groups and _COMPONENT in groups:
        return {}, (
            "set kube feature gates with default empty prefix or kube: prefix consistently, "
            "do not mix use"
        )
    for component in groups:
        if component not in ("", _COMPONENT):
            return {}, f"component not registered: {component}"
    return _parse_gate_items(groups.get("", groups.get(_COMPONENT, ())))


def gate_values(parsed: ParsedFlags, schema: FlagSchema) -> GateValues:
    """Return the effective feature gates of a parsed command line."""
    explicit, _ = _kube_gates(parsed)
    return GateValues(schema=schema, explicit=MappingProxyType(explicit))


def _version_flag_error(parsed: ParsedFlags, flag: str) -> str | None:
    """``--emulated-version`` and (1.35+) ``--min-compatibility-version``: the same parser."""
    seen: dict[str, str] = {}
    for item in parsed.strings(flag):
        component, text = _COMPONENT, item  # Go trims only around '='-separated parts
        if "=" in item:
            key, _, value = item.partition("=")
            component, text = go_trim_space(key), go_trim_space(value)
        parts = text.removeprefix("v").split(".")
        if not 2 <= len(parts) <= 3 or not all(p.isdigit() and p.isascii() for p in parts):
            return f"could not parse {go_quote(text)} as version"
        if len(parts) == 3 and int(parts[2]) != 0:
            return f"patch version not allowed, got: {component}={text.removeprefix('v')}"
        shown = ".".join(parts)
        if component in seen:
            return f"duplicate version flag, {component}={seen[component]} and {component}={shown}"
        seen[component] = shown
    for component in seen:
        if component != _COMPONENT:
            return f"component not registered: {component}"
    return None


def prerun_error(parsed: ParsedFlags, schema: FlagSchema) -> str | None:
    """Return the error ``ComponentGlobalsRegistry.Set()`` would return (1.31+), if any.

    Unknown gate names are not reported: the reference lists only non-GA gates, so a name
    missing from the list may still be valid (the validator warns instead).
    """
    if not schema.gates_are_components:
        return None
    for flag in ("emulated-version", "min-compatibility-version"):
        error = _version_flag_error(parsed, flag) if flag in schema.flags else None
        if error:
            return error
    gates, error = _kube_gates(parsed)
    if error:
        return error
    table = version_table()
    for gate, value in gates.items():
        fact = None if gate in schema.feature_gates else table.gate(schema.version, gate)
        if fact is not None and fact.removed:
            return f"unrecognized feature gate: {gate}"
        if fact is not None and fact.locked and value != fact.default:
            shown, locked = str(value).lower(), str(fact.default).lower()
            return f"cannot set feature gate {gate} to {shown}, feature is locked to {locked}"
        if fact is None and schema.feature_gates_complete and gate not in schema.feature_gates:
            return f"unrecognized feature gate: {gate}"
    return None
