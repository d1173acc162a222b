"""The few remote steps deployer runs as small POSIX ``sh`` scripts, built as argv lists.

Why scripts: each remote command starts a login shell (about 0.1 s on some images), so the
atomic write's steps (fsync, chmod, chown, rename, fsync the folder) go as one command rather
than five. Paths and modes travel as positional parameters (``"$1"``), never spliced into the
script text, so :mod:`deployer.transport.command` stays the only place that quotes anything.
Only coreutils found on every Debian/Ubuntu node are used: ``cat``, ``sync``, ``chmod``,
``chown``, ``mv``, ``rm``.
"""

from __future__ import annotations

import secrets
from pathlib import PurePosixPath

__all__ = [
    "ABSENT_EXIT_CODE",
    "check_remote_path",
    "finish_put_argv",
    "read_argv",
    "remove_argv",
    "temp_path_for",
]

#: Exit code of :func:`read_argv` when the file does not exist (cat itself never exits 3).
ABSENT_EXIT_CODE = 3

# "$1" temp file, "$2" mode (octal text), "$3" target, "$4" target's folder, "$5" "1" to
# read the content from stdin first (become: SFTP runs as the login user), "$6" "1" to chown.
# The EXIT trap removes the temp file on any failure; it is cleared once the rename is done.
# `set -C` makes `>` refuse an existing file, so a name clash never overwrites anything.
# `mv -T` refuses to move the temp file *into* a folder named like the target.
_FINISH_PUT = (
    "set -eu\n"
    "t=$1\n"
    "trap 'rm -f -- \"$t\"' EXIT\n"
    'if [ "$5" = 1 ]; then umask 077; set -C; cat > "$t"; set +C; fi\n'
    'sync -- "$t"\n'
    'chmod -- "$2" "$t"\n'
    'if [ "$6" = 1 ]; then chown -- root:root "$t"; fi\n'
    'mv -f -T -- "$t" "$3"\n'
    "trap - EXIT\n"
    'sync -- "$4"\n'
)

_READ = 'if [ -e "$1" ]; then exec cat -- "$1"; else exit 3; fi'


def check_remote_path(path: PurePosixPath) -> PurePosixPath:
    """Return ``path`` if it is absolute and names a file; refuse anything else.

    Why: a relative path would silently resolve against the login user's home on the host.

    Raises:
        ValueError: ``path`` is relative, or is ``/``.
    """
    p = PurePosixPath(path)
    if not p.is_absolute():
        raise ValueError(f"remote paths must be absolute: {str(path)!r}")
    if p.name in ("", ".", ".."):
        raise ValueError(f"remote path does not name a file: {str(path)!r}")
    return p


def temp_path_for(path: PurePosixPath) -> PurePosixPath:
    """Return ``.<name>.<random hex>`` next to ``path``.

    A dot-file in the same folder: kubelet ignores it (DESIGN.md rule 1) and the final rename
    stays within one file system, which is what makes it atomic.
    """
    p = check_remote_path(path)
    return p.parent / f".{p.name}.{secrets.token_hex(6)}"


def finish_put_argv(
    temp: PurePosixPath, target: PurePosixPath, *, mode: int, chown_root: bool, from_stdin: bool
) -> list[str]:
    """Argv that finishes an atomic write of ``target`` through ``temp``.

    With ``from_stdin`` the script first writes stdin to ``temp`` (used with sudo); otherwise
    ``temp`` was written already (over SFTP). Then: fsync, chmod, optional chown root:root,
    rename over ``target``, fsync the folder. On failure ``temp`` is removed.

    Raises:
        ValueError: ``mode`` is not a permission mode, or a path is not absolute.
    """
    if not 0 <= mode <= 0o7777:
        raise ValueError(f"mode out of range: {oct(mode)}")
    t = check_remote_path(target)
    return [
        "sh",
        "-c",
        _FINISH_PUT,
        "deployer-put",
        str(check_remote_path(temp)),
        f"{mode:04o}",
        str(t),
        str(t.parent),
        "1" if from_stdin else "0",
        "1" if chown_root else "0",
    ]


def read_argv(path: PurePosixPath) -> list[str]:
    """Argv that prints ``path``, or exits :data:`ABSENT_EXIT_CODE` when it does not exist."""
    return ["sh", "-c", _READ, "deployer-read", str(check_remote_path(path))]


def remove_argv(path: PurePosixPath) -> list[str]:
    """Argv that removes ``path`` if it is there (cleanup of a temp file)."""
    return ["rm", "-f", "--", str(check_remote_path(path))]
