"""The whole exception hierarchy of deployer, and the exit code each kind of failure maps to.

Why one module: the command line maps errors to exit codes in exactly one place
(:func:`exit_code_for`), so every error the library raises must be findable here. Each class
carries the data an operator needs (host, file, line, flag, hint) and renders a one-screen
human message in ``__str__``; none of them prints or exits.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "ApplyStopped",
    "CommandFailed",
    "DeployerError",
    "ExitCode",
    "HostKeyError",
    "InputError",
    "InputProblem",
    "InventoryError",
    "LabError",
    "LockHeld",
    "RollbackFailed",
    "RolloutError",
    "TemplateError",
    "TransportError",
    "UnreachableError",
    "ValidationError",
    "exit_code_for",
]


class ExitCode(enum.IntEnum):
    """The command-line contract's exit codes (DESIGN.md section 3)."""

    OK = 0
    INTERNAL = 1
    PENDING = 2
    ROLLED_BACK = 3
    ROLLBACK_FAILED = 4
    UNREACHABLE = 5
    INVALID_INPUT = 6
    LOCKED = 7


class DeployerError(Exception):
    """Root of every error deployer raises on purpose.

    Anything else that escapes to the command line is a bug and exits with
    :attr:`ExitCode.INTERNAL`.
    """

    exit_code: ExitCode = ExitCode.INTERNAL

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}\n  hint: {self.hint}"
        return self.message


@dataclass(frozen=True, slots=True)
class InputProblem:
    """One problem found in the operator's input; many are collected before reporting.

    Why collect instead of raise: an operator fixing an inventory wants every problem of the
    run on one screen, not one per attempt.
    """

    #: What is wrong, in one sentence.
    message: str
    #: The file the problem is in, when known.
    file: str | None = None
    #: 1-based line and column in ``file``, when known.
    line: int | None = None
    column: int | None = None
    #: The inventory host the problem concerns, when it concerns one.
    host: str | None = None
    #: The kube-apiserver flag concerned, without leading dashes.
    flag: str | None = None
    #: What to do about it.
    hint: str | None = None
    #: A warning does not fail the run; it is shown and the run goes on.
    is_warning: bool = False

    def location(self) -> str:
        """Return ``file:line:column`` (as much as is known), or an empty string."""
        if not self.file:
            return ""
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        return where

    def __str__(self) -> str:
        parts = []
        loc = self.location()
        if loc:
            parts.append(loc)
        if self.host:
            parts.append(f"host {self.host}")
        if self.flag:
            parts.append(f"--{self.flag}")
        prefix = " ".join(f"[{p}]" for p in parts)
        text = f"{prefix} {self.message}" if prefix else self.message
        if self.hint:
            text += f"\n    hint: {self.hint}"
        return text


class InputError(DeployerError):
    """Invalid input (inventory, flags, template, command line): nothing was touched."""

    exit_code = ExitCode.INVALID_INPUT

    def __init__(self, problems: Sequence[InputProblem] | str, *, hint: str | None = None) -> None:
        if isinstance(problems, str):
            problems = (InputProblem(problems, hint=hint),)
            hint = None
        self.problems: tuple[InputProblem, ...] = tuple(problems)
        errors = [p for p in self.problems if not p.is_warning]
        count = len(errors)
        head = "1 problem" if count == 1 else f"{count} problems"
        body = "\n".join(f"  - {p}" for p in errors)
        super().__init__(f"invalid input: {head}\n{body}", hint=hint)


class InventoryError(InputError):
    """The inventory (files, variables, patterns) is invalid."""


class ValidationError(InputError):
    """Desired kube-apiserver flags would make the real binary refuse to start."""


class TemplateError(InputError):
    """The manifest template failed to render or rendered an unsafe manifest."""


class TransportError(DeployerError):
    """Talking to a host failed in a way that is not the host's fault (a bug or a local problem)."""

    def __init__(self, message: str, *, host: str, hint: str | None = None) -> None:
        super().__init__(f"[{host}] {message}", hint=hint)
        self.host = host


class UnreachableError(TransportError):
    """The host could not be reached or authenticated; nothing was changed there."""

    exit_code = ExitCode.UNREACHABLE


class HostKeyError(UnreachableError):
    """The host's SSH key is unknown or changed; the connection was refused before login."""


class CommandFailed(TransportError):
    """A remote command exited with a code the caller did not allow."""

    def __init__(
        self,
        *,
        host: str,
        argv: Sequence[str],
        exit_code: int,
        stderr: str,
        hint: str | None = None,
    ) -> None:
        shown = " ".join(argv)
        tail = stderr.strip().splitlines()[-3:]
        detail = ("\n    " + "\n    ".join(tail)) if tail else ""
        message = f"command failed (exit {exit_code}): {shown}{detail}"
        super().__init__(message, host=host, hint=hint)
        self.argv = tuple(argv)
        self.remote_exit_code = exit_code
        self.stderr = stderr


class RolloutError(DeployerError):
    """A step of the rollout on one host failed (push, restart, verify)."""

    def __init__(self, message: str, *, host: str, phase: str, hint: str | None = None) -> None:
        super().__init__(f"[{host}] [{phase}] {message}", hint=hint)
        self.host = host
        self.phase = phase


class ApplyStopped(DeployerError):
    """The rollout stopped: a host failed and was rolled back; later hosts were not touched."""

    exit_code = ExitCode.ROLLED_BACK


class RollbackFailed(DeployerError):
    """Rolling a failed host back did not bring a healthy apiserver back."""

    exit_code = ExitCode.ROLLBACK_FAILED


class LockHeld(DeployerError):
    """Another run holds a lock this run needs."""

    exit_code = ExitCode.LOCKED


class LabError(DeployerError):
    """The embedded lab could not be created, started or stopped."""


def exit_code_for(error: BaseException) -> ExitCode:
    """Map any exception to the contract's exit code: the single place that does so."""
    if isinstance(error, DeployerError):
        return error.exit_code
    return ExitCode.INTERNAL
