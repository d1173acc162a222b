"""Idle memory of one lab node, process by process: RSS of etcd, sshd, kubelet and the apiserver.

Usage (inside a private network namespace, as every lab experiment):

    unshare -n bash -c 'ip link set lo up && .venv/bin/python bench/lab_memory.py [--nodes 3]'

Why a script of its own beside ``bench/lab.py``: the issue's target (a node's idle memory <= 60
MB RSS) is a sum, and the way to lower a sum is to know its terms. This brings up a lab of
``--nodes`` nodes, waits ``--settle`` seconds after every apiserver is ready, then takes
``--samples`` readings one ``--interval`` apart. A reading sums ``VmRSS`` from
``/proc/<pid>/status`` of exactly the node's processes, by pid: the pids the lab recorded for
etcd, sshd and kubelet, and the running containers' pids from the kubelet's state (the
apiserver). Printed: the median per role over every node and reading, and the median per-node
total. RSS counts a shared page (the interpreter's code, libcrypto) in every process that maps
it, which is what the issue asks; PSS (shared pages split) is printed beside it.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from deployer.lab.control import LabOptions, lab_down, lab_up
from deployer.lab.kubelet.records import CONTAINER_RUNNING, load_state
from deployer.lab.layout import lab_layout
from deployer.lab.records_file import load_lab_record

_ROLES = ("etcd", "sshd", "kubelet", "apiserver")


def _kib(pid: int, file: str, key: str) -> int:
    """One ``key: N kB`` field of ``/proc/<pid>/<file>``; 0 when the process is gone."""
    try:
        for line in Path(f"/proc/{pid}/{file}").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _node_processes(root: Path) -> list[dict[str, int]]:
    """Per node: role -> pid, from the lab's record and the kubelet's container state."""
    record = load_lab_record(root / "lab.json")
    if record is None:
        raise SystemExit(f"no lab record under {root}")
    layout = lab_layout(root, record.settings.nodes, record.settings.first_address)
    nodes = []
    for node in layout.nodes:
        roles = {role: p.pid for role, p in record.processes.get(node.name, {}).items()}
        running = [
            c for c in load_state(node.kubelet_state).containers if c.state == CONTAINER_RUNNING
        ]
        for container in running:
            if container.pid:
                roles["apiserver"] = container.pid
        nodes.append(roles)
    return nodes


def _reading(nodes: list[dict[str, int]]) -> list[dict[str, tuple[int, int]]]:
    """Per node: role -> (RSS KiB, PSS KiB) now."""
    return [
        {
            role: (_kib(pid, "status", "VmRSS"), _kib(pid, "smaps_rollup", "Pss"))
            for role, pid in roles.items()
        }
        for roles in nodes
    ]


def _measure(
    nodes: int, first_address: str, settle_s: float, samples: int, interval_s: float
) -> list[list[dict[str, tuple[int, int]]]]:
    with tempfile.TemporaryDirectory(prefix="lab-memory-") as folder:
        root = Path(folder) / "lab"
        try:
            lab_up(
                LabOptions(root=root, nodes=nodes, first_address=first_address, ready_timeout_s=180)
            )
            time.sleep(settle_s)  # start-up work done: idle from here
            processes = _node_processes(root)
            readings = []
            for index in range(samples):
                if index:
                    time.sleep(interval_s)
                readings.append(_reading(processes))
            return readings
        finally:
            lab_down(root)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=3)
    parser.add_argument("--first-address", default="127.0.12.1")
    parser.add_argument("--settle", type=float, default=5.0, help="seconds idle before reading")
    parser.add_argument("--samples", type=int, default=5)
    parser.add_argument("--interval", type=float, default=1.0)
    args = parser.parse_args()
    readings = _measure(args.nodes, args.first_address, args.settle, args.samples, args.interval)
    per_node = [node for reading in readings for node in reading]
    print(f"{args.nodes} node(s), {args.samples} readings each, after {args.settle:g} s idle")
    print(f"{'process':<10} {'RSS MB':>8} {'PSS MB':>8}")
    for role in _ROLES:
        values = [node[role] for node in per_node if role in node]
        if not values:
            print(f"{role:<10} {'absent':>8}")
            continue
        rss = statistics.median(v[0] for v in values) / 1024
        pss = statistics.median(v[1] for v in values) / 1024
        print(f"{role:<10} {rss:>8.1f} {pss:>8.1f}")
    rss_total = statistics.median(sum(v[0] for v in node.values()) for node in per_node) / 1024
    pss_total = statistics.median(sum(v[1] for v in node.values()) for node in per_node) / 1024
    print(f"{'node':<10} {rss_total:>8.1f} {pss_total:>8.1f}   (median per-node total)")


if __name__ == "__main__":
    main()
