from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import report_samples
from report_samples import KEY_PEM, T0

from deployer.model.report import HostReport, Outcome, RunReport
from deployer.report import report_to_dict, write_json_report
from deployer.report.json_report import rfc3339, schema_path


@pytest.fixture(scope="module")
def validator() -> jsonschema.protocols.Validator:
    schema = json.loads(schema_path().read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )


@pytest.mark.parametrize("build", report_samples.ALL.values(), ids=list(report_samples.ALL))
def test_sample_reports_match_the_shipped_schema(
    build: Callable[[], RunReport], validator: jsonschema.protocols.Validator
) -> None:
    data: Any = report_to_dict(build())
    errors = sorted(validator.iter_errors(data), key=str)
    assert errors == []
    # The same after a trip through JSON text (what a consumer actually reads).
    assert list(validator.iter_errors(json.loads(json.dumps(data)))) == []


def test_the_schema_rejects_a_report_with_an_unknown_outcome(
    validator: jsonschema.protocols.Validator,
) -> None:
    data: Any = report_to_dict(report_samples.good_run())
    data["hosts"]["cp1"]["outcome"] = "applied"
    assert not validator.is_valid(data)


def test_the_report_carries_the_contract_fields() -> None:
    data: Any = report_to_dict(report_samples.good_run())
    assert data["schema_version"] == 1
    assert data["run_id"] == "20261117-001"
    assert data["command"] == "converge"
    assert data["started_at"] == rfc3339(T0)
    assert str(data["started_at"]).endswith("Z")
    assert data["exit_code"] == 0
    assert data["summary"] == {
        "total": 3,
        "unchanged": 2,
        "changed": 1,
        "rolled_back": 0,
        "rollback_failed": 0,
        "failed": 0,
        "unreachable": 0,
        "skipped": 0,
        "pending": 0,
    }
    hosts = data["hosts"]
    assert isinstance(hosts, dict)
    assert list(hosts) == ["cp1", "cp2", "cp3"]  # rollout order
    cp1 = hosts["cp1"]
    assert cp1["outcome"] == "changed"
    assert cp1["backup"].startswith("/etc/kubernetes/tmp/deployer-backup-")
    assert [p["phase"] for p in cp1["phases"]] == [
        "preflight",
        "backup",
        "push",
        "restart",
        "verify",
    ]
    assert cp1["phases"][3]["duration_s"] == 12.0
    assert cp1["restart"] == {"old_container": "aaa111", "new_container": "bbb222", "s": 12.0}
    assert cp1["verify"] == {"readyz": {"ok": True, "detail": "ok"}}
    assert cp1["drift"] == {"detected": True, "flags": ["v"]}
    assert cp1["error"] is None
    assert hosts["cp3"]["phases"] == []
    assert hosts["cp3"]["diff"] is None


def test_errors_become_type_message_and_hint() -> None:
    data: Any = report_to_dict(report_samples.rolled_back_run())
    cp1 = data["hosts"]["cp1"]
    assert cp1["error"]["type"] == "RolloutError"
    assert cp1["error"]["message"].startswith("[cp1] [verify] /readyz stayed 500")
    assert cp1["error"]["hint"] == "look at the container's log with crictl logs"
    assert cp1["error"]["exit_code"] == 1
    assert cp1["details"] == {"attempts": 2}  # details without a field of their own are kept
    assert data["hosts"]["cp2"]["error"]["exit_code"] == 3


def test_no_secret_survives_into_the_report() -> None:
    text = json.dumps(report_to_dict(report_samples.secret_laden_run()))
    for secret in (
        "hunter2hunter2",
        "LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVktLS0tLQo=",
        "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun",
        "eyJhbGciOiJSUzI1NiJ9",
        "pa55w0rd",
        "s3cr3t-t0ken",
    ):
        assert secret not in text
    assert "/etc/kubernetes/tokens.csv" in text  # paths stay: the operator must see them
    assert KEY_PEM not in text


def test_write_json_report_replaces_the_file_atomically(tmp_path: Path) -> None:
    target = tmp_path / "reports" / "last.json"
    write_json_report(report_samples.good_run(), target)
    first_inode = target.stat().st_ino
    write_json_report(report_samples.rolled_back_run(), str(target))
    data = json.loads(target.read_text())
    assert data["exit_code"] == 3
    assert target.stat().st_ino != first_inode  # a new file renamed over the old one
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert sorted(os.listdir(target.parent)) == ["last.json"]  # no temp file left


def test_a_failed_write_leaves_no_temp_file(tmp_path: Path) -> None:
    target = tmp_path / "last.json"
    target.mkdir()  # rename over a folder fails after the temp file was written
    with pytest.raises(IsADirectoryError):
        write_json_report(report_samples.good_run(), target)
    assert sorted(os.listdir(tmp_path)) == ["last.json"]
    assert target.is_dir()


def test_non_finite_numbers_become_null_so_the_file_stays_json() -> None:
    report = RunReport(
        run_id="x",
        command="plan",
        started_at=T0,
        finished_at=T0,
        hosts=(
            HostReport(
                host="cp1", outcome=Outcome.UNCHANGED, details=(("restart", {"s": float("nan")}),)
            ),
        ),
    )
    text = json.dumps(report_to_dict(report), allow_nan=False)
    assert json.loads(text)["hosts"]["cp1"]["restart"] == {"s": None}


def test_dash_writes_to_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    write_json_report(report_samples.drift_only_run(), "-")
    data = json.loads(capsys.readouterr().out)
    assert data["summary"]["pending"] == 2
    assert data["exit_code"] == 2


def test_unset_phase_times_are_null_not_1970() -> None:
    assert rfc3339(0.0) is None
    assert rfc3339(T0) == "2026-11-18T11:06:40.000Z"
