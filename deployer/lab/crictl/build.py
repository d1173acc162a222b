"""Compile the lab's crictl client (``client.c``) once per lab, if a C compiler is installed.

Why compiled: the client is what every ``crictl`` call on a lab node starts, and it must cost
what a Go binary costs (a few milliseconds), not an interpreter start. Without ``cc`` the lab
still works: each node's ``crictl`` is then the standalone Python stand-in (slower, same output).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from importlib import resources
from pathlib import Path

__all__ = ["compile_client"]

_SOURCE = "client.c"


def compile_client(folder: Path) -> Path | None:
    """Return ``folder/crictl-client``, compiling it when missing or older than its source.

    None when no C compiler is on PATH or compiling failed (the reason goes to
    ``folder/crictl-client.log``).
    """
    target = folder / "crictl-client"
    source = resources.files("deployer.lab.crictl").joinpath(_SOURCE)
    with resources.as_file(source) as source_path:
        if target.exists() and target.stat().st_mtime >= source_path.stat().st_mtime:
            return target
        compiler = shutil.which("cc") or shutil.which("gcc")
        if compiler is None:
            return None
        folder.mkdir(parents=True, exist_ok=True)
        temp = folder / f".crictl-client.{os.getpid()}"
        result = subprocess.run(
            [compiler, "-O2", "-Wall", "-o", str(temp), str(source_path)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if result.returncode != 0:
            (folder / "crictl-client.log").write_text(result.stderr)
            temp.unlink(missing_ok=True)
            return None
        os.replace(temp, target)
    return target
