"""The flag schema of one kube-apiserver minor version, as immutable values.

Why frozen dataclasses over the packaged JSON: every layer (the offline validator, the lab's
kube-apiserver stand-in, the renderer's hints) asks the same questions ("is --x a flag in 1.31,
what type, deprecated since when") and must not be able to change the answers for the others.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["FeatureGate", "FlagSchema", "FlagSpec", "RemovedFlag"]


@dataclass(frozen=True, slots=True)
class FlagSpec:
    """One registered kube-apiserver flag, as pflag sees it."""

    #: Normalized name, without dashes (``etcd-servers``).
    name: str
    #: pflag ``Value.Type()`` (``stringSlice``, ``duration``, ``ip`` ...).
    type: str
    #: Default as command-line text (``""`` = empty/unset).
    default: str
    deprecated: bool
    #: What pflag prints after ``Flag --x has been deprecated, ``.
    deprecation_message: str
    hidden: bool
    #: Value used when the flag is given without ``=value`` (bool flags, ``--version``).
    no_opt_default: str
    #: Single-letter alias (``v`` for ``-v``), or ``""``.
    shorthand: str
    #: The value parser to use: the type, refined where one pflag type hides two Go values
    #: (``configurationMap`` vs ``mapStringStringNoSplit``; ``goflag.int64`` for Go ``flag``).
    parser: str

    @property
    def is_bool(self) -> bool:
        """True for flags that take no value on the command line (``--profiling``)."""
        return self.type == "bool"

    @property
    def display_name(self) -> str:
        """The flag's name as pflag quotes it in errors (``-v, --v`` when it has a shorthand)."""
        if self.shorthand:
            return f"-{self.shorthand}, --{self.name}"
        return f"--{self.name}"


@dataclass(frozen=True, slots=True)
class RemovedFlag:
    """A flag kube-apiserver no longer has; using it fails with ``unknown flag``."""

    name: str
    #: Minor version that removed it (``1.24``), or ``n/a`` when it never was a real flag.
    removed_in: str
    note: str


@dataclass(frozen=True, slots=True)
class FeatureGate:
    """A feature gate the reference lists for a version (non-GA, non-deprecated gates only)."""

    name: str
    stage: str
    default: bool


@dataclass(frozen=True, slots=True)
class FlagSchema:
    """Everything known about one minor version's command line."""

    #: Minor version (``1.31``).
    version: str
    #: Normalized flag name -> spec.
    flags: Mapping[str, FlagSpec]
    #: Registered admission plugin names.
    admission_plugins: frozenset[str]
    #: Plugins on by default, when the reference lists them (empty otherwise).
    admission_plugins_enabled_by_default: tuple[str, ...]
    #: Listed feature gates; empty when the reference lists none for this version.
    feature_gates: Mapping[str, FeatureGate]
    #: True only if ``feature_gates`` is every gate the binary knows (never so far).
    feature_gates_complete: bool
    #: Flags removed in or before this version, by name.
    removed: Mapping[str, RemovedFlag]
    #: Shorthand letter -> spec.
    shorthands: Mapping[str, FlagSpec]
    #: How sure the reference is about this version's flag set (``high``, ``medium`` ...).
    confidence: str = ""

    @property
    def gates_are_components(self) -> bool:
        """True from 1.31: ``--feature-gates`` is per component and applied before ``RunE``.

        Read from the flag's type in the data (``colonSeparatedMultimapStringString``), not
        from the version number, so a new minor needs no code change.
        """
        spec = self.flags.get("feature-gates")
        return spec is not None and spec.type == "colonSeparatedMultimapStringString"

    @property
    def minor_number(self) -> int:
        """The minor as an integer (``31`` for ``1.31``), for version-dependent rules."""
        return int(self.version.split(".")[1])
