"""Benchmark the embedded lab: ``lab up`` time (3 and 30 nodes) and idle memory per node.

Usage: .venv/bin/python bench/lab.py [--runs 3] [--big-runs 1] [--nodes 3,30]

Targets (issue): 3 nodes ready < 10 s, 30 nodes < 60 s, < 60 MB per node. Memory is reported
as RSS (what the issue asks; shared pages such as the Python interpreter's are counted once per
process) and PSS (shared pages split between processes, the honest per-node share).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from deployer.lab.control import LabOptions, lab_down, lab_up
from deployer.lab.kubelet.records import CONTAINER_RUNNING, load_state
from deployer.lab.layout import lab_layout
from deployer.lab.records_file import load_lab_record


def _kib(pid: int, file: str, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/{file}").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _node_pids(root: Path) -> list[list[int]]:
    record = load_lab_record(root / "lab.json")
    assert record is not None
    layout = lab_layout(root, record.settings.nodes, record.settings.first_address)
    per_node = []
    for node in layout.nodes:
        pids = [p.pid for p in record.processes.get(node.name, {}).values()]
        state = load_state(node.kubelet_state)
        pids += [c.pid for c in state.containers if c.state == CONTAINER_RUNNING and c.pid]
        per_node.append(pids)
    return per_node


def _cpu_ticks(pid: int) -> int:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])  # utime + stime


def _node_usage(root: Path, settle_s: float) -> list[tuple[float, float, float]]:
    """Per node: RSS MB, PSS MB, and idle CPU (% of one core) over ``settle_s``."""
    nodes = _node_pids(root)
    before = [[_cpu_ticks(pid) for pid in pids] for pids in nodes]
    time.sleep(settle_s)  # idle: after start-up work is done
    ticks = os.sysconf("SC_CLK_TCK")
    usage = []
    for pids, start in zip(nodes, before, strict=True):
        rss = sum(_kib(pid, "status", "VmRSS") for pid in pids) / 1024
        pss = sum(_kib(pid, "smaps_rollup", "Pss") for pid in pids) / 1024
        cpu = sum(_cpu_ticks(pid) - t for pid, t in zip(pids, start, strict=True))
        usage.append((rss, pss, 100.0 * cpu / ticks / settle_s))
    return usage


def _one(
    nodes: int, first_address: str, settle_s: float
) -> tuple[float, list[tuple[float, float, float]]]:
    with tempfile.TemporaryDirectory(prefix="lab-bench-") as folder:
        root = Path(folder) / "lab"
        started = time.monotonic()
        try:
            lab_up(
                LabOptions(
                    root=root,
                    nodes=nodes,
                    first_address=first_address,
                    ready_timeout_s=180,
                )
            )
            elapsed = time.monotonic() - started
            time.sleep(settle_s)  # let start-up work finish before measuring idle use
            memory = _node_usage(root, settle_s)
        finally:
            lab_down(root)
    return elapsed, memory


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3, help="runs of the 3-node lab")
    parser.add_argument("--big-runs", type=int, default=1, help="runs of the 30-node lab")
    parser.add_argument("--settle", type=float, default=3.0, help="seconds idle before measuring")
    args = parser.parse_args()
    for nodes, runs in ((3, args.runs), (30, args.big_runs)):
        times: list[float] = []
        rss: list[float] = []
        pss: list[float] = []
        cpu: list[float] = []
        for _ in range(runs):
            elapsed, memory = _one(nodes, "127.0.10.1", args.settle)
            times.append(elapsed)
            rss.extend(m[0] for m in memory)
            pss.extend(m[1] for m in memory)
            cpu.extend(m[2] for m in memory)
            print(f"  {nodes} nodes: ready in {elapsed:.2f} s", flush=True)
        print(
            f"{nodes:>2} nodes, {runs} run(s): lab up median {statistics.median(times):.2f} s; "
            f"idle memory per node median RSS {statistics.median(rss):.1f} MB, "
            f"PSS {statistics.median(pss):.1f} MB; idle CPU per node median "
            f"{statistics.median(cpu):.1f}% of a core",
            flush=True,
        )


if __name__ == "__main__":
    main()
