"""Ctrl-C during a rollout: once finishes the current host then stops; twice aborts at once."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from deployer.lab.testing import LabHandle

pytestmark = pytest.mark.integration


def _start_apply(lab: LabHandle, tmp_path: Path) -> subprocess.Popen[str]:
    return _start(lab.inventory, tmp_path, "apply")


def _start(inventory: Path, tmp_path: Path, command: str, *more: str) -> subprocess.Popen[str]:
    extra = ["--yes", "--lock", str(tmp_path / "lock")] if command == "apply" else []
    extra += more
    env = dict(os.environ, XDG_STATE_HOME=str(tmp_path / "state"), PYTHONUNBUFFERED="1")
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "deployer",
            command,
            "-i",
            str(inventory),
            *extra,
            "--no-color",
            "-e",
            "apiserver_flags.audit-log-maxage=45",
            "-e",
            "soak_seconds=3",
            "--json",
            str(tmp_path / "report.json"),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _wait_for_line(proc: subprocess.Popen[str], needle: str, timeout_s: float) -> list[str]:
    assert proc.stdout is not None
    seen = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        seen.append(line)
        if needle in line:
            return seen
    proc.kill()
    pytest.fail(f"never printed {needle!r}: {''.join(seen)}")


def test_one_ctrl_c_finishes_the_current_host_then_stops(lab: LabHandle, tmp_path: Path) -> None:
    proc = _start_apply(lab, tmp_path)
    _wait_for_line(proc, "[lab-cp1] [restart] wait", timeout_s=60)
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 3, out
    assert "stopping after the current host" in out
    hosts = json.loads((tmp_path / "report.json").read_text())["hosts"]
    assert hosts["lab-cp1"]["outcome"] == "changed", "the current host was finished and verified"
    assert hosts["lab-cp2"]["outcome"] == "skipped"
    assert hosts["lab-cp3"]["outcome"] == "skipped"


def test_two_ctrl_c_abort_at_once_and_say_where_the_host_was_left(
    lab: LabHandle, tmp_path: Path
) -> None:
    proc = _start_apply(lab, tmp_path)
    _wait_for_line(proc, "[lab-cp1] [verify] wait soak", timeout_s=60)
    proc.send_signal(signal.SIGINT)
    _wait_for_line(proc, "press Ctrl-C again to abort", timeout_s=10)
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 4, out
    hosts = json.loads((tmp_path / "report.json").read_text())["hosts"]
    assert hosts["lab-cp1"]["outcome"] == "rollback_failed"
    assert "aborted by a second Ctrl-C during verify" in hosts["lab-cp1"]["error"]["message"]
    assert hosts["lab-cp2"]["outcome"] == "skipped"
    assert "lab-cp1 was left in verify" in out


def test_sigterm_once_is_a_ctrl_c_with_report_and_history(lab: LabHandle, tmp_path: Path) -> None:
    proc = _start_apply(lab, tmp_path)
    _wait_for_line(proc, "[lab-cp1] [restart] wait", timeout_s=60)
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 3, out
    assert "SIGTERM: up to 60 s" in out
    hosts = json.loads((tmp_path / "report.json").read_text())["hosts"]
    assert hosts["lab-cp1"]["outcome"] == "changed", "the current host was finished and verified"
    assert hosts["lab-cp2"]["outcome"] == "skipped"
    history = (tmp_path / "state" / "deployer" / "history.jsonl").read_text()
    assert '"exit_code": 3' in history or '"exit_code":3' in history


def test_interrupt_while_connecting_stops_at_once_with_exit_3(tmp_path: Path) -> None:
    # A "host" that accepts TCP and never says a word: the SSH connection waits for a banner.
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    port = silent.getsockname()[1]
    inventory = Path(__file__).parents[3] / "inventories" / "production"
    try:
        proc = _start(
            inventory,
            tmp_path,
            "plan",
            "--limit",
            "cp1",
            "-e",
            "ansible_host=127.0.0.1",
            "-e",
            f"ansible_port={port}",
        )
        silent.settimeout(60)
        peer, _ = silent.accept()  # the plan is connecting now, waiting for a banner
        started = time.monotonic()
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
        took = time.monotonic() - started
        peer.close()
    finally:
        silent.close()
    assert proc.returncode == 3, out
    assert took < 8, f"the interrupt waited for the connection attempt ({took:.1f}s)"
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["exit_code"] == 3
