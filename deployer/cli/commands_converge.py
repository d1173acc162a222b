"""Commands around unattended runs: ``history`` (what ran here) and ``completion`` (shell setup).

Why here: both serve operators of scheduled ``converge`` runs; the ``converge`` command itself
lives in its own module. This module only reads the history and prints; it changes nothing.
"""

from __future__ import annotations

import json
from pathlib import Path

import click
from click.shell_completion import get_completion_class
from rich.console import Console
from rich.table import Table

from deployer.report.history import HistoryEntry, default_history_path, read_history

__all__ = ["register"]

#: Outcome -> rich style, so a rolled-back host stands out in the table.
_OUTCOME_STYLE = {
    "unchanged": "dim",
    "changed": "green",
    "pending": "yellow",
    "skipped": "dim",
    "rolled_back": "bold red",
    "rollback_failed": "bold red reverse",
    "failed": "red",
    "unreachable": "magenta",
}
_EXIT_MEANING = {
    0: "ok",
    1: "internal error",
    2: "changes pending",
    3: "rolled back",
    4: "rollback failed",
    5: "unreachable",
    6: "invalid input",
    7: "locked",
}


def _hosts_cell(entry: HistoryEntry) -> str:
    parts = []
    for name, outcome in entry.hosts.items():
        style = _OUTCOME_STYLE.get(outcome, "")
        text = f"{name}={outcome}"
        parts.append(f"[{style}]{text}[/]" if style else text)
    return " ".join(parts) or "-"


def _history_table(entries: list[HistoryEntry]) -> Table:
    table = Table(title="deployer runs (oldest first)", title_justify="left")
    table.add_column("finished (UTC)", no_wrap=True)
    table.add_column("command")
    table.add_column("exit", justify="right")
    table.add_column("hosts")
    table.add_column("by", no_wrap=True)
    table.add_column("run id", no_wrap=True, style="dim")
    for entry in entries:
        meaning = _EXIT_MEANING.get(entry.exit_code, "?")
        exit_text = f"{entry.exit_code} {meaning}"
        if entry.exit_code not in (0, 2):
            exit_text = f"[bold red]{exit_text}[/]"
        finished = entry.finished_at.replace("T", " ").removesuffix("Z")[:19]
        table.add_row(
            finished,
            entry.command,
            exit_text,
            _hosts_cell(entry),
            f"{entry.user}@{entry.workstation}",
            entry.run_id,
        )
    return table


@click.command("history")
@click.option(
    "--limit",
    "-n",
    type=click.IntRange(min=1),
    default=20,
    show_default=True,
    help="How many of the most recent runs to show.",
)
@click.option(
    "--file",
    "history_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="History file to read [default: $XDG_STATE_HOME/deployer/history.jsonl, "
    "else ~/.local/state/deployer/history.jsonl].",
)
@click.option("--json", "as_json", is_flag=True, help="Print the entries as a JSON array.")
@click.option("--no-color", is_flag=True, help="Plain text, no colours.")
def history_command(limit: int, history_file: Path | None, as_json: bool, no_color: bool) -> None:
    """Show the last runs on this workstation: when, what, exit code, each host's outcome.

    Every plan, apply and converge run appends one line to the history file, including the
    user, this workstation's hostname and the inventories used. A scheduled converge that
    failed overnight shows here with its exit code (3 rolled back, 5 unreachable, 7 locked);
    its JSON report has the details.
    """
    path = history_file if history_file is not None else default_history_path()
    entries = read_history(path, limit)
    if as_json:
        data = [json.loads(e.to_json()) for e in entries]
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return
    if not entries:
        click.echo(f"no runs recorded in {path}")
        return
    console = Console(no_color=no_color, highlight=False, soft_wrap=False)
    console.print(_history_table(entries))


@click.command("completion")
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
@click.pass_context
def completion_command(ctx: click.Context, shell: str) -> None:
    r"""Print the shell completion script for SHELL (bash, zsh or fish).

    \b
    bash:  deployer completion bash > ~/.local/share/bash-completion/completions/deployer
    zsh:   deployer completion zsh > "${fpath[1]}/_deployer"
    fish:  deployer completion fish > ~/.config/fish/completions/deployer.fish
    """
    root = ctx.find_root()
    cls = get_completion_class(shell)
    if cls is None:  # click.Choice already refused anything else
        raise click.BadParameter(f"unsupported shell {shell!r}", param_hint="SHELL")
    completer = cls(root.command, {}, "deployer", "_DEPLOYER_COMPLETE")
    click.echo(completer.source())


def register(group: click.Group) -> None:
    """Attach ``history`` and ``completion`` to the ``deployer`` group."""
    group.add_command(history_command)
    group.add_command(completion_command)
