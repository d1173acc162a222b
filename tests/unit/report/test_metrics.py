from __future__ import annotations

import os
from pathlib import Path

import pytest
import report_samples
from prometheus_client.parser import text_string_to_metric_families

from deployer.model.report import Outcome, RunReport
from deployer.report import render_metrics, write_metrics

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def _samples(text: str) -> Samples:
    found: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def _value(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, tuple(sorted(labels.items())))]


def _written(tmp_path: Path, report: RunReport) -> Samples:
    path = tmp_path / "deployer.prom"
    write_metrics(report, path)
    return _samples(path.read_text())


def test_a_good_run(tmp_path: Path) -> None:
    report = report_samples.good_run()
    s = _written(tmp_path, report)
    c = "converge"
    assert _value(s, "deployer_last_run_timestamp_seconds", command=c) == report.finished_at
    assert _value(s, "deployer_last_run_success", command=c) == 1
    assert _value(s, "deployer_last_run_exit_code", command=c) == 0
    assert _value(s, "deployer_hosts", command=c, outcome="changed") == 1
    assert _value(s, "deployer_hosts", command=c, outcome="unchanged") == 2
    for outcome in Outcome:  # every outcome is exported, zeros included
        assert ("deployer_hosts", (("command", c), ("outcome", outcome.value))) in s
    assert _value(s, "deployer_hosts", command=c, outcome="rolled_back") == 0
    assert _value(s, "deployer_drift_hosts", command=c) == 1
    assert _value(s, "deployer_run_duration_seconds", command=c) == 20.0
    assert (
        _value(s, "deployer_phase_duration_seconds", command=c, host="cp1", phase="restart") == 12.0
    )
    assert _value(s, "deployer_phase_duration_seconds", command=c, host="cp2", phase="plan") == 0.5


def test_a_drift_only_run(tmp_path: Path) -> None:
    s = _written(tmp_path, report_samples.drift_only_run())
    c = "plan"
    assert _value(s, "deployer_last_run_exit_code", command=c) == 2
    # changes pending is a read-only run's normal answer; drift has its own gauge
    assert _value(s, "deployer_last_run_success", command=c) == 1
    assert _value(s, "deployer_drift_hosts", command=c) == 2
    assert _value(s, "deployer_hosts", command=c, outcome="pending") == 2
    assert _value(s, "deployer_hosts", command=c, outcome="changed") == 0
    assert not [k for k in s if k[0] == "deployer_phase_duration_seconds"]


def test_a_rolled_back_run(tmp_path: Path) -> None:
    s = _written(tmp_path, report_samples.rolled_back_run())
    c = "apply"
    assert _value(s, "deployer_last_run_success", command=c) == 0
    assert _value(s, "deployer_last_run_exit_code", command=c) == 3
    assert _value(s, "deployer_hosts", command=c, outcome="rolled_back") == 1
    assert _value(s, "deployer_hosts", command=c, outcome="skipped") == 2
    assert _value(s, "deployer_drift_hosts", command=c) == 1
    assert _value(s, "deployer_run_duration_seconds", command=c) == 60.0
    # restart and verify ran twice on cp1 (push, then rollback): their seconds add up
    assert (
        _value(s, "deployer_phase_duration_seconds", command=c, host="cp1", phase="restart") == 19.0
    )
    assert (
        _value(s, "deployer_phase_duration_seconds", command=c, host="cp1", phase="verify") == 32.0
    )
    assert (
        _value(s, "deployer_phase_duration_seconds", command=c, host="cp1", phase="rollback") == 1.0
    )


def test_an_explicit_drift_detail_wins_over_the_outcome() -> None:
    from dataclasses import replace

    report = report_samples.good_run()
    cp1 = replace(report.hosts[0], details=(("drift", {"detected": False}),))
    cp3 = replace(report.hosts[2], details=(("drift", ["v"]),))
    s = _samples(render_metrics(replace(report, hosts=(cp1, report.hosts[1], cp3))))
    assert _value(s, "deployer_drift_hosts", command="converge") == 1


def test_the_file_is_replaced_atomically_and_no_temp_file_stays(tmp_path: Path) -> None:
    path = tmp_path / "deployer.prom"
    write_metrics(report_samples.good_run(), path)
    inode = path.stat().st_ino
    write_metrics(report_samples.rolled_back_run(), path)
    assert path.stat().st_ino != inode
    assert os.listdir(tmp_path) == ["deployer.prom"]
    assert _value(_samples(path.read_text()), "deployer_last_run_exit_code", command="apply") == 3


def test_a_missing_folder_is_an_oserror_for_the_caller(tmp_path: Path) -> None:
    with pytest.raises(OSError, match="No such file"):
        write_metrics(report_samples.good_run(), tmp_path / "absent" / "deployer.prom")
