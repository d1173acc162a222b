"""Run ``deployer doctor`` in-process against a lab and read its checks from the JSON report."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import yaml

from deployer.cli.main import main
from deployer.lab.testing import LabHandle


@dataclass(frozen=True)
class DoctorRun:
    code: int
    report: dict[str, object]

    def checks(self, host: str) -> dict[str, dict[str, object]]:
        """``group/check`` -> the check, for one host."""
        hosts = self.report["hosts"]
        assert isinstance(hosts, dict)
        entries = hosts[host]["details"].get("doctor", [])
        return {f"{c['group']}/{c['check']}": c for c in entries}

    def verdict(self, host: str, key: str) -> str:
        return str(self.checks(host)[key]["verdict"])

    def failed(self, host: str) -> set[str]:
        return {k for k, c in self.checks(host).items() if c["verdict"] == "fail"}


def run_doctor(lab: LabHandle, work: Path, *args: str) -> DoctorRun:
    report = work / "doctor.json"
    report.unlink(missing_ok=True)
    argv = ["doctor", "-i", str(lab.inventory), "--metrics-samples", "2", "--no-color"]
    code = main([*argv, "--json", str(report), *args])
    return DoctorRun(code, json.loads(report.read_text()))


def set_flag(lab: LabHandle, node: str, flag: str, value: str) -> bytes:
    """Rewrite one flag of a node's manifest (dot temp file, rename); return the old bytes."""
    path = lab.manifest(node)
    old = path.read_bytes()
    pod = yaml.safe_load(old)
    command = pod["spec"]["containers"][0]["command"]
    command[:] = [c for c in command if not c.startswith(f"--{flag}=")] + [f"--{flag}={value}"]
    write_manifest(path, yaml.safe_dump(pod, sort_keys=False).encode())
    return old


def write_manifest(path: Path, content: bytes) -> None:
    temp = path.with_name(f".{path.name}.test")
    temp.write_bytes(content)
    temp.chmod(0o600)
    temp.rename(path)
