"""Secret references in companion files: ``{secret_env: NAME}`` and ``{secret_file: PATH}``.

Why references: encryption keys and webhook tokens must never sit in the inventory in clear
(DESIGN.md rule 9), yet the file written to the node must hold them. A reference is resolved on
the workstation, at plan time, into a :class:`~deployer.model.host.Secret`, which prints as
``***`` wherever it goes (diffs, reports, logs); only the bytes written to the host reveal it.

Errors name the variable or the file and never the value; all of a file's problems are reported
at once (exit 6). A ``secret_file`` path is relative to the inventory directory; its content is
taken as text with one trailing newline removed (``head -c 32 /dev/urandom | base64 > key``
writes one), and a value that is empty after that is an error, as an unset variable is.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from pathlib import Path

from deployer.companions.document import Node
from deployer.companions.encryption import secret_key_paths
from deployer.companions.fielderrors import FieldPath
from deployer.errors import InputError, InputProblem
from deployer.model.host import Secret

__all__ = ["REFERENCE_KEYS", "clear_text_secrets", "resolve_secrets"]

#: The keys that make a one-key mapping a secret reference.
REFERENCE_KEYS = ("secret_env", "secret_file")
_HINT = "write the key as {secret_env: NAME} or {secret_file: PATH}, never in the inventory"


def _read_file(ref: str, base_dir: Path) -> tuple[str | None, str | None]:
    """Return (value, problem) for a ``secret_file`` reference."""
    path = Path(ref).expanduser()
    path = path if path.is_absolute() else base_dir / path
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None, f"secret_file {ref}: no such file ({path})"
    except IsADirectoryError:
        return None, f"secret_file {ref}: is a directory ({path})"
    except OSError as exc:
        return None, f"secret_file {ref}: cannot be read ({exc.strerror or type(exc).__name__})"
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None, f"secret_file {ref}: is not UTF-8 text (write the key base64-encoded)"
    text = text[:-2] if text.endswith("\r\n") else text.removesuffix("\n")
    if text == "":
        return None, f"secret_file {ref}: is empty"
    return text, None


def _resolve_ref(
    ref: Mapping[str, object], where: FieldPath, base_dir: Path, environ: Mapping[str, str]
) -> tuple[Secret | None, str | None]:
    keys = [k for k in ref if k in REFERENCE_KEYS]
    if len(ref) != 1:
        shown = ", ".join(sorted(str(k) for k in ref))
        return None, f"{where}: a secret reference has exactly one key, {keys[0]}; found {shown}"
    key = keys[0]
    name = ref[key]
    if not isinstance(name, str) or not name:
        return None, f"{where}: {key} takes a non-empty string"
    if key == "secret_env":
        if name not in environ:
            return None, f"{where}: secret_env {name} is not set in the environment"
        if environ[name] == "":
            return None, f"{where}: secret_env {name} is set but empty"
        return Secret(environ[name]), None
    value, problem = _read_file(name, base_dir)
    if problem:
        return None, f"{where}: {problem}"
    return Secret(str(value)), None


def _walk(
    value: object,
    where: FieldPath,
    base_dir: Path,
    environ: Mapping[str, str],
    problems: list[str],
) -> object:
    if isinstance(value, Mapping):
        if any(k in REFERENCE_KEYS for k in value):
            secret, problem = _resolve_ref(value, where, base_dir, environ)
            if problem:
                problems.append(problem)
            return secret
        resolved = {
            k: _walk(v, where.child(str(k)), base_dir, environ, problems) for k, v in value.items()
        }
        if isinstance(value, dict) and type(value) is not dict:
            # A mapping that knows its lines (inventory.yamlfile.LineMap): keep them.
            clone = copy.copy(value)
            clone.clear()
            clone.update(resolved)
            return clone
        return resolved
    if isinstance(value, list | tuple):
        return [_walk(v, where.index(i), base_dir, environ, problems) for i, v in enumerate(value)]
    return value


def resolve_secrets(
    document: object, *, file: str, base_dir: Path, environ: Mapping[str, str]
) -> object:
    """Return ``document`` with every secret reference replaced by a :class:`Secret`.

    Args:
        document: the parsed companion document.
        file: the name shown in errors (the inventory path of the companion file).
        base_dir: where relative ``secret_file`` paths start (the inventory directory).
        environ: the workstation's environment (``os.environ``), passed in for testability.

    Raises:
        InputError: a reference is malformed, a variable unset or empty, a file unreadable.
    """
    problems: list[str] = []
    resolved = _walk(document, FieldPath(), base_dir, environ, problems)
    if problems:
        raise InputError(
            tuple(
                InputProblem(p, file=file, hint="export the variable or fix the path")
                for p in problems
            )
        )
    return resolved


def clear_text_secrets(kind: str, document: object, *, file: str) -> tuple[InputProblem, ...]:
    """Return an error for every secret field of ``kind`` written in clear in the inventory."""
    if kind != "EncryptionConfiguration":
        return ()
    problems = []
    for path in secret_key_paths(Node.of(document)):
        value = _lookup(document, path)
        if isinstance(value, str) and value:
            problems.append(
                InputProblem(f"{path}: an encryption key in clear text", file=file, hint=_HINT)
            )
    return tuple(problems)


def _lookup(document: object, path: FieldPath) -> object:
    value = document
    for part in path.parts:
        if isinstance(part, int):
            value = value[part] if isinstance(value, list | tuple) and part < len(value) else None
        else:
            value = value.get(part) if isinstance(value, Mapping) else None
    return value
