"""Benchmark ``deployer doctor`` against ``deployer plan`` on the same lab, and the TLS preflight.

Usage: .venv/bin/python bench/doctor.py [--runs 5] [--nodes 3]   (inside ``unshare -n``)

In one lab (nodes on 127.0.75.x, real sshd on loopback), interleaved run by run, in-process
(``deployer.cli.main.main``: interpreter start-up excluded, exit code must be 0):

- ``deployer plan``: the observation doctor starts from;
- ``deployer doctor --metrics-samples 2``: every group, the metrics' two scrapes 0.5 s apart;
- ``deployer doctor --metrics-samples 4`` (the default: three 0.5 s intervals).

And apply's TLS preflight alone (:func:`deployer.phases.tls_check.tls_problems`) per host over
an open SSH connection: the file reads and the certificate checks it adds to preflight.

Printed: medians, and doctor's time as a ratio of plan's (the sleeps between scrapes are the
largest part by design: doctor - plan - (samples - 1) x 0.5 s is the cost of the checks).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from deployer.cli.main import main as deployer_main
from deployer.lab.testing import running_lab
from deployer.model.events import NullReporter, SystemClock
from deployer.offline import prepare
from deployer.phases.context import HostContext
from deployer.phases.tls_check import tls_problems
from deployer.transport.options import SshOptions
from deployer.transport.pool import open_transports

FIRST_ADDRESS = "127.0.75.1"


def _timed(argv: list[str]) -> float:
    started = time.perf_counter()
    code = deployer_main(argv)
    elapsed = time.perf_counter() - started
    if code != 0:
        raise SystemExit(f"{' '.join(argv[:1])} exited {code}")
    return elapsed


def _tls_preflight_ms(inventory: Path, runs: int) -> list[float]:
    prepared = prepare([str(inventory)])
    states = {s.host.name: s for s in prepared.states}
    timings: list[float] = []
    with open_transports(prepared.inventory.hosts, SshOptions(), forks=8) as connections:
        for _ in range(runs):
            for name, transport in connections.transports.items():
                ctx = HostContext(states[name], transport, SystemClock(), NullReporter(), "bench")
                ca = transport.read(ctx.path(ctx.state.cluster_ca_file), sudo=ctx.state.become)
                started = time.perf_counter()
                problems = tls_problems(ctx, ca)
                timings.append((time.perf_counter() - started) * 1000)
                if problems:
                    raise SystemExit(f"{name}: {problems}")
    return timings


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--nodes", type=int, default=3)
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="bench-doctor-") as folder,
        running_lab(Path(folder) / "lab", nodes=args.nodes, first_address=FIRST_ADDRESS) as lab,
    ):
        inventory = str(lab.inventory)
        quiet = ["--no-color"]
        results: dict[str, list[float]] = {"plan": [], "doctor (2 samples)": [], "doctor": []}
        for _ in range(args.runs):
            results["plan"].append(_timed(["plan", "-i", inventory, *quiet]))
            results["doctor (2 samples)"].append(
                _timed(["doctor", "-i", inventory, "--metrics-samples", "2", *quiet])
            )
            results["doctor"].append(_timed(["doctor", "-i", inventory, *quiet]))
        tls = _tls_preflight_ms(lab.inventory, args.runs)
    plan = statistics.median(results["plan"])
    print(f"\n{args.nodes} nodes, {args.runs} runs each (medians)")
    for name, values in results.items():
        median = statistics.median(values)
        print(f"  {name:<20} {median:6.2f} s   x{median / plan:4.1f} plan")
    print(f"  TLS preflight        {statistics.median(tls):6.1f} ms per host (reads + checks)")


if __name__ == "__main__":
    main()
