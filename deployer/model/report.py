"""What a run did, per host and in total: the data behind the console recap and the JSON report."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from deployer.errors import DeployerError

__all__ = ["CommandResult", "HostReport", "Outcome", "PhaseRecord", "RestartRecord", "RunReport"]


@dataclass(frozen=True, slots=True)
class CommandResult:
    """A finished remote (or local) command."""

    host: str
    #: The argv as run; display it through the masking helpers only.
    argv: tuple[str, ...]
    exit_code: int
    stdout: str
    stderr: str
    duration_s: float

    @property
    def ok(self) -> bool:
        """True when the command exited 0."""
        return self.exit_code == 0


class Outcome(enum.Enum):
    """What happened to one host in a run (the JSON report's ``outcome``)."""

    UNCHANGED = "unchanged"
    CHANGED = "changed"
    ROLLED_BACK = "rolled_back"
    ROLLBACK_FAILED = "rollback_failed"
    FAILED = "failed"
    UNREACHABLE = "unreachable"
    SKIPPED = "skipped"
    PENDING = "pending"


@dataclass(frozen=True, slots=True)
class PhaseRecord:
    """One phase (preflight, backup, push, restart, verify, rollback) on one host."""

    phase: str
    ok: bool
    duration_s: float
    detail: str = ""
    #: Wall-clock start and end (seconds since the epoch), to prove hosts did not overlap.
    started_at: float = 0.0
    finished_at: float = 0.0


@dataclass(frozen=True, slots=True)
class RestartRecord:
    """The evidence that kubelet restarted the apiserver: which container, how fast."""

    #: The container that ran before the change; None when none ran.
    old_id: str | None
    new_id: str
    seconds: float


@dataclass(frozen=True, slots=True)
class HostReport:
    """The result of one host in one run."""

    host: str
    outcome: Outcome
    phases: tuple[PhaseRecord, ...] = ()
    diff: str = ""
    backup_path: PurePosixPath | None = None
    error: DeployerError | None = None
    #: Free-form, JSON-ready details per concern (``verify``, ``drift`` ...).
    details: tuple[tuple[str, object], ...] = field(default=())
    #: The restart this run caused on the host; None when it caused none.
    restart: RestartRecord | None = None

    @property
    def failed(self) -> bool:
        """True for outcomes that make the run fail."""
        return self.outcome in {
            Outcome.FAILED,
            Outcome.ROLLED_BACK,
            Outcome.ROLLBACK_FAILED,
            Outcome.UNREACHABLE,
        }


@dataclass(frozen=True, slots=True)
class RunReport:
    """A whole run: one entry per selected host, in rollout order."""

    run_id: str
    command: str
    started_at: float
    finished_at: float
    hosts: tuple[HostReport, ...]
    exit_code: int = 0

    @property
    def failed(self) -> tuple[HostReport, ...]:
        """Hosts whose outcome fails the run (cf. Fabric's GroupResult.failed)."""
        return tuple(h for h in self.hosts if h.failed)

    @property
    def ok(self) -> bool:
        """True when no host failed."""
        return not self.failed
