"""Turn argv lists into remote command lines: the one place deployer quotes for a shell.

Why one place: OpenSSH's exec request carries a single string that the login shell parses, so
every argument must be quoted exactly once, here, with :func:`shlex.quote`. Everything above the
transport passes argv lists; nothing else builds a shell string. Privilege escalation
(``ansible_become``) is a prefix added here too, so the sudo flags are decided in one spot.

>>> command_line(["cat", "/etc/kubernetes/manifests/kube-apiserver.yaml"])
'cat /etc/kubernetes/manifests/kube-apiserver.yaml'
>>> command_line(["echo", "a b", "$HOME", "--"])
"echo 'a b' '$HOME' --"
>>> become_argv(["id", "-u"], user="root", prompt="[sudo]")
('sudo', '-k', '-S', '-p', '[sudo]', '-u', 'root', '--', 'id', '-u')
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable, Sequence

__all__ = [
    "MASK",
    "announce_argv",
    "become_argv",
    "check_argv",
    "command_line",
    "display_command",
    "mask_text",
]

#: What a secret looks like once masked, everywhere (matches :class:`deployer.model.host.Secret`).
MASK = "***"

# Argument shapes that carry a secret on their own (``--token=abc``, ``password=abc``), masked
# even when the caller did not name the secret: a belt for the braces of ``secrets=``.
_SECRET_ARG = re.compile(
    r"^(?P<key>-{0,2}[\w.-]*(?:password|passwd|token|secret|private-key)[\w.-]*=)(?P<value>.+)$",
    re.IGNORECASE,
)


def check_argv(argv: Sequence[str]) -> tuple[str, ...]:
    """Return ``argv`` as a tuple after refusing shapes that cannot be a command.

    Why: a bare string would be iterated character by character, and a NUL byte cannot cross
    an exec request; both are bugs in the caller, caught before anything reaches a host.

    Raises:
        ValueError: ``argv`` is a string, empty, has a non-string item or a NUL byte.
    """
    if isinstance(argv, str | bytes):
        raise ValueError(f"argv must be a list of arguments, not a string: {argv!r}")
    items = tuple(argv)
    if not items:
        raise ValueError("argv is empty")
    for item in items:
        if not isinstance(item, str):
            raise ValueError(f"argv items must be str, got {type(item).__name__}: {item!r}")
        if "\x00" in item:
            raise ValueError("argv items cannot contain NUL bytes")
    return items


def command_line(argv: Sequence[str]) -> str:
    """Quote ``argv`` into the single string an SSH exec request carries.

    Raises:
        ValueError: see :func:`check_argv`.
    """
    return " ".join(shlex.quote(arg) for arg in check_argv(argv))


def become_argv(argv: Sequence[str], *, user: str, prompt: str) -> tuple[str, ...]:
    """Prefix ``argv`` with sudo, as ``ansible_become`` asks.

    ``sudo -k -S -p PROMPT``: sudo writes ``prompt`` to stderr when (and only when) *this*
    command needs a password, and then reads one line from stdin. The caller watches stderr for
    that prompt and sends the password only then, so a ``NOPASSWD`` rule for some commands
    never lets the password reach a command's own stdin (where a file-writing command would
    store it). ``-k`` ignores and never leaves a cached ticket on the host. ``prompt`` must not
    contain ``%`` (sudo expands ``%u``, ``%h``...), so the caller can match it byte for byte.

    Raises:
        ValueError: see :func:`check_argv`, an empty ``user``, or a prompt sudo would rewrite.
    """
    items = check_argv(argv)
    if not user:
        raise ValueError("become user is empty")
    if not prompt or "%" in prompt or "\n" in prompt:
        raise ValueError(f"sudo prompt must be non-empty, one line, without '%': {prompt!r}")
    return ("sudo", "-k", "-S", "-p", prompt, "-u", user, "--", *items)


def announce_argv(argv: Sequence[str], marker: str) -> tuple[str, ...]:
    """Wrap ``argv`` so it first writes ``marker`` and a newline to stderr, then execs.

    Why: a command that reads a payload from stdin under sudo must not receive a byte before
    sudo has finished asking for a password; the marker says "sudo is done, the command runs".

    Raises:
        ValueError: see :func:`check_argv`.
    """
    items = check_argv(argv)
    return (
        "sh",
        "-c",
        'printf \'%s\\n\' "$1" >&2; shift; exec "$@"',
        "deployer-run",
        marker,
        *items,
    )


def mask_text(text: str, secrets: Iterable[str]) -> str:
    """Replace every occurrence of each secret in ``text`` with :data:`MASK`.

    Longer secrets are replaced first so one secret that contains another is fully hidden.
    """
    out = text
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        out = out.replace(secret, MASK)
    return out


def display_command(argv: Sequence[str], *, secrets: Iterable[str] = ()) -> str:
    """Return ``argv`` as an operator reads it in logs and reports, secrets masked.

    Both the values passed in ``secrets`` and arguments shaped like ``--token=...`` or
    ``password=...`` are masked. The result is for people, never for execution.

    >>> display_command(["curl", "--token=abc", "https://x"])
    'curl --token=*** https://x'
    """
    secret_list = [s for s in secrets if s]
    shown: list[str] = []
    for arg in argv:
        match = _SECRET_ARG.match(arg)
        if match:
            shown.append(match.group("key") + MASK)
        else:
            shown.append(shlex.quote(mask_text(arg, secret_list)))
    return " ".join(shown)
