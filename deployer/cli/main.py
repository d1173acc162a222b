"""The ``deployer`` command group and the one boundary that turns errors into exit codes.

Why one boundary: the library raises typed errors and never exits; :func:`main` is the single
place that prints them and maps them to the contract's exit codes, so a test can call
``main([...])`` in-process and assert the code.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import logging
import os
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from deployer.errors import DeployerError, ExitCode, InputError, exit_code_for
from deployer.report.masking import mask_secrets

__all__ = ["cli", "main", "run"]

_log = logging.getLogger(__name__)

#: Set by :func:`run`: the collector is paused until the command's modules are imported.
_GC_PAUSED: list[bool] = []

_CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


#: Command name -> the modules that define it, imported only when the command is used.
#: Why lazily: importing every command (paramiko, the lab, Jinja, the schema) costs about a
#: second, which ``deployer --version`` or ``deployer validate`` should not pay.
_COMMAND_MODULES: dict[str, tuple[str, ...]] = {
    "validate": ("commands_offline",),
    "render": ("commands_offline",),
    "inventory": ("commands_offline", "commands_vagrant"),
    "plan": ("commands_rollout",),
    "apply": ("commands_rollout",),
    "verify": ("commands_rollout",),
    "converge": ("commands_rollout",),
    "doctor": ("commands_doctor",),
    "import": ("commands_import",),
    "lab": ("commands_lab",),
    "history": ("commands_converge",),
    "completion": ("commands_converge",),
}


class _LazyGroup(click.Group):
    """A group whose commands are attached by their module's ``register`` on first use."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._loaded: set[str] = set()

    def _load(self, module_name: str) -> None:
        if module_name in self._loaded:
            return
        self._loaded.add(module_name)
        module = importlib.import_module(f"deployer.cli.{module_name}")
        module.register(self)
        # What was just imported lives as long as the process: freeze it, so the collections a
        # run triggers walk the run's own objects only, then let the collector run again
        # (``run`` pauses it during start-up).
        gc.freeze()
        if _GC_PAUSED:
            gc.enable()

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Every command name, without importing any of them."""
        return sorted(set(_COMMAND_MODULES) | set(self.commands))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """Import the command's modules, then return it."""
        for module_name in _COMMAND_MODULES.get(cmd_name, ()):
            self._load(module_name)
        return self.commands.get(cmd_name)


@click.group(cls=_LazyGroup, context_settings=_CONTEXT_SETTINGS)
@click.version_option(package_name="deployer", prog_name="deployer")
def cli() -> None:
    """Keep the kube-apiserver of Kubernetes control planes as the inventory declares it.

    \b
    Offline:   validate, render, inventory show
    Read-only: plan, verify, doctor, import (live manifests into an inventory)
    Changes:   apply, converge (one control-plane host at a time, verified, rolled back on failure)
    Lab:       lab up|down|status|fault (simulated control-plane nodes on loopback)

    Exit codes: 0 ok, 1 internal error, 2 changes pending, 3 rolled back, 4 rollback failed,
    5 unreachable, 6 invalid input, 7 locked.
    """


def _write_crash_log(error: BaseException) -> Path | None:
    """Keep the full trace of an unexpected error in a file; the terminal gets one line.

    The state folder's ``last-crash.log`` (mode 0600: a trace can hold paths and values), else
    a fresh ``mkstemp`` file (private and unpredictable, never a fixed name in ``/tmp``), else
    nothing: the handler itself must never raise.
    """
    try:
        text = mask_secrets("".join(traceback.format_exception(error)))
    except Exception:  # a broken exception object must not crash the handler
        text = f"{type(error).__name__} (trace unavailable)\n"
    try:
        state = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state")
        folder = state / "deployer"
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = folder / "last-crash.log"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        return path
    except (OSError, RuntimeError):  # RuntimeError: no home directory to expand
        pass
    try:
        import tempfile  # only after a crash: not every start's cost

        fd, name = tempfile.mkstemp(prefix="deployer-crash-", suffix=".log")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        return Path(name)
    except OSError:
        return None


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return the exit code instead of exiting."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        result = cli.main(args=args, prog_name="deployer", standalone_mode=False)
    except click.exceptions.Exit as exc:  # --help, --version
        return int(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return int(ExitCode.INTERNAL)
    except click.UsageError as exc:
        # Click's own usage errors would exit 2, which the contract reserves for "changes pending".
        exc.show()
        return int(ExitCode.INVALID_INPUT)
    except click.ClickException as exc:
        exc.show()
        return int(ExitCode.INVALID_INPUT)
    except InputError as exc:
        click.echo(mask_secrets(f"error: {exc}"), err=True)
        for warning in (p for p in exc.problems if p.is_warning):
            click.echo(mask_secrets(f"warning: {warning}"), err=True)
        return int(exc.exit_code)
    except DeployerError as exc:
        click.echo(mask_secrets(f"error: {exc}"), err=True)
        return int(exc.exit_code)
    except KeyboardInterrupt:
        # Commands that change hosts handle interrupts themselves (finish or roll back the
        # current host); reaching here means nothing was being changed: "stopped, untouched".
        click.echo("interrupted: nothing was changed", err=True)
        return int(ExitCode.ROLLED_BACK)
    except Exception as exc:  # a bug: short message, the trace in a file
        path = _write_crash_log(exc)
        where = f"the full trace is in {path}" if path else "the trace could not be saved"
        try:
            summary = f"{type(exc).__name__}: {exc}"
        except Exception:  # an exception whose str() fails
            summary = type(exc).__name__
        click.echo(
            mask_secrets(f"internal error: {summary}\n  {where}; please report it with that file"),
            err=True,
        )
        return int(exit_code_for(exc))
    return int(result) if isinstance(result, int) else 0


def run() -> None:
    """Console-script entry point.

    Ends with ``os._exit`` once the output is flushed: by then every file is closed and every
    connection shut, and the interpreter's own teardown (paramiko's exit hook walking its
    transport threads, freeing every module) cost a plan 0.1-0.2 s for nothing. It also means a
    command stopped by an interrupt does not join worker threads left in a network wait (a
    connection attempt, a remote command) whose results are no longer wanted.
    """
    gc.disable()  # start-up allocates what never dies; see _LazyGroup._load
    _GC_PAUSED.append(True)
    code = main()
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe (`| head`) or stream
            stream.flush()
    os._exit(code)
