"""Scheduled convergence against the lab: drift in three layers, locks, reports and metrics."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import jsonschema
import pytest
from prometheus_client.parser import text_string_to_metric_families

from deployer.cli.main import main
from deployer.lab.testing import LabHandle, poll_until
from deployer.report.json_report import schema_path

pytestmark = pytest.mark.integration

NODES = ("lab-cp1", "lab-cp2", "lab-cp3")


def _ids(lab: LabHandle) -> dict[str, str]:
    ids = {}
    for node in NODES:
        running = lab.running_apiserver(node)
        assert running is not None
        ids[node] = str(running["id"])
    return ids


def _metrics(path: Path) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    values = {}
    for family in text_string_to_metric_families(path.read_text()):
        for sample in family.samples:
            labels = tuple(sorted((k, v) for k, v in sample.labels.items() if k != "command"))
            values[(sample.name, labels)] = sample.value
    return values


def _validate_report(path: Path) -> dict[str, object]:
    report = json.loads(path.read_text())
    jsonschema.validate(report, json.loads(schema_path().read_text()))
    return report


def _converge(lab: LabHandle, tmp: Path, *args: str) -> int:
    return main(
        [
            "converge",
            "-i",
            str(lab.inventory),
            "--lock",
            str(tmp / "converge.lock"),
            "--json",
            str(tmp / "report.json"),
            "--metrics",
            str(tmp / "deployer.prom"),
            *args,
        ]
    )


def test_hand_edit_is_detected_then_repaired_with_reports_and_metrics(
    lab: LabHandle, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = lab.manifest("lab-cp2")
    before = _ids(lab)
    manifest.write_bytes(
        manifest.read_bytes().replace(
            b'    - "--secure-port=6443"', b'    - "--profiling=false"\n    - "--secure-port=6443"'
        )
    )
    poll_until(
        lambda: (
            (r := lab.running_apiserver("lab-cp2")) is not None and r["id"] != before["lab-cp2"]
        ),
        timeout_s=30,
        what="kubelet applied the hand edit",
    )
    lab.wait_ready("lab-cp2")
    edited = _ids(lab)

    assert _converge(lab, tmp_path, "--check") == 2
    out = capsys.readouterr().out
    assert "--profiling=false" in out
    report = _validate_report(tmp_path / "report.json")
    assert report["hosts"]["lab-cp2"]["outcome"] == "pending"
    assert report["hosts"]["lab-cp1"]["outcome"] == "unchanged"
    metrics = _metrics(tmp_path / "deployer.prom")
    assert metrics[("deployer_drift_hosts", ())] == 1
    assert metrics[("deployer_last_run_success", ())] == 1
    assert metrics[("deployer_hosts", (("outcome", "pending"),))] == 1
    assert _ids(lab) == edited, "--check changes nothing"

    assert _converge(lab, tmp_path) == 0
    report = _validate_report(tmp_path / "report.json")
    assert report["hosts"]["lab-cp2"]["outcome"] == "changed"
    assert all(c["ok"] for c in report["hosts"]["lab-cp2"]["verify"])
    after = _ids(lab)
    assert after["lab-cp2"] != edited["lab-cp2"], "the edited node was restarted"
    assert after["lab-cp1"] == edited["lab-cp1"] and after["lab-cp3"] == edited["lab-cp3"]
    assert b"--profiling" not in manifest.read_bytes()
    metrics = _metrics(tmp_path / "deployer.prom")
    assert metrics[("deployer_last_run_success", ())] == 1
    assert metrics[("deployer_hosts", (("outcome", "changed"),))] == 1
    assert metrics[("deployer_hosts", (("outcome", "unchanged"),))] == 2
    assert main(["history", "--limit", "5", "--json"]) == 0
    history = capsys.readouterr().out
    assert report["run_id"] in history


def test_rolled_back_run_shows_in_metrics(lab: LabHandle, tmp_path: Path) -> None:
    dead_etcd = f"apiserver_flags.etcd-servers=https://{lab.node('lab-cp1').ip}:2999"
    assert _converge(lab, tmp_path, "-e", dead_etcd, "-e", "ready_timeout=6") == 3
    report = _validate_report(tmp_path / "report.json")
    assert report["exit_code"] == 3
    metrics = _metrics(tmp_path / "deployer.prom")
    assert metrics[("deployer_last_run_success", ())] == 0
    assert metrics[("deployer_last_run_exit_code", ())] == 3
    assert metrics[("deployer_hosts", (("outcome", "rolled_back"),))] == 1
    assert metrics[("deployer_hosts", (("outcome", "skipped"),))] == 2


def test_referenced_file_change_is_reported_and_rolls_with_the_checksum_annotation(
    lab: LabHandle, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sa_pub = lab.node("lab-cp3").root / "etc" / "kubernetes" / "pki" / "sa.pub"
    sa_pub.write_bytes(sa_pub.read_bytes() + b"\n")
    later = time.time() + 5  # as if changed a few seconds after the container started
    os.utime(sa_pub, (later, later))

    assert _converge(lab, tmp_path, "--check") == 0, "file drift alone changes no manifest"
    out = capsys.readouterr().out
    assert "sa.pub" in out and "changed after the running apiserver started" in out
    report = _validate_report(tmp_path / "report.json")
    drift = report["hosts"]["lab-cp3"]["drift"]
    assert drift["detected"] is True and any("sa.pub" in f for f in drift["files"])
    assert _metrics(tmp_path / "deployer.prom")[("deployer_drift_hosts", ())] == 1

    checksum = 'apiserver_checksum_files=["/etc/kubernetes/pki/sa.pub"]'
    # Turning the annotation on rolls every host once (their pods gain the annotation) ...
    assert _converge(lab, tmp_path, "-e", checksum) == 0
    report = _validate_report(tmp_path / "report.json")
    assert {report["hosts"][n]["outcome"] for n in NODES} == {"changed"}
    before = _ids(lab)
    # ... then a change to the file rolls exactly the host where it changed.
    sa_pub = lab.node("lab-cp1").root / "etc" / "kubernetes" / "pki" / "sa.pub"
    sa_pub.write_bytes(sa_pub.read_bytes() + b"\n")
    assert _converge(lab, tmp_path, "-e", checksum) == 0
    report = _validate_report(tmp_path / "report.json")
    assert report["hosts"]["lab-cp1"]["outcome"] == "changed"
    assert report["hosts"]["lab-cp2"]["outcome"] == "unchanged"
    after = _ids(lab)
    assert after["lab-cp1"] != before["lab-cp1"]
    assert after["lab-cp2"] == before["lab-cp2"] and after["lab-cp3"] == before["lab-cp3"]


def test_two_converge_runs_at_once_one_exits_7(lab: LabHandle, tmp_path: Path) -> None:
    env = dict(os.environ, XDG_STATE_HOME=str(tmp_path / "state"))
    lock = tmp_path / "converge.lock"
    argv = [
        sys.executable,
        "-m",
        "deployer",
        "converge",
        "-i",
        str(lab.inventory),
        "--lock",
        str(lock),
        "-e",
        "apiserver_flags.audit-log-maxage=45",
        "--no-color",
    ]
    procs = [
        subprocess.Popen(
            [*argv, "--json", str(tmp_path / f"r{i}.json")],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for i in range(2)
    ]
    outputs = []
    codes = []
    for proc in procs:
        out, _ = proc.communicate(timeout=180)
        outputs.append(out)
        codes.append(proc.returncode)
    assert sorted(codes) == [0, 7], outputs
    loser = codes.index(7)
    assert "lock" in outputs[loser].lower()
    assert not (tmp_path / f"r{loser}.json").exists(), "the second run touched nothing"
    winner = json.loads((tmp_path / f"r{1 - loser}.json").read_text())
    assert {winner["hosts"][n]["outcome"] for n in NODES} == {"changed"}
