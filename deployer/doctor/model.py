"""What ``doctor`` finds on a host: one verdict per check, each with a hint naming a flag or file.

Why a closed set of verdicts: the screen, the JSON report and the exit code are all derived
from the same values (any ``fail`` is exit 3), so a check cannot be "sort of failed".
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

__all__ = ["Check", "Diagnosis", "Verdict"]


class Verdict(enum.Enum):
    """The result of one check."""

    OK = "ok"
    WARN = "warn"
    FAIL = "fail"
    #: Not run, because what it needs failed earlier (the detail says which).
    SKIP = "skip"


@dataclass(frozen=True, slots=True)
class Check:
    """One check of one host."""

    #: The group: apiserver, etcd, certificates, logs, metrics, manifest.
    group: str
    name: str
    verdict: Verdict
    #: One line: what was seen.
    detail: str
    #: What to do about it, naming the flag or file (empty when nothing is to be done).
    hint: str = ""
    #: Extra lines shown under the check (a log tail, a small table), secrets masked.
    lines: tuple[str, ...] = ()
    #: Figures for the JSON report (request rate, days to expiry ...).
    figures: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))

    def as_dict(self) -> dict[str, object]:
        """The check as the JSON report's ``doctor`` list holds it."""
        entry: dict[str, object] = {
            "group": self.group,
            "check": self.name,
            "verdict": self.verdict.value,
            "detail": self.detail,
        }
        if self.hint:
            entry["hint"] = self.hint
        if self.lines:
            entry["lines"] = list(self.lines)
        if self.figures:
            entry["figures"] = dict(self.figures)
        return entry


@dataclass(frozen=True, slots=True)
class Diagnosis:
    """Every check of one host, in the order they ran."""

    host: str
    checks: tuple[Check, ...] = ()
    #: Why the host could not be examined at all (SSH); its checks are then empty.
    unreachable: str | None = None

    @property
    def failed(self) -> tuple[Check, ...]:
        """The checks whose verdict is ``fail``."""
        return tuple(c for c in self.checks if c.verdict is Verdict.FAIL)

    @property
    def warnings(self) -> tuple[Check, ...]:
        """The checks whose verdict is ``warn``."""
        return tuple(c for c in self.checks if c.verdict is Verdict.WARN)
