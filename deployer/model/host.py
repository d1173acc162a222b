"""Hosts as the inventory describes them, and secrets that never print themselves."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

__all__ = ["Host", "Secret", "VarOrigin"]


def _empty() -> Mapping[str, object]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Secret:
    """A string that never prints itself (cf. pyinfra's MaskString).

    Why: passwords and key passphrases pass through reports, logs and diffs; a plain ``str``
    would leak there the first time someone formats it.
    """

    value: str = field(repr=False)

    def __str__(self) -> str:
        return "***"


@dataclass(frozen=True, slots=True)
class VarOrigin:
    """Where a variable's value came from, for ``inventory show --explain``."""

    #: Precedence level: ``all``, ``group:<name>``, ``host``, ``extra``.
    level: str
    #: The file that set it (``-e`` on the command line has ``<command line>``).
    file: str
    #: 1-based line in ``file`` where the key is, when known.
    line: int | None = None

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where} ({self.level})"


@dataclass(frozen=True, slots=True)
class Host:
    """A control-plane node as the inventory describes it.

    ``name`` is the inventory name and also the Kubernetes node name; ``address`` is what the
    transport connects to (``ansible_host`` or the name).
    """

    name: str
    address: str
    port: int = 22
    user: str | None = None
    transport: str = "ssh"
    #: Every group the host belongs to, ancestors included (``all`` always).
    groups: frozenset[str] = frozenset()
    #: The merged variables, after the documented precedence.
    vars: Mapping[str, object] = field(default_factory=_empty)
    #: For each merged variable (``apiserver_flags.<flag>`` for single flags), its origin.
    origins: Mapping[str, VarOrigin] = field(default_factory=lambda: MappingProxyType({}))
