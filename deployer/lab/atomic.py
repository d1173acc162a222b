"""Atomic file replacement for the lab's state files.

Why: crictl reads the kubelet's state while the kubelet writes it, and ``lab down`` may read
``lab.json`` after an ``up`` was killed mid-write; a reader must see the old or the new file,
never half of one. Same recipe as deployer's manifest push: temp file in the same folder whose
name starts with ``.``, fsync, rename.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

__all__ = ["write_atomic", "write_json_atomic"]


def write_atomic(path: Path, data: bytes, *, mode: int = 0o644) -> None:
    """Replace ``path`` with ``data`` in one rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
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
