from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from deployer.errors import InputError
from deployer.model.inventory import Inventory
from deployer.report.units import UnitSettings, render_cron, render_units

ROOT = Path(__file__).resolve().parents[3]
CONTRIB = ROOT / "contrib"
DEFAULT_INVENTORY = ["/etc/deployer/inventory"]
SYSTEMD_ANALYZE = shutil.which("systemd-analyze")
needs_systemd_analyze = pytest.mark.skipif(
    SYSTEMD_ANALYZE is None, reason="systemd-analyze is not installed: unit files not verified"
)


def _existing_binary() -> str:
    # systemd-analyze verify checks that ExecStart's program exists and is executable.
    candidate = Path(sys.executable).parent / "deployer"
    return str(candidate if candidate.exists() else Path(sys.executable))


def _write(folder: Path, units: dict[str, str]) -> list[str]:
    paths = []
    for name, text in units.items():
        path = folder / name
        path.write_text(text)
        paths.append(str(path))
    return paths


def _verify(paths: list[str]) -> subprocess.CompletedProcess[str]:
    assert SYSTEMD_ANALYZE is not None
    return subprocess.run(
        [SYSTEMD_ANALYZE, "verify", "--man=no", *paths],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_contrib_files_are_the_rendered_defaults() -> None:
    for name, text in render_units(DEFAULT_INVENTORY).items():
        assert (CONTRIB / "systemd" / name).read_text() == text, (
            f"regenerate contrib/systemd/{name}"
        )
    assert (CONTRIB / "cron" / "deployer-converge").read_text() == render_cron(DEFAULT_INVENTORY)


@needs_systemd_analyze
def test_rendered_units_pass_systemd_analyze_verify(tmp_path: Path) -> None:
    settings = UnitSettings(deployer_bin=_existing_binary())
    proc = _verify(_write(tmp_path, render_units([str(tmp_path)], settings)))
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.strip() == ""


@needs_systemd_analyze
def test_verify_would_catch_a_broken_unit(tmp_path: Path) -> None:
    units = render_units([str(tmp_path)], UnitSettings(deployer_bin=str(tmp_path / "missing")))
    proc = _verify(_write(tmp_path, units))
    assert proc.returncode != 0  # the check has teeth: a missing binary fails it
    assert "missing" in proc.stderr


@needs_systemd_analyze
def test_the_service_is_well_hardened(tmp_path: Path) -> None:
    settings = UnitSettings(deployer_bin=_existing_binary())
    service = _write(tmp_path, render_units([str(tmp_path)], settings))[0]
    assert SYSTEMD_ANALYZE is not None
    proc = subprocess.run(
        [SYSTEMD_ANALYZE, "security", "--offline=true", "--no-pager", service],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if "--offline" in proc.stderr or "unrecognized option" in proc.stderr:
        pytest.skip("this systemd-analyze cannot score unit files offline")
    match = re.search(r"Overall exposure level for \S+: ([0-9.]+)", proc.stdout)
    assert match, proc.stdout + proc.stderr
    assert float(match.group(1)) <= 2.0


def test_paths_outside_the_state_folder_become_read_write_paths() -> None:
    settings = UnitSettings(
        report_path="/srv/reports/converge.json",
        metrics_path="/var/lib/deployer/metrics/deployer.prom",
    )
    service = render_units(["/etc/deployer/inventory"], settings)["deployer-converge.service"]
    assert "ReadWritePaths=/srv/reports\n" in service
    assert "StateDirectory=deployer deployer/metrics\n" in service
    assert "node-exporter" not in service


def test_an_inventory_object_contributes_its_sources_as_absolute_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    inventory = Inventory(hosts=(), sources=("inv/hosts.yml", "/etc/extra.ini"))
    service = render_units(inventory)["deployer-converge.service"]
    assert f"-i {tmp_path}/inv/hosts.yml -i /etc/extra.ini --json" in service


def test_specifiers_in_paths_are_escaped() -> None:
    service = render_units(["/etc/inv%n"])["deployer-converge.service"]
    assert "-i /etc/inv%%n " in service
    assert "-i /etc/inv\\%n " in render_cron(["/etc/inv%n"])


def test_unsafe_settings_are_reported_all_at_once() -> None:
    settings = UnitSettings(
        deployer_bin="deployer", report_path="/tmp/my report.json", user="Bad User"
    )
    with pytest.raises(InputError) as caught:
        render_units(["relative/inv'; rm -rf /"], settings)
    text = str(caught.value)
    assert "4 problems" in text
    for fragment in ("deployer_bin", "inventory", "report_path", "user 'Bad User'"):
        assert fragment in text
    with pytest.raises(InputError, match="at least one inventory"):
        render_cron([])


def test_the_cron_line_is_well_formed_shell() -> None:
    text = render_cron(DEFAULT_INVENTORY)
    jobs = [
        line
        for line in text.splitlines()
        if line and not line.startswith("#") and "=" not in line.split()[0]
    ]
    assert len(jobs) == 1
    fields = jobs[0].split(maxsplit=6)
    assert fields[:5] == ["*/15", "*", "*", "*", "*"]
    assert fields[5] == "deployer"
    command = fields[6].replace("\\%", "%")  # cron turns \% into %
    assert "%" not in fields[6].replace("\\%", "")  # a bare % would end the command in cron
    proc = subprocess.run(["sh", "-n", "-c", command], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    if shutil.which("shellcheck"):
        proc = subprocess.run(
            ["shellcheck", "-s", "sh", "-"],
            input=command + "\n",
            capture_output=True,
            text=True,
            check=False,
        )
        assert proc.returncode == 0, proc.stdout
