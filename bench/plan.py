"""Benchmark ``deployer plan`` (nothing to change) against an SSH floor, and apply's overhead.

Usage: .venv/bin/python bench/plan.py [--runs 5] [--sizes 3,10,30] [--apply-runs N]
                                      [--profile] [--budget 1500]

Part 1, plan. For each lab size (nodes on 127.0.70.x, real sshd on loopback), in the same lab
and interleaved run by run:

- ``deployer plan -i LAB/inventory.yml`` in-process (``deployer.cli.main.main``; interpreter
  start-up and imports excluded, exit code must be 0), and as a subprocess
  (``.venv/bin/deployer plan``: what an operator waits for, start-up included);
- the same in-process plan on a copy of the inventory whose ``crictl`` replays the answers the
  node's crictl stand-in gave just before (:func:`replay_inventory`): plan at the speed of a
  compiled crictl, i.e. deployer's own cost without three Python start-ups per host;
- the floor: one paramiko connection per host (the inventory's key, user, port and known_hosts
  file, host keys checked), ``sha256sum <manifest>`` and nothing else, every host at once in
  threads, as deployer's plan does.

Printed: medians and the ratio deployer/floor per size (target: <= 2 at 30 nodes), a breakdown
of one in-process plan (offline prepare, SSH connect, observe + readyz), and, when the ratio at
the largest size is above 2 (or with ``--profile``), a cProfile of plan over every thread.

Part 2, apply overhead (3 nodes): ``deployer apply -e apiserver_flags.audit-log-maxage=<n>
-e soak_seconds=0 --yes --lock L --json R`` as a subprocess, a new value each run. Per host,
from the JSON report and the lab's records:

- host total = the first phase's start (lock) to the last phase's end (verify);
- apiserver time = from the end of ``push`` (the manifest is in place) to the new apiserver
  being ready; ready = the moment the new container logged ``Serving securely on`` (its CRI
  log time stamp, written by the kubelet stand-in as the line arrives) plus the lab's ready
  delay (the stand-in's ``/readyz`` fails for that long after it starts serving);
- overhead = host total - apiserver time (target: < 1 s per host).
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import json
import os
import pstats
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import Any

import paramiko
import yaml

from deployer.cli.main import main as deployer_main
from deployer.inventory import load_inventory
from deployer.lab.kubelet.records import load_state
from deployer.lab.testing import LabHandle, running_lab

FIRST_ADDRESS = "127.0.70.1"
READY_DELAY_S = 0.2
_DEPLOYER = Path(sys.executable).with_name("deployer")
_SUBPROCESS_TIMEOUT_S = 180.0


class BudgetExceeded(Exception):
    """The whole benchmark ran longer than ``--budget`` (labs are still brought down)."""


@dataclass(frozen=True, slots=True)
class FloorHost:
    """What the floor needs to reach one host, taken from the lab's inventory."""

    address: str
    port: int
    user: str
    key_file: str
    known_hosts: str
    manifest: str


def floor_hosts(inventory: Path) -> list[FloorHost]:
    """Read the connection variables deployer itself would use, from the inventory."""
    hosts = []
    for host in load_inventory([inventory]).hosts:
        root = str(host.vars.get("host_root", "/"))
        hosts.append(
            FloorHost(
                address=host.address,
                port=host.port,
                user=host.user or os.environ.get("USER", "root"),
                key_file=str(host.vars["ansible_ssh_private_key_file"]),
                known_hosts=str(host.vars["ssh_known_hosts_file"]),
                manifest=f"{root.rstrip('/')}/etc/kubernetes/manifests/kube-apiserver.yaml",
            )
        )
    return hosts


def _floor_one(host: FloorHost) -> str:
    client = paramiko.SSHClient()
    try:
        client.load_host_keys(host.known_hosts)
        client.set_missing_host_key_policy(paramiko.RejectPolicy())
        client.connect(
            host.address,
            port=host.port,
            username=host.user,
            key_filename=host.key_file,
            look_for_keys=False,
            allow_agent=False,
            timeout=10,
            banner_timeout=10,
            auth_timeout=10,
        )
        _, stdout, _ = client.exec_command(f"sha256sum {host.manifest}", timeout=10)
        out = stdout.read().decode()
        if stdout.channel.recv_exit_status() != 0:
            raise RuntimeError(f"sha256sum failed on {host.address}")
        return out.split()[0]
    finally:
        client.close()


def run_floor(hosts: list[FloorHost]) -> float:
    """Time the floor: every host at once, one thread and one connection each."""
    results: list[str | BaseException] = [""] * len(hosts)

    def work(i: int) -> None:
        try:
            results[i] = _floor_one(hosts[i])
        except BaseException as exc:  # reported below, in the main thread
            results[i] = exc

    threads = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(len(hosts))]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    elapsed = time.perf_counter() - started
    failed = [r for r in results if isinstance(r, BaseException) or len(r) != 64]
    if failed:
        raise RuntimeError(f"floor failed: {failed[0]!r}")
    return elapsed


def run_plan_inprocess(inventory: Path) -> float:
    """Time ``deployer plan`` through ``main()``; its output is discarded."""
    sink = io.StringIO()
    started = time.perf_counter()
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        code = deployer_main(["plan", "-i", str(inventory), "--no-color"])
    elapsed = time.perf_counter() - started
    if code != 0:
        raise RuntimeError(f"deployer plan exited {code}:\n{sink.getvalue()[-2000:]}")
    return elapsed


def run_plan_subprocess(inventory: Path) -> float:
    """Time ``.venv/bin/deployer plan`` as a process (interpreter start-up included)."""
    started = time.perf_counter()
    result = subprocess.run(
        [str(_DEPLOYER), "plan", "-i", str(inventory), "--no-color"],
        capture_output=True,
        text=True,
        timeout=_SUBPROCESS_TIMEOUT_S,  # subprocess.run kills its own child on timeout
        check=False,
    )
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"deployer plan exited {result.returncode}:\n{result.stderr[-2000:]}")
    return elapsed


def plan_breakdown(inventory: Path) -> dict[str, float]:
    """One plan, stage by stage, with the library calls the ``plan`` command makes."""
    from deployer.engine.observer import build_plan
    from deployer.offline import prepare
    from deployer.transport.options import SshOptions
    from deployer.transport.pool import default_forks, open_transports

    out: dict[str, float] = {}
    t = time.perf_counter()
    prepared = prepare([inventory])
    out["prepare (load, validate, render, check)"] = time.perf_counter() - t
    forks = default_forks(len(prepared.states))
    t = time.perf_counter()
    with open_transports(prepared.inventory.hosts, SshOptions(), forks=forks) as connections:
        out["open_transports (SSH connect + auth, parallel)"] = time.perf_counter() - t
        transports: dict[str, Any] = dict(connections.transports)
        transports.update(connections.unreachable)
        t = time.perf_counter()
        plan = build_plan(prepared.states, prepared.manifests, transports, forks=forks)
        out["build_plan (observe script + readyz, parallel)"] = time.perf_counter() - t
        t = time.perf_counter()
    out["close connections"] = time.perf_counter() - t
    if any(h.unreachable for h in plan.hosts):
        raise RuntimeError("a host was unreachable during the breakdown")
    return out


def _connect(host: FloorHost) -> paramiko.SSHClient:
    client = paramiko.SSHClient()
    client.load_host_keys(host.known_hosts)
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    client.connect(
        host.address,
        port=host.port,
        username=host.user,
        key_filename=host.key_file,
        look_for_keys=False,
        allow_agent=False,
        timeout=10,
    )
    return client


def _exec_s(client: paramiko.SSHClient, command: str) -> float:
    started = time.perf_counter()
    _, stdout, _ = client.exec_command(command, timeout=60)
    stdout.read()
    stdout.channel.recv_exit_status()
    return time.perf_counter() - started


def remote_costs(inventory: Path, hosts: list[FloorHost]) -> dict[str, float]:
    """What each remote command of deployer's observation costs, on an idle lab.

    One connection to the first host, commands one after the other (median of 3); then
    ``sha256sum``, the whole observation script, and that script with ``crictl`` replaced by
    ``true``, on every host at once (one connection each, set-up excluded; median of 3), to
    show how the remote work scales on this machine.
    """
    from deployer.offline import prepare
    from deployer.phases.observe import observe_host

    class Captured(Exception):
        """Carries the argv deployer's observation would run."""

    class CaptureTransport:
        """Stands in for a transport just long enough to learn the observation's argv."""

        def run(self, argv: list[str], **_: object) -> None:
            raise Captured(argv)

    def observation_argv(state: Any, crictl: str | None = None) -> str:
        try:
            observe_host(CaptureTransport(), state)  # type: ignore[arg-type]
        except Captured as captured:
            argv: list[str] = list(captured.args[0])
            if crictl is not None:
                argv = [crictl if a == state.crictl else a for a in argv]
            return shlex.join(argv)
        raise RuntimeError("observe_host ran no command")

    states = prepare([inventory]).states
    argvs = [observation_argv(st) for st in states]
    # The same script with the lab's Python crictl stand-in replaced by `true`: deployer's own
    # remote work (a real, Go crictl adds a few milliseconds per call on top of it).
    no_crictl = [observation_argv(st, "true") for st in states]
    crictl = states[0].crictl
    commands = {
        "exec `true` (channel + shell, nothing else)": "true",
        "exec `sha256sum <manifest>` (the floor's command)": f"sha256sum {hosts[0].manifest}",
        "exec `crictl ps -a -o json --name ...` (lab stand-in)": shlex.join(
            [crictl, "ps", "-a", "-o", "json", "--name", "^kube-apiserver$"]
        ),
        "exec kubelet_check (lab stand-in)": shlex.join(states[0].kubelet_check),
        "exec the whole observation script (1 host)": argvs[0],
    }
    out: dict[str, float] = {}
    client = _connect(hosts[0])
    try:
        for label, command in commands.items():
            _exec_s(client, command)  # warm-up
            out[label] = statistics.median(_exec_s(client, command) for _ in range(3))
    finally:
        client.close()
    clients = [_connect(h) for h in hosts]
    try:
        for label, per_host in (
            ("sha256sum on every host at once", [f"sha256sum {h.manifest}" for h in hosts]),
            ("observation script on every host at once", argvs),
            ("observation script, crictl = `true`, every host at once", no_crictl),
        ):
            samples: list[float] = []

            def work(i: int, commands: list[str] = per_host) -> None:
                _exec_s(clients[i], commands[i])

            for _ in range(3):
                threads = [threading.Thread(target=work, args=(i,)) for i in range(len(hosts))]
                started = time.perf_counter()
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join(timeout=120)
                samples.append(time.perf_counter() - started)
            out[label] = statistics.median(samples)
    finally:
        for c in clients:
            c.close()
    return out


def profile_plan(inventory: Path, top: int) -> str:
    """cProfile one in-process plan over every thread (one profiler per thread, merged)."""
    profiles: list[cProfile.Profile] = []
    lock = threading.Lock()

    def start_thread_profile(frame: FrameType, event: str, arg: object) -> None:
        profile = cProfile.Profile()
        with lock:
            profiles.append(profile)
        profile.enable()  # replaces this hook for the rest of the thread

    main_profile = cProfile.Profile()
    threading.setprofile(start_thread_profile)
    try:
        main_profile.enable()
        run_plan_inprocess(inventory)
        main_profile.disable()
    finally:
        threading.setprofile(None)
    for profile in profiles:
        profile.disable()
    text = io.StringIO()
    stats = pstats.Stats(main_profile, stream=text)
    for profile in profiles:
        with contextlib.suppress(TypeError):  # a thread that recorded nothing
            stats.add(profile)
    text.write(f"(merged over the main thread and {len(profiles)} worker threads)\n")
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)
    return text.getvalue()


_REPLAY = """#!/bin/sh
# bench/plan.py: replays this node's crictl answers, recorded just before, at the speed of a
# compiled crictl (the lab's stand-in starts a Python interpreter per call).
d={folder}
case "$*" in
  'ps -a -o json --name ^kube-apiserver$') cat "$d/ps.json" ;;
  'ps -q --state running --name ^kube-apiserver$') cat "$d/ps-q.txt" ;;
  'inspect '*) cat "$d/inspect.json" ;;
  *) exec {real} "$@" ;;
esac
"""


def replay_inventory(lab: LabHandle) -> Path:
    """Write a copy of the lab's inventory whose ``crictl`` replays recorded answers.

    Each node gets ``bench-crictl/crictl``: a shell script that prints what the node's crictl
    stand-in printed for the three calls deployer's observation makes (recorded now; nothing
    changes during a plan), so the plan pays what a real, compiled crictl would cost (a few
    milliseconds) instead of three Python start-ups per host.
    """
    document = yaml.safe_load(lab.inventory.read_text(encoding="utf-8"))
    hosts = document["all"]["children"]["control_plane"]["hosts"]
    name_filter = "^kube-apiserver$"
    for name, variables in hosts.items():
        node = lab.node(name)
        folder = node.root / "bench-crictl"
        folder.mkdir(exist_ok=True)
        ps = lab.crictl(name, "ps", "-a", "-o", "json", "--name", name_filter)
        ids = lab.crictl(name, "ps", "-q", "--state", "running", "--name", name_filter)
        first = ids.stdout.split()[0]
        inspect = lab.crictl(name, "inspect", first)
        for result in (ps, ids, inspect):
            result.check_returncode()
        (folder / "ps.json").write_text(ps.stdout, encoding="utf-8")
        (folder / "ps-q.txt").write_text(ids.stdout, encoding="utf-8")
        (folder / "inspect.json").write_text(inspect.stdout, encoding="utf-8")
        script = folder / "crictl"
        script.write_text(
            _REPLAY.format(folder=shlex.quote(str(folder)), real=shlex.quote(str(node.crictl))),
            encoding="utf-8",
        )
        script.chmod(0o755)
        variables["crictl"] = str(script)
    path = lab.root / "inventory-replay.yml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


def _median(values: list[float]) -> float:
    return statistics.median(values)


def bench_size(
    workdir: Path, nodes: int, runs: int, *, subprocess_runs: int, profile_above: float
) -> dict[str, float]:
    """Bring a lab of ``nodes`` up, measure plan and the floor, bring it down.

    Plan is profiled when its ratio to the floor is above ``profile_above``.
    """
    lab_dir = workdir / f"lab{nodes}"
    started = time.monotonic()
    with running_lab(
        lab_dir,
        nodes=nodes,
        first_address=FIRST_ADDRESS,
        ready_delay_s=READY_DELAY_S,
        timeout_s=180.0,
    ) as lab:
        up_s = time.monotonic() - started
        inventory = lab.inventory
        hosts = floor_hosts(inventory)
        # Warm-up (not timed): first connections, first imports, page cache.
        run_floor(hosts)
        run_plan_inprocess(inventory)
        replay = replay_inventory(lab)
        run_plan_inprocess(replay)
        fast: list[float] = []
        inproc: list[float] = []
        floor: list[float] = []
        spawned: list[float] = []
        for i in range(runs):
            inproc.append(run_plan_inprocess(inventory))
            floor.append(run_floor(hosts))
            fast.append(run_plan_inprocess(replay))
            if i < subprocess_runs:
                spawned.append(run_plan_subprocess(inventory))
        load = os.getloadavg()[0]
        figures = {
            "in": _median(inproc),
            "floor": _median(floor),
            "sub": _median(spawned) if spawned else float("nan"),
            "fast": _median(fast),
        }
        print(
            f"{nodes:>2} nodes (lab up {up_s:.1f} s, load avg {load:.2f}): "
            f"plan in-process median {figures['in']:.3f} s, "
            f"subprocess {figures['sub']:.3f} s ({len(spawned)} runs), "
            f"floor {figures['floor']:.3f} s; ratio in-process/floor "
            f"{figures['in'] / figures['floor']:.2f}, subprocess/floor "
            f"{figures['sub'] / figures['floor']:.2f}",
            flush=True,
        )
        print(
            f"    plan in-process with crictl answers replayed (compiled-crictl speed): median "
            f"{figures['fast']:.3f} s; ratio to floor {figures['fast'] / figures['floor']:.2f}",
            flush=True,
        )
        print(
            "    runs in-process "
            + " ".join(f"{v:.3f}" for v in inproc)
            + " | floor "
            + " ".join(f"{v:.3f}" for v in floor)
            + " | replayed crictl "
            + " ".join(f"{v:.3f}" for v in fast),
            flush=True,
        )
        stages = [plan_breakdown(inventory) for _ in range(max(1, min(runs, 3)))]
        for key in stages[0]:
            print(f"    {key:<55} {_median([s[key] for s in stages]):.3f} s", flush=True)
        for key, value in remote_costs(inventory, hosts).items():
            print(f"    {key:<55} {value:.3f} s", flush=True)
        ratio = figures["in"] / figures["floor"]
        if ratio > profile_above:
            print(f"    profile of one in-process plan at {nodes} nodes:", flush=True)
            print(profile_plan(inventory, top=25), flush=True)
    return figures


def _ready_at(lab: LabHandle, host: str, container_id: str) -> float:
    """Wall-clock time the new apiserver became ready (see the module docstring)."""
    node = lab.node(host)
    state = load_state(node.kubelet_state)
    record = next(c for c in state.containers if c.id.startswith(container_id))
    log = node.path(record.log_path)
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
        if "Serving securely on" in line:
            stamp = line.split(" ", 1)[0]  # 2026-11-28T16:01:02.123456789Z
            base, _, fraction = stamp.rstrip("Z").partition(".")
            moment = datetime.fromisoformat(base + "+00:00").timestamp()
            return moment + float("0." + (fraction or "0")) + READY_DELAY_S
    raise RuntimeError(f"{host}: no 'Serving securely' line in {log}")


def _stamp(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def bench_apply(workdir: Path, runs: int) -> None:
    """Apply a one-flag change to a 3-node lab ``runs`` times; print per-host overhead."""
    rows: list[dict[str, float]] = []
    with running_lab(
        workdir / "lab-apply", nodes=3, first_address=FIRST_ADDRESS, ready_delay_s=READY_DELAY_S
    ) as lab:
        for run in range(runs):
            report_file = workdir / f"apply-{run}.json"
            started = time.perf_counter()
            result = subprocess.run(
                [
                    str(_DEPLOYER),
                    "apply",
                    "-i",
                    str(lab.inventory),
                    "-e",
                    f"apiserver_flags.audit-log-maxage={40 + run}",
                    "-e",
                    "soak_seconds=0",
                    "--yes",
                    "--no-color",
                    "--lock",
                    str(workdir / "apply.lock"),
                    "--json",
                    str(report_file),
                ],
                capture_output=True,
                text=True,
                timeout=_SUBPROCESS_TIMEOUT_S,
                check=False,
            )
            wall = time.perf_counter() - started
            if result.returncode != 0:
                raise RuntimeError(f"apply exited {result.returncode}:\n{result.stderr[-3000:]}")
            report = json.loads(report_file.read_text())
            for name, host in report["hosts"].items():
                if host["outcome"] != "changed":
                    raise RuntimeError(f"{name}: outcome {host['outcome']}")
                phases = {p["phase"]: p for p in host["phases"]}
                first = min(_stamp(p["started_at"]) for p in host["phases"])
                last = max(_stamp(p["finished_at"]) for p in host["phases"])
                push_end = _stamp(phases["push"]["finished_at"])
                ready = _ready_at(lab, name, host["restart"]["new_container"])
                row = {p: phases[p]["duration_s"] for p in phases}
                row.update(
                    total=last - first,
                    apiserver=ready - push_end,
                    overhead=(last - first) - (ready - push_end),
                    restart_seconds=float(host["restart"]["seconds"]),
                    verify_after_ready=_stamp(phases["verify"]["finished_at"]) - ready,
                    wall=wall,
                )
                rows.append(row)
            print(
                f"  apply run {run + 1}: {wall:.2f} s for 3 hosts; per-host overhead "
                + ", ".join(f"{r['overhead']:.3f}" for r in rows[-3:])
                + " s",
                flush=True,
            )
    keys = ["lock", "preflight", "backup", "push", "restart", "verify"]
    print(f"apply on 3 nodes, {runs} run(s), median per host ({len(rows)} host-runs):")
    for key in keys:
        print(f"    phase {key:<10} {_median([r[key] for r in rows]):.3f} s", flush=True)
    overhead = _median([r["overhead"] for r in rows])
    for key, label in (
        ("restart_seconds", "restart.seconds (report)"),
        ("total", "host total (lock start..verify end)"),
        ("apiserver", f"apiserver time (push end..ready, {READY_DELAY_S:g} s ready delay incl.)"),
        ("verify_after_ready", "verify end - ready"),
        ("overhead", "OVERHEAD = host total - apiserver time"),
    ):
        print(f"    {label:<58} {_median([r[key] for r in rows]):.3f} s", flush=True)
    print(
        f"    overhead max {max(r['overhead'] for r in rows):.3f} s; target < 1 s per host: "
        f"{'MET' if overhead < 1 else 'MISSED'}; whole apply command (3 hosts, start-up "
        f"included) median {_median([r['wall'] for r in rows]):.2f} s",
        flush=True,
    )


@contextlib.contextmanager
def budget(seconds: int) -> Iterator[None]:
    """Raise :class:`BudgetExceeded` in the main thread after ``seconds`` (labs still go down)."""

    def expired(signum: int, frame: FrameType | None) -> None:
        raise BudgetExceeded(f"benchmark budget of {seconds} s exceeded")

    previous: Callable[[int, FrameType | None], Any] | int | None = signal.signal(
        signal.SIGALRM, expired
    )
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="timed runs per size (median)")
    parser.add_argument("--sizes", default="3,10,30", help="lab sizes, comma-separated")
    parser.add_argument(
        "--subprocess-runs", type=int, default=None, help="subprocess plan runs (default: --runs)"
    )
    parser.add_argument("--apply-runs", type=int, default=None, help="default: --runs; 0 skips")
    parser.add_argument("--profile", action="store_true", help="cProfile plan at every size")
    parser.add_argument("--budget", type=int, default=1500, help="seconds before giving up")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s]
    sub_runs = args.runs if args.subprocess_runs is None else args.subprocess_runs
    apply_runs = args.runs if args.apply_runs is None else args.apply_runs
    with budget(args.budget), tempfile.TemporaryDirectory(prefix="plan-bench-") as folder:
        workdir = Path(folder)
        results = {}
        for nodes in sizes:
            threshold = 0.0 if args.profile else (2.0 if nodes == max(sizes) else float("inf"))
            results[nodes] = bench_size(
                workdir, nodes, args.runs, subprocess_runs=sub_runs, profile_above=threshold
            )
            shutil.rmtree(workdir / f"lab{nodes}", ignore_errors=True)
        largest = max(sizes)
        ratio = results[largest]["in"] / results[largest]["floor"]
        print(
            f"target ratio <= 2 at {largest} nodes (in-process): {ratio:.2f} "
            f"{'MET' if ratio <= 2 else 'MISSED'}",
            flush=True,
        )
        if apply_runs:
            bench_apply(workdir, apply_runs)


if __name__ == "__main__":
    main()
