"""What a startup check reports, and when in the binary's startup it would fire.

Why the stage matters: the real binary stops at the first stage that fails and reports only that
stage's errors (pre-run gate errors alone, ``Validate()`` errors all together as ``[a, b]``), so
the lab's stand-in needs the stage to log the same ``err="..."``; the offline validator shows all.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from deployer.schema.gates import GateValues
from deployer.schema.model import FlagSchema
from deployer.schema.parsed import ParsedFlags

__all__ = ["CheckContext", "Stage", "StartupError"]


class Stage(enum.IntEnum):
    """Startup stages in the order the binary runs them (``cmd/kube-apiserver/app/server.go``)."""

    #: ``PersistentPreRunE``: ``--emulated-version`` and ``--feature-gates`` (1.31+).
    PRE_RUN = 1
    #: ``logsapi.ValidateAndApply``: the logging flags.
    LOGGING = 2
    #: ``Complete()``: defaulting; the first error stops it.
    COMPLETE = 3
    #: ``Validate()``: every error is collected and reported as one aggregate.
    VALIDATE = 4
    #: Building the server config after ``Validate()`` (TLS names, watch cache sizes).
    CONFIG = 5

    @property
    def aggregates(self) -> bool:
        """True when the binary reports all of this stage's errors, not just the first."""
        return self in (Stage.LOGGING, Stage.VALIDATE)


@dataclass(frozen=True, slots=True)
class StartupError:
    """One reason kube-apiserver would exit instead of serving."""

    #: Exactly the text the binary logs (inside ``err="..."``, before klog's quoting).
    message: str
    #: The flag to blame, without dashes, when one flag is to blame.
    flag: str | None
    stage: Stage


@dataclass(frozen=True, slots=True)
class CheckContext:
    """What every rule reads: the parsed flags, their version's schema and the gate values."""

    parsed: ParsedFlags
    schema: FlagSchema
    gates: GateValues

    @property
    def minor(self) -> int:
        """The minor version number (``31`` for 1.31)."""
        return self.schema.minor_number

    def has_flag(self, name: str) -> bool:
        """Return whether ``--name`` exists in this version."""
        return name in self.schema.flags
