"""``lab down``: stop exactly what the lab started, and prove nothing is left.

Order: kubelets first (so none restarts a container being stopped), then the containers they
recorded, etcd and sshd (with sshd's per-connection children), all by pid *and* start time.
Last, a sweep for processes carrying this lab's ``DEPLOYER_LAB_DIR`` catches what an ``up``
killed mid-way started but never recorded. Then every lab port must be closed.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from deployer.errors import LabError
from deployer.lab.health import port_open
from deployer.lab.kubelet.records import (
    CONTAINER_EXITED,
    CONTAINER_RUNNING,
    SANDBOX_NOTREADY,
    load_state,
    save_state,
)
from deployer.lab.layout import (
    APISERVER_PORT,
    ETCD_CLIENT_PORT,
    ETCD_PEER_PORT,
    SSH_PORT,
    LabLayout,
)
from deployer.lab.procs import (
    ProcessRecord,
    descendants,
    find_marked_processes,
    is_running,
    stop_processes,
)
from deployer.lab.records_file import LabRecord

__all__ = ["stop_lab"]


def _containers(layout: LabLayout) -> list[ProcessRecord]:
    found: list[ProcessRecord] = []
    for node in layout.nodes:
        try:
            state = load_state(node.kubelet_state)
        except ValueError:
            continue
        found.extend(
            ProcessRecord("container", c.pid, c.pid_start_time)
            for c in state.containers
            if c.state == CONTAINER_RUNNING and c.pid > 0
        )
    return found


def _mark_containers_stopped(layout: LabLayout) -> None:
    """Tell the next kubelet that the lab stopped these containers (no crash, no back-off)."""
    for node in layout.nodes:
        try:
            state = load_state(node.kubelet_state)
        except ValueError:
            continue
        if not any(c.state == CONTAINER_RUNNING for c in state.containers):
            continue
        state.containers = [
            replace(c, state=CONTAINER_EXITED, pid=0, is_stop_requested=True, reason="Completed")
            if c.state == CONTAINER_RUNNING
            else c
            for c in state.containers
        ]
        state.sandboxes = [replace(s, state=SANDBOX_NOTREADY) for s in state.sandboxes]
        save_state(node.kubelet_state, state)


def _shut_down_kubelets(kubelets: list[ProcessRecord], *, timeout_s: float) -> None:
    """Ask each kubelet for a node shutdown (SIGUSR1) and wait until they are gone.

    Why not SIGTERM: a stopped kubelet leaves its containers running (as the real one does);
    at shutdown it stops them itself and, being their parent, collects their exit status.
    """
    for kubelet in kubelets:
        with contextlib.suppress(ProcessLookupError):
            os.kill(kubelet.pid, signal.SIGUSR1)
    deadline = time.monotonic() + timeout_s
    while any(is_running(k) for k in kubelets) and time.monotonic() < deadline:
        time.sleep(0.05)


def stop_lab(
    root: Path,
    layout: LabLayout | None,
    record: LabRecord | None,
    *,
    purge: bool,
    progress: Callable[[str], None],
) -> int:
    """Stop the lab at ``root``; return the number of processes stopped.

    Raises:
        LabError: something the lab started is still running or listening.
    """
    stopped = 0
    if record is not None and layout is not None:
        kubelets = [
            p for roles in record.processes.values() for r, p in roles.items() if r == "kubelet"
        ]
        live = [k for k in kubelets if is_running(k)]
        containers = [c for c in _containers(layout) if is_running(c)]
        progress(f"shutting down {len(live)} kubelet(s) and {len(containers)} container(s)")
        stopped += len(live) + len(containers)
        _shut_down_kubelets(live, timeout_s=30 * record.settings.time_scale + 5.0)
        stop_processes(kubelets, grace_s=5.0)
        others = [
            p for roles in record.processes.values() for r, p in roles.items() if r != "kubelet"
        ]
        children = [
            c for p in others if p.role == "sshd" and is_running(p) for c in descendants(p.pid)
        ]
        # Containers whose kubelet was stopped (kubelet-stop fault) are still running.
        targets = [*_containers(layout), *others, *children]
        progress(f"stopping {sum(is_running(t) for t in targets)} etcd, sshd and other process(es)")
        stopped += sum(is_running(t) for t in targets)
        stop_processes(targets, grace_s=5.0)
        _mark_containers_stopped(layout)
    stray = find_marked_processes(root)
    if stray:
        progress(f"stopping {len(stray)} unrecorded process(es) of this lab")
        stopped += len(stray)
        stop_processes(stray, grace_s=3.0)
    if record is not None:
        record.forget_all()
    left = [p for p in find_marked_processes(root) if is_running(p)]
    listening = []
    if layout is not None:
        listening = [
            f"{n.ip}:{port}"
            for n in layout.nodes
            for port in (SSH_PORT, APISERVER_PORT, ETCD_CLIENT_PORT, ETCD_PEER_PORT)
            if port_open(n.ip, port, timeout_s=0.2)
        ]
    if left or listening:
        raise LabError(
            "the lab did not stop completely: "
            + ", ".join([*(f"pid {p.pid}" for p in left), *(f"listening {a}" for a in listening)]),
            hint="look at those processes with `ps -fp PID`; stop them by pid",
        )
    if purge:
        shutil.rmtree(root)
    return stopped
