"""How ``doctor`` shows a host: one screen, one line per check, its hint and lines beneath.

Why one screen per host and hints under failures only: an operator reads the first ``FAIL``
and acts on its hint; ``ok`` lines say what was seen so the screen also serves as a record.
"""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape

from deployer.doctor.model import Diagnosis, Verdict

__all__ = ["print_diagnosis"]

_STYLE = {
    Verdict.OK: "green",
    Verdict.WARN: "yellow",
    Verdict.FAIL: "bold red",
    Verdict.SKIP: "dim",
}
_LABEL = {Verdict.OK: "ok  ", Verdict.WARN: "WARN", Verdict.FAIL: "FAIL", Verdict.SKIP: "skip"}


def print_diagnosis(console: Console, diagnosis: Diagnosis) -> None:
    """Print one host's screen."""
    if diagnosis.unreachable is not None:
        console.print(f"[bold]== {escape(diagnosis.host)}[/] [bold red]UNREACHABLE[/]")
        console.print(f"   {escape(diagnosis.unreachable)}")
        console.print("   hint: check ansible_host/ansible_port/ansible_user and sshd on the host")
        console.print()
        return
    failed, warned = len(diagnosis.failed), len(diagnosis.warnings)
    verdict = (f"[bold red]{failed} failed[/]" if failed else "[green]healthy[/]") + (
        f", [yellow]{warned} warnings[/]" if warned else ""
    )
    console.print(f"[bold]== {escape(diagnosis.host)}[/] {verdict}")
    group = ""
    for check in diagnosis.checks:
        if check.group != group:
            group = check.group
            console.print(f" [bold]{escape(group)}[/]")
        style, name = _STYLE[check.verdict], escape(check.name)
        console.print(f"   [{style}]{_LABEL[check.verdict]}[/] {name:<20} {escape(check.detail)}")
        for line in check.lines:
            console.print(f"          [dim]│[/] {escape(line)}")
        if check.hint and check.verdict in (Verdict.FAIL, Verdict.WARN):
            console.print(f"          [cyan]hint:[/] {escape(check.hint)}")
        elif check.hint and check.verdict is Verdict.OK:
            console.print(f"          [dim]note: {escape(check.hint)}[/]")
    console.print()
