"""Run the ``vagrant`` command line in the lab's folder and capture what it prints.

Why a subprocess and not Vagrant's Ruby API: the command line is Vagrant's stable interface,
and a stand-in executable placed first on ``PATH`` lets tests replay recorded outputs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

from deployer.errors import InputError, InputProblem, UnreachableError
from deployer.model.report import CommandResult

__all__ = ["DEFAULT_VAGRANT_TIMEOUT_S", "find_vagrant_dir", "run_vagrant", "stderr_tail"]

#: ``vagrant status`` and ``ssh-config`` load every plugin and query the provider: seconds,
#: not minutes, unless the provider hangs.
DEFAULT_VAGRANT_TIMEOUT_S = 120.0


def stderr_tail(text: str, lines: int = 8) -> str:
    """Return the last non-empty ``lines`` of ``text``, indented, for a one-screen message."""
    kept = [line.rstrip() for line in text.strip().splitlines() if line.strip()][-lines:]
    return "\n".join(f"    {line}" for line in kept)


def find_vagrant_dir(vagrant_dir: Path) -> Path:
    """Return the absolute lab folder after checking it has a Vagrantfile.

    Why check: run elsewhere, ``vagrant`` walks up the tree and may pick another project's
    Vagrantfile.

    Raises:
        InputError: no such folder, or no Vagrantfile in it.
    """
    folder = vagrant_dir.expanduser().resolve()
    if not (folder / "Vagrantfile").is_file():
        raise InputError(
            [
                InputProblem(
                    f"no Vagrantfile in {folder}",
                    hint="run from deployer's source folder or pass --vagrant-dir with the "
                    "folder that holds its Vagrantfile",
                )
            ]
        )
    return folder


def run_vagrant(
    args: Sequence[str],
    *,
    vagrant_dir: Path,
    executable: str = "vagrant",
    timeout_s: float = DEFAULT_VAGRANT_TIMEOUT_S,
) -> CommandResult:
    """Run ``vagrant ARGS`` in ``vagrant_dir`` and return its result, whatever its exit code.

    Raises:
        InputError: the executable is not installed (exit 6: nothing was touched).
        UnreachableError: it did not finish within ``timeout_s`` (the provider hangs).
    """
    program = shutil.which(executable)
    if program is None:
        raise InputError(
            [
                InputProblem(
                    f"{executable!r} is not installed or not on PATH",
                    hint="install Vagrant (https://developer.hashicorp.com/vagrant/install or "
                    "your distribution's package) and a provider (libvirt or VirtualBox), "
                    "then: vagrant up",
                )
            ]
        )
    env = dict(os.environ)
    # No "new version available" notice mixed into the output we parse.
    env["VAGRANT_CHECKPOINT_DISABLE"] = "1"
    env["VAGRANT_NO_COLOR"] = "1"
    argv = (program, *args)
    started = time.monotonic()
    try:
        done = subprocess.run(
            argv,
            cwd=vagrant_dir,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
    except subprocess.TimeoutExpired as err:
        raise UnreachableError(
            f"`vagrant {' '.join(args)}` did not finish within {timeout_s:g}s",
            host="vagrant",
            hint="check the provider (virsh list --all, VBoxManage list runningvms) and retry",
        ) from err
    return CommandResult(
        host="localhost",
        argv=argv,
        exit_code=done.returncode,
        stdout=done.stdout,
        stderr=done.stderr,
        duration_s=time.monotonic() - started,
    )
