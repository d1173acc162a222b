"""What every phase receives: the host's desired state, its connection, a clock, a reporter."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath

from deployer.desired import DesiredState
from deployer.model.events import Clock, Event, EventKind, Reporter
from deployer.model.report import CommandResult
from deployer.transport.base import Transport

__all__ = ["HostContext"]


@dataclass(frozen=True, slots=True)
class HostContext:
    """A frozen bundle; values phases hand to each other are return values, not fields."""

    state: DesiredState
    transport: Transport
    clock: Clock
    reporter: Reporter
    run_id: str

    @property
    def name(self) -> str:
        """The host's inventory name."""
        return self.state.host.name

    def emit(
        self, phase: str, kind: EventKind, message: str = "", duration_s: float | None = None
    ) -> None:
        """Send an event for this host."""
        self.reporter.emit(Event(self.name, phase, kind, message, duration_s))

    def run(
        self,
        argv: Sequence[str],
        *,
        ok_exit_codes: Collection[int] = (0,),
        timeout_s: float = 60.0,
    ) -> CommandResult:
        """Run a command on the host, through sudo when the inventory asks for become."""
        return self.transport.run(
            argv, sudo=self.state.become, ok_exit_codes=ok_exit_codes, timeout_s=timeout_s
        )

    def path(self, host_path: str | PurePosixPath) -> PurePosixPath:
        """A host path as the transport must address it (under ``host_root``)."""
        return self.state.on_host(host_path)
