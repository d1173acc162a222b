"""Offline validation of one host's desired kube-apiserver flags against its version's schema.

Why before anything touches a host: a flag the binary refuses (unknown, removed, a bad value,
a failing startup check) turns into a crash-looping apiserver on the first host of a rollout.
Every problem is reported with the host, the flag, the inventory file and line it came from, and
what to do; deprecations are warnings that do not fail the run.
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Mapping
from types import MappingProxyType

from deployer.errors import InputProblem
from deployer.model.host import VarOrigin
from deployer.schema.gates import gate_values
from deployer.schema.gostrconv import GoValueError
from deployer.schema.loader import load_flag_schema, supported_versions
from deployer.schema.model import FlagSchema, FlagSpec
from deployer.schema.parsed import ParsedFlags, schema_defaults
from deployer.schema.pflag import set_error_text
from deployer.schema.startup import check_startup
from deployer.schema.values import accumulate, parse_flag_value
from deployer.versions import MinorRelease, minor_key, version_table

__all__ = ["REQUIRED_FLAGS", "validate_flags"]

#: Flags a kubeadm-shaped control plane cannot do without (validation.md section 7): the
#: binary needs the first three; kubeadm always sets the verification key file too.
REQUIRED_FLAGS: tuple[str, ...] = (
    "etcd-servers",
    "service-account-issuer",
    "service-account-signing-key-file",
    "service-account-key-file",
)


class _Problems:
    """Builds the problems of one host, locating each flag in the inventory."""

    def __init__(self, host: str, minor: str, origins: Mapping[str, VarOrigin]) -> None:
        self.host = host
        self.minor = minor
        self.origins = origins
        self.items: list[InputProblem] = []
        self._seen: set[tuple[str, str | None]] = set()

    def add(self, message: str, flag: str | None, hint: str, *, is_warning: bool = False) -> None:
        if (message, flag) in self._seen:
            return  # e.g. one message per bad list item: the operator needs it once
        self._seen.add((message, flag))
        origin = self.origins.get(flag) if flag else None
        self.items.append(
            InputProblem(
                message,
                file=origin.file if origin else None,
                line=origin.line if origin else None,
                host=self.host,
                flag=flag,
                hint=hint,
                is_warning=is_warning,
            )
        )


@functools.cache
def _flag_versions() -> Mapping[str, tuple[str, ...]]:
    """Flag name -> the packaged versions that have it (for 'exists in' hints)."""
    index: dict[str, list[str]] = {}
    for minor in supported_versions():
        for name in load_flag_schema(minor).flags:
            index.setdefault(name, []).append(minor)
    return MappingProxyType({k: tuple(v) for k, v in index.items()})


def _runs(versions: tuple[str, ...]) -> str:
    """``1.29-1.37`` for consecutive known minors, comma-separated runs otherwise."""
    known = supported_versions()
    runs: list[list[str]] = []
    for minor in versions:
        if runs and known.index(minor) == known.index(runs[-1][-1]) + 1:
            runs[-1].append(minor)
        else:
            runs.append([minor])
    return ", ".join(r[0] if len(r) == 1 else f"{r[0]}-{r[-1]}" for r in runs)


def _unknown(p: _Problems, schema: FlagSchema, name: str) -> None:
    removed = schema.removed.get(name)
    if removed is not None:
        if removed.removed_in == "n/a":
            message = f"--{name} is not a kube-apiserver flag ({removed.note})"
        else:
            message = f"--{name} was removed in {removed.removed_in} ({removed.note})"
        p.add(
            message,
            name,
            f"remove it: kube-apiserver {p.minor} exits with 'unknown flag: --{name}'",
        )
        return
    versions = _flag_versions().get(name, ())
    if versions:
        shown = _runs(versions)
        message = f"--{name} is not a flag of kube-apiserver {p.minor} (it exists in {shown})"
    else:
        message = f"unknown flag: --{name}"
    hint = f"kube-apiserver {p.minor} exits with 'Error: unknown flag: --{name}'"
    close = difflib.get_close_matches(name, list(schema.flags), n=1, cutoff=0.7)
    if close:
        hint = f"did you mean --{close[0]}? {hint}"
    p.add(message, name, hint)


def _parse_value(p: _Problems, spec: FlagSpec, text: str) -> object | None:
    try:
        value = parse_flag_value(spec, text)
    except GoValueError as err:
        p.add(
            set_error_text(spec, text, err),
            spec.name,
            f"kube-apiserver {p.minor} refuses this value at parse time (exit 1)",
        )
        return None
    if spec.deprecated:
        p.add(
            f"Flag --{spec.name} has been deprecated, {spec.deprecation_message}",
            spec.name,
            "still honoured, but plan to drop it",
            is_warning=True,
        )
    if spec.parser == "stringArray" and "," in text:
        p.add(
            f"--{spec.name} takes one value per occurrence; {text!r} is a single value",
            spec.name,
            "commas are not split for this flag; give one value unless a comma is meant",
            is_warning=True,
        )
    return value


def _advice(p: _Problems, parsed: ParsedFlags, schema: FlagSchema) -> None:
    """Warnings for a kubeadm-shaped control plane: authorizers and listed gate names."""
    modes = parsed.strings("authorization-mode")
    if parsed.is_set("authorization-mode") and not parsed.text("authorization-config"):
        plugins = set(parsed.strings("enable-admission-plugins"))
        if "Node" in modes and "NodeRestriction" not in plugins:
            p.add(
                "authorization-mode Node without the NodeRestriction admission plugin",
                "enable-admission-plugins",
                "kubeadm pairs them: add NodeRestriction to --enable-admission-plugins",
                is_warning=True,
            )
        if "RBAC" not in modes or "Node" not in modes:
            p.add(
                f"authorization-mode {','.join(modes) or '(empty)'} is not kubeadm's Node,RBAC",
                "authorization-mode",
                "kubelets and RBAC-managed users need Node,RBAC on a kubeadm control plane",
                is_warning=True,
            )
    if schema.gates_are_components and schema.feature_gates:
        for gate in gate_values(parsed, schema).explicit:
            if gate not in schema.feature_gates:
                p.add(
                    f"feature gate {gate} is not among the gates listed for {schema.version}",
                    "feature-gates",
                    "only alpha/beta gates are listed; unless it is GA or deprecated, "
                    f"kube-apiserver fails with 'unrecognized feature gate: {gate}'",
                    is_warning=True,
                )


def _emulation_minor(item: str) -> tuple[str, int | None]:
    """(component, minor number) of one ``--emulated-version`` item; None when unparsable."""
    component, _, version = item.rpartition("=")
    parts = version.strip().removeprefix("v").split(".")
    if len(parts) < 2 or not all(p.isdigit() for p in parts[:2]):
        return (component or "kube").strip(), None
    return (component or "kube").strip(), int(parts[1])


def _emulated_version(p: _Problems, parsed: ParsedFlags, schema: FlagSchema) -> None:
    """``--emulated-version`` outside the range the versions table gives for this minor.

    1.31 accepts only ``kube=1.31`` (validation.md section 3); from 1.32 the binary accepts the
    three previous minors (``emulation version %s is not between [%s, %s]``, component-base
    compatibility/version.go; the 1.35 reference page shows ``kube=1.32..1.35``).
    """
    row = version_table().get(schema.version)
    if row is None or len(row.emulation_range) != 2:
        return
    low, high = (minor_key(v)[1] for v in row.emulation_range)
    for item in parsed.strings("emulated-version"):
        component, minor = _emulation_minor(item)
        if component != "kube" or minor is None or low <= minor <= high:
            continue
        if low == high:
            message = (
                f"--emulated-version {item}: kube-apiserver {row.minor} accepts only "
                f"kube={row.minor}"
            )
            hint = f"{row.minor} cannot emulate another version; drop the flag"
        else:
            message = f"emulation version 1.{minor} is not between [1.{low}.0, 1.{high}.0]"
            hint = f"kube-apiserver {row.minor} emulates 1.{low} to 1.{high} only"
        p.add(message, "emulated-version", hint)
    _min_compatibility(p, parsed, row, low, high)


def _min_compatibility(
    p: _Problems, parsed: ParsedFlags, row: MinorRelease, low: int, high: int
) -> None:
    """1.35+: ``--min-compatibility-version`` between the floor and the emulated version."""
    emulated = high
    for item in parsed.strings("emulated-version"):
        component, minor = _emulation_minor(item)
        if component == "kube" and minor is not None:
            emulated = minor
    for item in parsed.strings("min-compatibility-version"):
        component, minor = _emulation_minor(item)
        if component != "kube" or minor is None or low <= minor <= emulated:
            continue
        p.add(
            f"minCompatibilityVersion version 1.{minor} is not between [1.{low}.0, 1.{emulated}.0]",
            "min-compatibility-version",
            f"kube-apiserver {row.minor} keeps compatibility with 1.{low} to the emulated version",
        )


def validate_flags(
    flags: Mapping[str, str],
    minor: str,
    *,
    host: str,
    origins: Mapping[str, VarOrigin],
) -> list[InputProblem]:
    """Return every problem of ``host``'s desired flags for kube-apiserver ``minor``.

    ``flags`` maps normalized flag names to their command-line text (``deployer.desired``);
    ``origins`` maps the same names to where the inventory set them. Problems with
    ``is_warning=True`` (deprecations, advice) do not fail a run.
    """
    p = _Problems(host, minor, origins)
    if minor not in supported_versions():
        p.add(
            f"no flag schema for kube-apiserver {minor}",
            None,
            f"supported: {', '.join(supported_versions())}",
        )
        return p.items
    schema = load_flag_schema(minor)
    values = schema_defaults(schema).copy()
    given: list[str] = []
    for raw_name, text in flags.items():
        name = raw_name.lstrip("-").replace("_", "-")
        spec = schema.flags.get(name)
        if spec is None:
            _unknown(p, schema, name)
            continue
        if name in ("help", "version"):
            p.add(f"--{name} makes kube-apiserver print and exit", name, "remove it")
            continue
        value = _parse_value(p, spec, text)
        if value is not None:
            values[name] = accumulate(spec, None, value)
            given.append(name)
    parsed = ParsedFlags(
        schema_version=minor,
        values=MappingProxyType(values),
        set_flags=frozenset(given),
        order=tuple(given),
    )
    blamed: set[str] = set()
    for error in check_startup(parsed, schema):
        if error.flag:
            blamed.add(error.flag)
        p.add(
            error.message,
            error.flag,
            f"kube-apiserver {minor} would exit at startup with this error",
        )
    for name in REQUIRED_FLAGS:
        if name not in given and name not in blamed:
            p.add(
                f"--{name} is required for a kubeadm-shaped control plane",
                name,
                f"set apiserver_flags.{name} (kubeadm: see /etc/kubernetes/manifests)",
            )
    _advice(p, parsed, schema)
    _emulated_version(p, parsed, schema)
    return p.items
