"""Run ``deployer`` in-process against a lab and read its JSON report."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from pathlib import Path

from deployer.cli.main import main
from deployer.lab.testing import LabHandle

#: Each lab of this session gets a /24 of its own (127.0.120.1, 127.0.121.1, ...).
_ADDRESSES = itertools.count(120)


def next_lab_address() -> str:
    """The first address of a lab no other lab of this session uses."""
    return f"127.0.{next(_ADDRESSES)}.1"


@dataclass
class Deployer:
    """Runs ``deployer`` in-process against one lab and keeps the last JSON report."""

    lab: LabHandle
    work: Path
    last_report: dict[str, object] | None = None

    def __call__(self, *args: str) -> int:
        report = self.work / "report.json"
        report.unlink(missing_ok=True)
        argv = [args[0], "-i", str(self.lab.inventory), *args[1:]]
        if args[0] in ("plan", "apply", "converge", "verify"):
            argv += ["--json", str(report)]
        if args[0] in ("apply", "converge"):
            argv += ["--lock", str(self.work / "deployer.lock")]
        if args[0] == "apply":
            argv.append("--yes")
        code = main(argv)
        self.last_report = json.loads(report.read_text()) if report.exists() else None
        return code

    def hosts(self) -> dict[str, dict[str, object]]:
        assert self.last_report is not None, "no JSON report was written"
        hosts = self.last_report["hosts"]
        assert isinstance(hosts, dict)
        return hosts
