"""Everything the rollout commands print: live per-host phase lines, plans and the recap.

Why one module: library code never prints (STYLE.md); the engine emits events and returns
reports, and this module decides how an operator sees them (colour only on a terminal).
"""

from __future__ import annotations

import sys
import threading
import time
from typing import IO, cast

from rich.console import Console
from rich.markup import escape

from deployer.cli.masked_output import MaskedStream
from deployer.model.events import Event
from deployer.model.plan import ChangeKind, HostPlan, Plan
from deployer.model.report import HostReport, Outcome
from deployer.report.secret_values import ValueMasker

__all__ = ["ConsoleReporter", "make_console", "print_plan", "print_recap"]

_KIND_STYLE = {
    "start": "dim",
    "ok": "green",
    "fail": "bold red",
    "warn": "yellow",
    "wait": "cyan",
    "info": "",
}
_OUTCOME_STYLE = {
    Outcome.UNCHANGED: "green",
    Outcome.CHANGED: "yellow",
    Outcome.ROLLED_BACK: "bold red",
    Outcome.ROLLBACK_FAILED: "bold white on red",
    Outcome.FAILED: "red",
    Outcome.UNREACHABLE: "red",
    Outcome.SKIPPED: "dim",
    Outcome.PENDING: "yellow",
}


def make_console(
    *, no_color: bool, stderr: bool = False, mask: ValueMasker | None = None
) -> Console:
    """A console that colours only a terminal, and never when ``--no-color`` or NO_COLOR.

    With ``mask``, everything printed goes through it (secrets by value and by shape).
    """
    stream = sys.stderr if stderr else sys.stdout
    return Console(
        file=cast(IO[str], MaskedStream(stream, mask)) if mask is not None else stream,
        no_color=no_color,
        highlight=False,
        # Text as written: a ":name:" in a flag value or a diff is not an emoji code (and the
        # code table is a 5 ms import at the end of every plan).
        emoji=False,
        soft_wrap=True,
        force_terminal=None,
        color_system=None if no_color else "auto",
    )


class ConsoleReporter:
    """Prints one line per phase event, prefixed ``[host] [phase]`` as kubeadm does."""

    def __init__(self, console: Console, *, verbose: int = 0) -> None:
        self._console = console
        self._verbose = verbose
        self._lock = threading.Lock()
        self._started = time.monotonic()
        #: host -> (phase, kind) of the last event: what the host was doing at a Ctrl-C.
        self.last: dict[str, tuple[str, str]] = {}

    def emit(self, event: Event) -> None:
        """Print the event (``start`` events only with -v)."""
        with self._lock:
            self.last[event.host] = (event.phase, event.kind)
            if event.kind == "start" and self._verbose < 1:
                return
            took = f" ({event.duration_s:.2f}s)" if event.duration_s is not None else ""
            elapsed = time.monotonic() - self._started
            style = _KIND_STYLE.get(event.kind, "")
            label = f"[{style}]{event.kind}[/]" if style else event.kind
            message = escape(event.message)
            self._console.print(
                f"{elapsed:6.1f}s [bold]\\[{escape(event.host)}][/] \\[{event.phase}] {label}"
                f"{took} {message}".rstrip()
            )


def _plan_line(plan: HostPlan) -> str:
    if plan.unreachable:
        return f"[red]unreachable[/]: {escape(plan.unreachable)}"
    text = {
        ChangeKind.NONE: "[green]in sync[/]",
        ChangeKind.CREATE: "[yellow]create[/] (no manifest on the host)",
        ChangeKind.UPDATE: "[yellow]change[/]",
        ChangeKind.COSMETIC: "[yellow]cosmetic[/] (same pod, no restart)",
    }[plan.kind]
    if plan.is_ready is False:
        text += f"  [red]not ready[/] ({escape(plan.ready_detail)})"
    return text


def print_plan(console: Console, plan: Plan, *, show_diff: bool) -> None:
    """Print each host's plan: kind, flag-level changes, notes, and the diff with --diff."""
    for host_plan in plan.hosts:
        console.print(f"[bold]{escape(host_plan.name)}[/]: {_plan_line(host_plan)}")
        if host_plan.image_change:
            console.print(f"    ~ {escape(host_plan.image_change)}")
        for change in host_plan.flag_changes:
            console.print(f"    {escape(str(change))}")
        if host_plan.companion_changes:
            # Imported here: every command prints through this module, few plan companions.
            from deployer.companions.planning import change_lines

            for companion in host_plan.companion_changes:
                console.print(f"    {escape(change_lines(companion))}")
        for note in host_plan.notes:
            console.print(f"    [yellow]note:[/] {escape(note)}")
        diffs = [host_plan.diff, *(c.diff for c in host_plan.companion_changes)]
        if show_diff and any(diffs):
            for line in "".join(d for d in diffs if d).splitlines():
                style = "green" if line.startswith("+") else "red" if line.startswith("-") else ""
                console.print(f"    [{style}]{escape(line)}[/]" if style else f"    {escape(line)}")
    pending = len(plan.pending)
    unreachable = len(plan.unreachable)
    console.print(
        f"plan: {pending} to change, {len(plan.hosts) - pending - unreachable} in sync, "
        f"{unreachable} unreachable"
    )


def print_recap(console: Console, reports: tuple[HostReport, ...]) -> None:
    """A PLAY RECAP-like table: one row per host, its outcome and how long each phase took."""
    from rich.table import Table  # here: plan prints no table, and rich.table costs 5 ms

    table = Table(title="RECAP", title_justify="left", show_edge=False, pad_edge=False)
    table.add_column("host")
    table.add_column("outcome")
    table.add_column("phases")
    table.add_column("detail", overflow="fold")
    for report in reports:
        style = _OUTCOME_STYLE.get(report.outcome, "")
        phases = " ".join(
            f"{p.phase}{'' if p.ok else '!'}={p.duration_s:.1f}s" for p in report.phases
        )
        detail = str(report.error) if report.error else ""
        table.add_row(
            escape(report.host), f"[{style}]{report.outcome.value}[/]", phases, escape(detail)
        )
    console.print(table)
