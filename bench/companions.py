"""Benchmark offline companion-file validation: per kind, per document, in one process.

Usage: .venv/bin/python bench/companions.py [--runs 5] [--repeat 200]

Validates every "good" case document of ``tests/data/companions`` (each case that expects no
error, for the last two minors it names, or 1.31 and 1.36 for ``all``) ``--repeat`` times,
``--runs`` times, and prints the median microseconds per validation per kind, and the cold
cost of the first validation in a fresh process (loading the packaged facts).

Why it matters: a plan validates each companion file once per distinct (content, minor), so
the figure times the number of files is what validation adds to ``plan``. No target is set by
the issue; a figure well under a millisecond per file keeps validation invisible next to SSH.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

import yaml

from deployer.companions import validate_companion

_DATA = Path(__file__).resolve().parent.parent / "tests" / "data" / "companions"
_MINORS = ("1.31", "1.36")


def _good_documents() -> dict[str, list[tuple[object, tuple[str, ...]]]]:
    """Per kind, (document, minors) for every case that expects no error."""
    out: dict[str, list[tuple[object, tuple[str, ...]]]] = {}
    for path in sorted(_DATA.glob("*/*.yaml")):
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
        for case in spec["cases"]:
            if case.get("errors") or spec["document"] is None:
                continue
            minors = _MINORS if case["minors"] == "all" else tuple(case["minors"])[-2:]
            out.setdefault(path.parent.name, []).append((spec["document"], minors))
    return out


def _cold() -> float:
    code = (
        "import time, yaml, sys; from deployer.companions import validate_companion; "
        "doc = yaml.safe_load(open(sys.argv[1]).read())['document']; t = time.perf_counter(); "
        "validate_companion('f', doc, '1.31'); print(time.perf_counter() - t)"
    )
    path = _DATA / "audit" / "docs-example.yaml"
    done = subprocess.run(
        [sys.executable, "-c", code, str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return float(done.stdout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    documents = _good_documents()
    print(f"{'kind':<16}{'docs':>5}{'median us/validation':>24}")
    for kind, docs in documents.items():
        samples = []
        for _ in range(args.runs):
            start = time.perf_counter()
            for _ in range(args.repeat):
                for doc, minors in docs:
                    for minor in minors:
                        validate_companion("f.yaml", doc, minor)
            count = args.repeat * sum(len(minors) for _, minors in docs)
            samples.append((time.perf_counter() - start) / count * 1e6)
        print(f"{kind:<16}{len(docs):>5}{statistics.median(samples):>24.1f}")
    colds = [_cold() for _ in range(args.runs)]
    print(
        "first validation in a fresh process (facts loaded): "
        f"{statistics.median(colds) * 1e3:.1f} ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
