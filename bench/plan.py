"""Benchmark a no-op ``deployer plan`` against an SSH floor and its peers; apply's overhead.

Usage: .venv/bin/python bench/plan.py [--runs 5] [--sizes 10,30,100] [--nodes 30]
                                      [--peers ansible,pyinfra] [--peer-sizes 10,30]
                                      [--peer-runs 3] [--peers-python PY]
                                      [--apply-runs 2] [--profile]
                                      [--budget 900]

Part 1, plan. One lab of ``--nodes`` nodes (127.0.70.x, a real sshd each, on loopback); an
inventory of N hosts per size, host i on lab node i mod nodes (100 hosts share the sshd of 30
nodes; each host keeps its node's variables, so every plan has nothing to do). Per size, in the
same lab and **alternating run by run** (one untimed warm-up of each first), every figure the
wall time of a whole process (interpreter start-up and imports included):

- ``deployer plan -i INV --no-color --forks N`` (every host at once, as the floor and the peers
  work; deployer's default is at most 32); exit 0 required; its peak RSS is printed too;
- the floor, ``bench/floor.py``: one paramiko connection per host, ``sha256sum <manifest>``,
  every host at once in threads;
- the floor doing plan's remote work (``work``): the same program sending each host plan's
  exact observation command line and probing its ``/readyz`` over TLS through the same
  connection, nothing else. plan / this is deployer's own cost (inventory, rendering, parsing,
  planning, start-up); this / the floor is the cost of what a plan asks of a host;
- optionally the peers doing the same no-op check of each host's manifest, installed by this
  script into a virtualenv of its own (``~/.cache/deployer-bench/peers``; not a dependency of
  deployer): ``ansible all -m ansible.builtin.stat -a 'path=... checksum_algorithm=sha256'``
  (ansible-core, OpenSSH, pipelining, forks = hosts) and ``pyinfra -y INV.py check.py`` whose
  deploy file reads the ``files.Sha256File`` fact (pyinfra 3, paramiko, parallel = hosts).

Printed: medians, each run, and the ratios plan/floor, ansible/plan, pyinfra/plan per size;
then a breakdown of one in-process plan (offline prepare; per host in one worker: connect,
observe + readyz), and with ``--profile`` a cProfile of one in-process plan over every thread.

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
import functools
import io
import json
import os
import pstats
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import Any

import yaml

from deployer.cli.main import main as deployer_main
from deployer.facts.observe import observe_argv
from deployer.lab.kubelet.records import load_state
from deployer.lab.records_file import load_lab_record
from deployer.lab.testing import LabHandle, running_lab
from deployer.offline import prepare
from deployer.phases.observe import watched_files
from deployer.transport.command import command_line

FIRST_ADDRESS = "127.0.70.1"
READY_DELAY_S = 0.2
_BIN = Path(sys.executable).parent
_DEPLOYER = _BIN / "deployer"
_FLOOR = Path(__file__).with_name("floor.py")
_SUBPROCESS_TIMEOUT_S = 300.0
_PEERS_VENV = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "deployer-bench"
#: What the peers' virtualenv gets (the versions the issue's table was measured with).
_PEER_PACKAGES = ("ansible-core==2.21.*", "pyinfra==3.10.*")
_MANIFEST = "etc/kubernetes/manifests/kube-apiserver.yaml"

_PYINFRA_DEPLOY = '''"""bench/plan.py: pyinfra's no-op check, the manifest's sha256 fact."""
from pyinfra import host
from pyinfra.facts.files import Sha256File

if host.get_fact(Sha256File, path=host.data.manifest) is None:
    raise SystemExit("no manifest on " + host.name)
'''

_PYINFRA_WORK = '''"""bench/plan.py: pyinfra running plan's observation command (a Command fact)."""
from pyinfra import host
from pyinfra.facts.server import Command

if "@@deployer:end" not in (host.get_fact(Command, command=host.data.observe) or ""):
    raise SystemExit("the observation did not finish on " + host.name)
'''


class BudgetExceeded(Exception):
    """The whole benchmark ran longer than ``--budget`` (labs are still brought down)."""


class Workload:
    """One inventory size over a running lab: the files every tool reads."""

    def __init__(self, lab: LabHandle, folder: Path, size: int) -> None:
        document = yaml.safe_load(lab.inventory.read_text(encoding="utf-8"))
        nodes = list(document["all"]["children"]["control_plane"]["hosts"].items())
        hosts: dict[str, dict[str, Any]] = {}
        for i in range(size):
            name, variables = nodes[i % len(nodes)]
            hosts[name if i < len(nodes) else f"{name}-{i // len(nodes) + 1}"] = variables
        self.size = size
        self.inventory = folder / f"inventory-{size}.yml"
        document["all"]["children"]["control_plane"]["hosts"] = hosts
        self.inventory.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
        user = os.environ.get("USER", "root")
        floor = [
            {
                "address": v["ansible_host"],
                "port": v["ansible_port"],
                "user": v.get("ansible_user", user),
                "key_file": v["ansible_ssh_private_key_file"],
                "known_hosts": v["ssh_known_hosts_file"],
                "manifest": f"{v['host_root'].rstrip('/')}/{_MANIFEST}",
            }
            for v in hosts.values()
        ]
        self.floor_hosts = folder / f"floor-{size}.json"
        self.floor_hosts.write_text(json.dumps(floor), encoding="utf-8")
        self.work_hosts = folder / f"work-{size}.json"
        work_hosts = _work_hosts(self.inventory, floor)
        self.work_hosts.write_text(json.dumps(work_hosts), encoding="utf-8")
        self.known_hosts = str(next(iter(hosts.values()))["ssh_known_hosts_file"])
        self.pyinfra_inventory = folder / f"pyinfra_inventory_{size}.py"
        entries = [
            (
                name,
                {
                    "ssh_hostname": h["address"],
                    "ssh_port": h["port"],
                    "ssh_user": h["user"],
                    "ssh_key": h["key_file"],
                    "ssh_known_hosts_file": h["known_hosts"],
                    "ssh_strict_host_key_checking": "yes",
                    "manifest": h["manifest"],
                    "observe": h["command"],
                },
            )
            for name, h in zip(hosts, work_hosts, strict=True)
        ]
        self.pyinfra_inventory.write_text(f"hosts = {entries!r}\n", encoding="utf-8")
        self.pyinfra_deploy = folder / "pyinfra_check.py"
        self.pyinfra_deploy.write_text(_PYINFRA_DEPLOY, encoding="utf-8")
        self.pyinfra_work = folder / "pyinfra_work.py"
        self.pyinfra_work.write_text(_PYINFRA_WORK, encoding="utf-8")
        self.folder = folder


def _work_hosts(inventory: Path, floor: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The floor's hosts with the remote work of ``deployer plan``: its observation command
    line for each host, exactly as plan sends it, and its ``/readyz`` probe (address, port and
    the cluster CA file, read locally: the lab's hosts are folders here)."""
    prepared = prepare([inventory])
    hosts = []
    for entry, state in zip(floor, prepared.states, strict=True):
        watched = tuple(state.on_host(p) for p in watched_files(state))
        argv = observe_argv(
            state.on_host(state.manifest_path),
            state.crictl,
            state.on_host(state.cluster_ca_file),
            state.kubelet_check,
            watched,
            prepared.manifests[state.host.name].content,
        )
        probe = {
            "address": state.probe_address,
            "port": state.probe_port,
            "ca_file": str(state.on_host(state.cluster_ca_file)),
        }
        hosts.append({**entry, "command": command_line(argv), "probe": probe})
    return hosts


def _timed(argv: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """Run ``argv``; return (wall seconds, peak RSS in MiB, from ``wait4``). Exit 0 required."""
    with tempfile.TemporaryFile() as errors:
        started = time.perf_counter()
        process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=errors, env=env)
        killer = threading.Timer(_SUBPROCESS_TIMEOUT_S, process.kill)
        killer.start()
        try:
            _, status, usage = os.wait4(process.pid, 0)
        finally:
            killer.cancel()
        elapsed = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            errors.seek(0)
            tail = errors.read().decode(errors="replace")[-2000:]
            raise RuntimeError(f"{argv[0]} exited {process.returncode}:\n{tail}")
    return elapsed, usage.ru_maxrss / 1024


def run_plan(work: Workload) -> tuple[float, float]:
    """``deployer plan`` as an operator runs it."""
    forks = ["--forks", str(work.size)]  # every host at once, as the floor and the peers
    return _timed([str(_DEPLOYER), "plan", "-i", str(work.inventory), "--no-color", *forks])


def run_floor(work: Workload) -> tuple[float, float]:
    """The paramiko floor (``bench/floor.py``)."""
    return _timed([sys.executable, str(_FLOOR), str(work.floor_hosts)])


def run_work_floor(work: Workload) -> tuple[float, float]:
    """The floor doing plan's remote work (``bench/floor.py`` with commands and probes)."""
    return _timed([sys.executable, str(_FLOOR), str(work.work_hosts)])


def run_ansible(work: Workload, venv: Path) -> tuple[float, float]:
    """ansible-core: one ``stat`` with a sha256 checksum per host, every host at once."""
    control = work.folder / "ansible-cp"
    control.mkdir(exist_ok=True)
    env = dict(os.environ)
    env.update(
        ANSIBLE_PIPELINING="True",
        ANSIBLE_HOST_KEY_CHECKING="True",
        ANSIBLE_SSH_ARGS=(
            "-o ControlMaster=auto -o ControlPersist=2s "
            f"-o UserKnownHostsFile={work.known_hosts} -o StrictHostKeyChecking=yes"
        ),
        ANSIBLE_SSH_CONTROL_PATH_DIR=str(control),
        ANSIBLE_LOCAL_TEMP=str(work.folder / "ansible-tmp"),
        ANSIBLE_PYTHON_INTERPRETER="/usr/bin/python3",
        ANSIBLE_NOCOLOR="1",
    )
    argv = [
        str(venv / "bin" / "ansible"),
        "all",
        "-i",
        str(work.inventory),
        "-f",
        str(work.size),
        "-o",
        "-m",
        "ansible.builtin.stat",
        "-a",
        f"path={{{{ host_root }}}}/{_MANIFEST} checksum_algorithm=sha256 get_mime=false "
        "get_attributes=false",
    ]
    return _timed(argv, env)


def run_pyinfra(work: Workload, venv: Path, *, deploy: Path | None = None) -> tuple[float, float]:
    """pyinfra: the ``files.Sha256File`` fact of each host's manifest, every host at once."""
    argv = [
        str(venv / "bin" / "pyinfra"),
        "-y",
        "--parallel",
        str(work.size),
        str(work.pyinfra_inventory),
        str(deploy or work.pyinfra_deploy),
    ]
    return _timed(argv, dict(os.environ, PYTHONPATH=""))


def run_pyinfra_work(work: Workload, venv: Path) -> tuple[float, float]:
    """pyinfra doing the command part of plan's remote work: the same observation command line
    per host, as a ``server.Command`` fact (no ``/readyz``: pyinfra has no TLS probe through
    its connection). A peer doing less than plan does, but no longer just a sha256."""
    return run_pyinfra(work, venv, deploy=work.pyinfra_work)


def _runs(python: str) -> bool:
    try:
        result = subprocess.run(
            [python, "-c", "import sys; sys.exit(sys.version_info < (3, 12))"],
            capture_output=True,
            timeout=30,
            check=False,
        )
    except OSError:
        return False
    return result.returncode == 0


def peers_python(given: str | None) -> str:
    """An interpreter for the peers: ansible-core 2.20+ needs Python 3.12 on the controller."""
    if given:
        return given
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    candidates = ["python3.13", "python3.12"]
    candidates += [str(p) for p in sorted(pyenv.glob("3.1[2-9]*/bin/python3"), reverse=True)]
    return next((c for c in candidates if _runs(c)), sys.executable)


def peers_venv(wanted: list[str], python: str) -> Path | None:
    """The peers' virtualenv, created and filled on first use; None when pip fails."""
    if not wanted:
        return None
    venv = _PEERS_VENV / "peers"
    ready = venv / ".installed"
    stamp = "\n".join([python, *_PEER_PACKAGES])
    if ready.exists() and ready.read_text() == stamp:
        return venv
    print(f"installing {', '.join(_PEER_PACKAGES)} into {venv} with {python} (once)", flush=True)
    subprocess.run([python, "-m", "venv", "--clear", str(venv)], check=True)
    result = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", *_PEER_PACKAGES],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if result.returncode != 0:
        print(f"  pip failed, peers skipped:\n{result.stderr[-1500:]}", flush=True)
        return None
    ready.write_text(stamp)
    return venv


def peer_versions(venv: Path) -> str:
    """``ansible-core X, pyinfra Y`` as installed."""
    code = (
        "from importlib.metadata import version as v; "
        "print(', '.join(f'{p} {v(p)}' for p in ('ansible-core', 'pyinfra')))"
    )
    result = subprocess.run(
        [str(venv / "bin" / "python"), "-c", code], capture_output=True, text=True, check=False
    )
    return result.stdout.strip()


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


def plan_breakdown(inventory: Path) -> dict[str, tuple[float, float]]:
    """One plan, stage by stage: (wall, CPU of this process) with the ``plan`` command's calls."""
    from deployer.rollout.observe import build_plan
    from deployer.transport.options import SshOptions
    from deployer.transport.pool import default_forks, unopened_transports

    out: dict[str, tuple[float, float]] = {}

    def since(t: tuple[float, float]) -> tuple[float, float]:
        return time.perf_counter() - t[0], time.process_time() - t[1]

    def now() -> tuple[float, float]:
        return time.perf_counter(), time.process_time()

    t = now()
    prepared = prepare([inventory])
    out["prepare (load, validate, render, check)"] = since(t)
    forks = default_forks(len(prepared.states), len(prepared.states))
    t = now()
    with unopened_transports(prepared.inventory.hosts, SshOptions()) as built:
        transports: dict[str, Any] = dict(built)
        out["transports made (connection variables checked)"] = since(t)
        t = now()
        plan = build_plan(prepared.states, prepared.manifests, transports, forks=forks)
        out["build_plan (per host: connect, observe + readyz)"] = since(t)
        t = now()
    out["close connections"] = since(t)
    if any(h.unreachable for h in plan.hosts):
        raise RuntimeError("a host was unreachable during the breakdown")
    return out


def profile_plan(inventory: Path, top: int) -> str:
    """cProfile one in-process plan over every thread: CPU time (``time.thread_time``), a
    profiler per thread, merged."""
    profiles: list[cProfile.Profile] = []
    lock = threading.Lock()

    def start_thread_profile(frame: FrameType, event: str, arg: object) -> None:
        profile = cProfile.Profile(time.thread_time)
        with lock:
            profiles.append(profile)
        profile.enable()  # replaces this hook for the rest of the thread

    main_profile = cProfile.Profile(time.thread_time)
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


def _cpu_s(pid: int, *, children: bool) -> float:
    """utime + stime of ``pid`` (plus its reaped children's when asked), in seconds."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = int(fields[11]) + int(fields[12])  # utime, stime
    if children:
        ticks += int(fields[13]) + int(fields[14])  # cutime, cstime
    return ticks / os.sysconf("SC_CLK_TCK")


def lab_cpu(lab: LabHandle) -> dict[str, float]:
    """CPU seconds used so far by the lab's processes, by role.

    ``sshd`` counts the SSH sessions too (the master reaps them: each session's shell, the
    observation's processes, the crictl clients); ``kubelet`` includes the crictl answers it
    serves; ``apiserver`` the /readyz answers (and its etcd health checks' client side).
    """
    record = load_lab_record(lab.root / "lab.json")
    totals = {"sshd": 0.0, "kubelet": 0.0, "apiserver": 0.0, "etcd": 0.0}
    if record is None:
        return totals
    for node in lab.nodes:
        for role, process in record.processes.get(node.name, {}).items():
            if role in totals:
                totals[role] += _cpu_s(process.pid, children=role == "sshd")
        state = load_state(node.kubelet_state)
        for container in state.containers:
            if container.pid and container.state == "CONTAINER_RUNNING":
                totals["apiserver"] += _cpu_s(container.pid, children=False)
    return totals


def cpu_split(lab: LabHandle, work: Workload, tools: dict[str, Callable[[Workload], Any]]) -> str:
    """One run of each tool, its CPU seconds: its own process and the lab's, by role.

    Each window lasts the run plus a second (so sshd has reaped the sessions); the lab's idle
    use over one such window, measured first, is subtracted.
    """

    def window(action: Callable[[], object]) -> tuple[float, dict[str, float], float]:
        before, own_before = lab_cpu(lab), resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        action()
        time.sleep(1.0)
        own_after, after = resource.getrusage(resource.RUSAGE_CHILDREN), lab_cpu(lab)
        own = own_after.ru_utime + own_after.ru_stime - own_before.ru_utime - own_before.ru_stime
        return own, {k: after[k] - before[k] for k in after}, time.perf_counter() - started

    _, idle, idle_s = window(lambda: None)
    parts = []
    for name, tool in tools.items():
        own, remote, seconds = window(functools.partial(tool, work))
        remote = {k: max(0.0, v - idle[k] * seconds / idle_s) for k, v in remote.items()}
        parts.append(
            f"{name}: own {own:.2f}"
            + "".join(f", {k} {v:.2f}" for k, v in remote.items())
            + f" (total {own + sum(remote.values()):.2f})"
        )
    return "CPU s per run (lab idle subtracted): " + " | ".join(parts)


def _median(values: list[float]) -> float:
    return statistics.median(values)


def bench_plan(
    lab: LabHandle,
    folder: Path,
    size: int,
    runs: int,
    *,
    peers: dict[str, Callable[[Workload], tuple[float, float]]],
    peer_runs: int,
    profile: bool,
) -> dict[str, float]:
    """Measure one inventory size: plan, floor and peers alternating, run by run."""
    work = Workload(lab, folder, size)
    tools: dict[str, Callable[[Workload], tuple[float, float]]] = {
        "plan": run_plan,
        "floor": run_floor,
        "work": run_work_floor,
        **peers,
    }
    samples: dict[str, list[float]] = {name: [] for name in tools}
    rss: dict[str, list[float]] = {name: [] for name in tools}
    for tool in tools.values():  # warm-up: page cache, first connections, .pyc files
        tool(work)
    for i in range(runs):
        for name, tool in tools.items():
            if name in peers and i >= peer_runs:
                continue
            wall, peak = tool(work)
            samples[name].append(wall)
            rss[name].append(peak)
    medians = {name: _median(values) for name, values in samples.items()}
    load = os.getloadavg()[0]
    plan, floor, work_floor = medians["plan"], medians["floor"], medians["work"]
    line = (
        f"{size:>3} hosts on {min(size, len(lab.nodes))} nodes (load avg {load:.2f}): floor "
        f"{floor:.2f} s | floor + plan's remote work {work_floor:.2f} s | deployer plan "
        f"{plan:.2f} s ({plan / floor:.2f}x floor, {plan / work_floor:.2f}x floor + work, "
        f"peak RSS {max(rss['plan']):.0f} MiB)"
    )
    for name in peers:
        line += f" | {name} {medians[name]:.2f} s ({medians[name] / plan:.1f}x plan)"
    print(line, flush=True)
    for name, values in samples.items():
        print(f"    runs {name:<8} " + " ".join(f"{v:.3f}" for v in values), flush=True)
    print(f"    {cpu_split(lab, work, tools)}", flush=True)
    stages = [plan_breakdown(work.inventory) for _ in range(2)]
    print(f"    {'in-process stage (median of 2)':<55} {'wall':>7} {'CPU':>7}", flush=True)
    for key in stages[0]:
        wall = _median([s[key][0] for s in stages])
        cpu = _median([s[key][1] for s in stages])
        print(f"    {key:<55} {wall:6.3f}s {cpu:6.3f}s", flush=True)
    if profile:
        print(f"    profile of one in-process plan at {size} hosts:", flush=True)
        print(profile_plan(work.inventory, top=25), flush=True)
    return medians


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


def _with_venv(
    run: Callable[[Workload, Path], tuple[float, float]], work: Workload, *, venv: Path
) -> tuple[float, float]:
    return run(work, venv)


def compile_bytecode() -> None:
    """Compile deployer's modules, as ``pip install`` does for an installed tool.

    Why: this project is installed in editable mode, and a shell with
    ``PYTHONDONTWRITEBYTECODE`` set (as CI machines often have) never caches bytecode, so every
    ``deployer`` process would compile about 240 modules from source: 0.1 s an operator's
    installed copy never pays. The libraries in the virtualenv have theirs from pip already.
    """
    import compileall

    compileall.compile_dir(str(Path(__file__).resolve().parent.parent / "deployer"), quiet=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="timed runs per size (median)")
    parser.add_argument("--sizes", default="10,30,100", help="inventory sizes, comma-separated")
    parser.add_argument("--nodes", type=int, default=30, help="lab nodes the hosts share")
    parser.add_argument(
        "--peers", default="", help="ansible,pyinfra,pyinfra-work (installed on first use)"
    )
    parser.add_argument("--peer-sizes", default="10,30", help="sizes the peers run at")
    parser.add_argument("--peer-runs", type=int, default=3, help="timed runs of each peer")
    parser.add_argument("--peers-python", default=None, help="interpreter of the peers' venv")
    parser.add_argument("--apply-runs", type=int, default=2, help="0 skips part 2")
    parser.add_argument("--profile", action="store_true", help="cProfile plan at every size")
    parser.add_argument("--budget", type=int, default=900, help="seconds before giving up")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s]
    wanted = [p for p in args.peers.split(",") if p]
    unknown = set(wanted) - {"ansible", "pyinfra", "pyinfra-work"}
    if unknown:
        parser.error(f"unknown peers: {', '.join(sorted(unknown))}")
    peer_sizes = {int(s) for s in args.peer_sizes.split(",") if s}
    compile_bytecode()
    with budget(args.budget), tempfile.TemporaryDirectory(prefix="plan-bench-") as folder:
        workdir = Path(folder)
        venv = peers_venv(wanted, peers_python(args.peers_python)) if wanted else None
        if venv is not None:
            print(f"peers: {peer_versions(venv)}", flush=True)
        runners = {"ansible": run_ansible, "pyinfra": run_pyinfra, "pyinfra-work": run_pyinfra_work}
        nodes = min(args.nodes, max(sizes))
        started = time.monotonic()
        with running_lab(
            workdir / "lab",
            nodes=nodes,
            first_address=FIRST_ADDRESS,
            ready_delay_s=READY_DELAY_S,
            timeout_s=180.0,
        ) as lab:
            print(f"lab of {nodes} nodes up in {time.monotonic() - started:.1f} s", flush=True)
            results = {}
            for size in sizes:
                peers: dict[str, Callable[[Workload], tuple[float, float]]] = {}
                if venv is not None and size in peer_sizes:
                    for name in wanted:
                        peers[name] = functools.partial(_with_venv, runners[name], venv=venv)
                results[size] = bench_plan(
                    lab,
                    workdir,
                    size,
                    args.runs,
                    peers=peers,
                    peer_runs=args.peer_runs,
                    profile=args.profile,
                )
        print("\nsummary (whole-process wall medians, same run):", flush=True)
        for size, medians in results.items():
            plan, floor, work_floor = medians["plan"], medians["floor"], medians["work"]
            extra = f"; floor + plan's remote work {work_floor:.2f} s = {plan / work_floor:.2f}x"
            extra += "".join(
                f"; {name} {medians[name]:.2f} s = {medians[name] / plan:.1f}x plan"
                for name in ("pyinfra", "pyinfra-work", "ansible")
                if name in medians
            )
            verdict = "" if size < 30 else (" MET" if plan / floor <= 1.5 else " MISSED")
            print(
                f"  {size:>3} hosts: floor {floor:.2f} s, plan {plan:.2f} s = "
                f"{plan / floor:.2f}x floor (target <= 1.5{verdict}){extra}",
                flush=True,
            )
        if args.apply_runs:
            bench_apply(workdir, args.apply_runs)


if __name__ == "__main__":
    main()
