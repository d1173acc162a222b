from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import report_samples

from deployer.cli.main import main
from deployer.report.history import append_history, entry_from_report

BIN = Path(sys.executable).parent


@pytest.fixture
def history_file(tmp_path: Path) -> Path:
    path = tmp_path / "history.jsonl"
    for build in (
        report_samples.good_run,
        report_samples.drift_only_run,
        report_samples.rolled_back_run,
    ):
        entry = entry_from_report(build(), inventories=["inv.yml"], user="alice", workstation="ws1")
        append_history(entry, path)
    return path


def test_history_prints_a_table_of_the_last_runs(
    history_file: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    assert main(["history", "--file", str(history_file), "--limit", "2", "--no-color"]) == 0
    out = capsys.readouterr().out
    assert "20261117-001" not in out  # only the last two runs
    assert "20261117-002" in out
    assert "20261117-003" in out
    assert "3 rolled back" in out
    assert "cp1=rolled_back" in out
    assert "alice@ws1" in out


def test_history_json_is_machine_readable(
    history_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["history", "--file", str(history_file), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [e["run_id"] for e in data] == ["20261117-001", "20261117-002", "20261117-003"]
    assert data[2]["hosts"] == {"cp1": "rolled_back", "cp2": "skipped", "cp3": "skipped"}
    assert data[0]["inventories"] == ["inv.yml"]


def test_history_reads_the_xdg_state_file_by_default(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    assert main(["history"]) == 0
    assert f"no runs recorded in {tmp_path}/deployer/history.jsonl" in capsys.readouterr().out
    append_history(
        entry_from_report(report_samples.good_run()), tmp_path / "deployer" / "history.jsonl"
    )
    assert main(["history", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["run_id"] == "20261117-001"


def test_history_refuses_a_bad_limit_with_exit_6(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["history", "--limit", "0"]) == 6


def _env() -> dict[str, str]:
    return {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_prints_a_script_for_each_shell(
    shell: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["completion", shell]) == 0
    out = capsys.readouterr().out
    assert "_DEPLOYER_COMPLETE" in out
    checker = shutil.which(shell)
    if checker is not None:  # only bash is installed here; zsh -n and fish -n where present
        proc = subprocess.run(
            [checker, "-n"], input=out, capture_output=True, text=True, check=False
        )
        assert proc.returncode == 0, proc.stderr


def test_completion_refuses_an_unknown_shell() -> None:
    assert main(["completion", "tcsh"]) == 6


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_bash_completion_completes_commands_and_choices() -> None:
    if not (BIN / "deployer").exists():
        pytest.skip("the deployer console script is not installed in this environment")
    script = (
        "source <(deployer completion bash)\n"
        "COMP_WORDS=(deployer hist); COMP_CWORD=1; _deployer_completion deployer\n"
        'echo "${COMPREPLY[*]}"\n'
        'COMPREPLY=(); COMP_WORDS=(deployer completion "")\n'
        "COMP_CWORD=2; _deployer_completion deployer\n"
        'echo "${COMPREPLY[*]}"\n'
    )
    proc = subprocess.run(
        ["bash", "-c", script], capture_output=True, text=True, env=_env(), timeout=60, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["history", "bash zsh fish"]
