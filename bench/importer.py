"""Benchmark ``deployer import`` over a lab of N nodes (default 30), against ``deployer plan``.

Usage: .venv/bin/python bench/importer.py [--nodes 30] [--runs 3]

Runs inside one private network namespace (``unshare -n``) like every lab experiment. In the
same lab and interleaved run by run: ``deployer import`` in-process into a fresh folder, and
``deployer plan`` of the imported inventory (which must report nothing to change). Printed:
the medians and the ratio import/plan (import is plan's read plus, per host, the extraction
and its self-check render), and whether the imports were byte-identical.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from deployer.cli.main import main
from deployer.lab.testing import running_lab

FIRST_ADDRESS = "127.0.80.1"


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def run(nodes: int, runs: int) -> None:
    """Bring a lab up, time ``runs`` imports and plans, print medians."""
    with tempfile.TemporaryDirectory(prefix="bench-import-") as tmp:
        work = Path(tmp)
        started = time.monotonic()
        with running_lab(work / "lab", nodes=nodes, first_address=FIRST_ADDRESS) as lab:
            print(f"lab of {nodes} nodes up in {time.monotonic() - started:.1f} s", flush=True)
            imports: list[float] = []
            plans: list[float] = []
            outputs: list[dict[str, bytes]] = []
            for i in range(runs):
                out = work / f"import-{i}"
                t0 = time.perf_counter()
                code = main(["import", "-i", str(lab.inventory), "--out", str(out)])
                imports.append(time.perf_counter() - t0)
                assert code == 0, f"import exited {code}"
                outputs.append(_files(out))
                t0 = time.perf_counter()
                code = main(["plan", "-i", str(out)])
                plans.append(time.perf_counter() - t0)
                assert code == 0, f"plan after import exited {code} (something to change)"
        imp, pln = statistics.median(imports), statistics.median(plans)
        same = all(o == outputs[0] for o in outputs)
        print(
            f"import {nodes} hosts: median {imp:.2f} s ({', '.join(f'{t:.2f}' for t in imports)})"
        )
        print(f"plan   {nodes} hosts: median {pln:.2f} s; import/plan {imp / pln:.2f}")
        print(f"imports identical: {same}")


def parse() -> argparse.Namespace:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--nodes", type=int, default=30)
    parser.add_argument("--runs", type=int, default=3)
    return parser.parse_args()


if __name__ == "__main__":
    args = parse()
    run(args.nodes, args.runs)
