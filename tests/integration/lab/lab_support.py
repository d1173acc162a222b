"""Helpers for tests that run a whole lab."""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
from pathlib import Path

import yaml

from deployer.lab.procs import find_marked_processes, is_running
from deployer.lab.testing import LabHandle, poll_until


def edit_flags(lab: LabHandle, node: str, *, add: tuple[str, ...] = (), drop: str = "") -> bytes:
    """Rewrite a node's manifest with flags added/removed, atomically; return the old bytes."""
    path = lab.manifest(node)
    old = path.read_bytes()
    pod = yaml.safe_load(old)
    command = pod["spec"]["containers"][0]["command"]
    if drop:
        command[:] = [c for c in command if not c.startswith(drop)]
    command.extend(add)
    replace_manifest(path, yaml.safe_dump(pod, sort_keys=False).encode())
    return old


def replace_manifest(path: Path, content: bytes) -> None:
    """Write like deployer does: a dot temp file, then rename."""
    temp = path.with_name(f".{path.name}.test")
    temp.write_bytes(content)
    temp.chmod(0o600)
    temp.rename(path)


def pod_name_of(container: dict[str, object]) -> str:
    """The ``io.kubernetes.pod.name`` label of a ``crictl ps`` entry."""
    labels = container.get("labels")
    return str(labels.get("io.kubernetes.pod.name", "")) if isinstance(labels, dict) else ""


def apiserver_id(lab: LabHandle, node: str) -> str | None:
    running = lab.running_apiserver(node)
    return str(running["id"]) if running else None


def wait_new_apiserver(
    lab: LabHandle, node: str, old_id: str | None, *, timeout_s: float = 30
) -> str:
    """Wait until a kube-apiserver container other than ``old_id`` runs; return its id."""
    poll_until(
        lambda: apiserver_id(lab, node) not in (None, old_id),
        timeout_s=timeout_s,
        what=f"a new kube-apiserver on {node}",
    )
    new = apiserver_id(lab, node)
    assert new is not None
    return new


def recorded_pids(root: Path) -> list[int]:
    """Every pid ``lab.json`` records (read before ``lab down`` forgets them)."""
    processes = json.loads((root / "lab.json").read_text())["processes"]
    return [int(p["pid"]) for roles in processes.values() for p in roles.values()]


def reap_and_check_gone(pids: list[int]) -> list[int]:
    """Collect the exit status of lab processes re-parented to this (subreaper) test process.

    ``lab down`` ran in another process, so it stopped them but could not collect them; a
    process that is gone from ``/proc`` afterwards left nothing behind. Returns the pids that
    are still there.
    """
    for pid in pids:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
    return [pid for pid in pids if Path(f"/proc/{pid}").exists()]


def lab_processes_left(root: Path) -> list[int]:
    return [p.pid for p in find_marked_processes(root) if is_running(p)]


def listening_on(prefix: str) -> list[str]:
    """Listening TCP sockets whose local address starts with ``prefix`` (``ss -ltn``)."""
    out = subprocess.run(["ss", "-ltnH"], capture_output=True, text=True, timeout=10, check=True)
    return [
        line.split()[3]
        for line in out.stdout.splitlines()
        if len(line.split()) > 3 and line.split()[3].startswith(prefix)
    ]


def address_prefix(first_address: str) -> str:
    return re.sub(r"\.\d+$", ".", first_address)
