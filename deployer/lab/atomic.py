"""Atomic file replacement for the lab's state files.

Why: crictl reads the kubelet's state while the kubelet writes it, and ``lab down`` may read
``lab.json`` after an ``up`` was killed mid-write; a reader must see the old or the new file,
never half of one. Same recipe as deployer's manifest push: temp file in the same folder whose
name starts with ``.``, fsync, rename. The temp file is made here rather than with
``tempfile.mkstemp``: ``tempfile`` imports ``random`` and ``shutil`` (with ``bz2``, ``lzma`` and
``zlib``), 1.3 MB of RSS in every idle kubelet stand-in that needs none of them.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

__all__ = ["write_atomic", "write_json_atomic"]

_ATTEMPTS = 100


def _create_temp(path: Path) -> tuple[int, Path]:
    """Create a new file ``.<name>.<random>`` beside ``path``, as ``mkstemp`` does (mode 0600).

    Raises:
        FileExistsError: every random name tried was taken (never in practice).
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
    for _ in range(_ATTEMPTS):
        temp = path.parent / f".{path.name}.{os.urandom(6).hex()}"
        try:
            return os.open(temp, flags, 0o600), temp
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name beside {path}")


def write_atomic(path: Path, data: bytes, *, mode: int = 0o644) -> None:
    """Replace ``path`` with ``data`` in one rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = _create_temp(path)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, mode)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def write_json_atomic(path: Path, value: object, *, mode: int = 0o644) -> None:
    """Replace ``path`` with ``value`` as indented JSON."""
    write_atomic(path, (json.dumps(value, indent=2, sort_keys=False) + "\n").encode(), mode=mode)
