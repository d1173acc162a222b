"""Hostile numbers and paths in an inventory are input errors (exit 6 naming the variable)."""

from __future__ import annotations

from pathlib import Path

import pytest

from deployer.cli.main import main
from deployer.desired import desired_state
from deployer.model.host import Host

PRODUCTION = Path(__file__).parents[3] / "inventories" / "production"


@pytest.mark.parametrize(
    ("var", "value"),
    [
        ("serial", "nan"),
        ("serial", "inf"),
        ("serial", "1e400"),
        ("serial", "2.5"),
        ("serial", "0"),
        ("backup_keep", "-inf"),
        ("backup_keep", "100000"),
        ("restart_timeout", "nan"),
        ("ready_timeout", "1e9"),
        ("soak_seconds", "-1"),
    ],
)
def test_numbers_must_be_finite_and_in_range(var: str, value: str) -> None:
    _, problems = desired_state(Host("cp1", "10.0.0.1", vars={var: value}))
    assert [p for p in problems if var in str(p)], problems


def test_huge_integers_from_yaml_are_an_error_not_a_crash() -> None:
    _, problems = desired_state(Host("cp1", "10.0.0.1", vars={"serial": 10**400}))
    assert any("serial" in str(p) for p in problems)


@pytest.mark.parametrize("backup_dir", ["/etc/kubernetes/manifests", "/etc/kubernetes/manifests/b"])
def test_backup_dir_inside_the_manifests_folder_is_refused(backup_dir: str) -> None:
    _, problems = desired_state(Host("cp1", "10.0.0.1", vars={"backup_dir": backup_dir}))
    assert any("backup_dir" in str(p) and "manifests folder" in str(p) for p in problems)


def test_validate_exits_6_and_names_the_variable(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["validate", "-i", str(PRODUCTION), "-e", "serial=nan", "--limit", "cp1"])
    assert code == 6
    assert "serial" in capsys.readouterr().err


def test_lab_up_with_an_unsupported_version_is_a_usage_error(tmp_path: Path) -> None:
    assert main(["lab", "up", "--version", "9.99", "--dir", str(tmp_path / "lab")]) == 6
    assert not (tmp_path / "lab").exists(), "nothing was created"
