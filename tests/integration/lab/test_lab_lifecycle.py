"""``lab up`` / ``lab down`` through the command line: nothing is left behind, even after a
killed ``up``."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from lab_support import (
    address_prefix,
    lab_processes_left,
    listening_on,
    reap_and_check_gone,
    recorded_pids,
)

from deployer.errors import LabError
from deployer.lab.control import LabOptions, lab_down, lab_up, render_initial_manifest
from deployer.lab.testing import poll_until
from deployer.model.host import Host

pytestmark = pytest.mark.integration


def _deployer(*args: str, timeout_s: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "deployer", *args],
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
        env={**os.environ, "DEPLOYER_LAB_READY_DELAY_S": "0.2"},
    )


def test_up_status_down_leaves_no_process_and_no_port(tmp_path: Path, first_address: str) -> None:
    lab = tmp_path / "lab"
    up = _deployer(
        "lab", "up", "--nodes", "2", "--dir", str(lab), "--first-address", first_address,
        "--etcd", "standin",
    )  # fmt: skip
    try:
        assert up.returncode == 0, up.stderr
        assert f"deployer plan -i {lab.resolve() / 'inventory.yml'}" in up.stdout
        status = _deployer("lab", "status", "--dir", str(lab), "--json")
        assert status.returncode == 0, status.stderr
        assert json.loads(status.stdout)["ready"] is True
        assert json.loads((lab / "lab.json").read_text())["settings"]["etcd"] == "standin"
        again = _deployer(
            "lab", "up", "--nodes", "2", "--dir", str(lab), "--first-address", first_address
        )
        assert again.returncode == 0
        assert "already up; nothing changed" in again.stdout
        assert lab_processes_left(lab.resolve())
        pids = recorded_pids(lab)
    finally:
        down = _deployer("lab", "down", "--dir", str(lab))
    assert down.returncode == 0, down.stderr
    assert lab_processes_left(lab.resolve()) == []
    assert reap_and_check_gone(pids) == []
    assert listening_on(address_prefix(first_address)) == []
    status = _deployer("lab", "status", "--dir", str(lab), "--json")
    assert status.returncode == 5
    assert json.loads(status.stdout)["ready"] is False
    # Up again after down: same files, fresh processes, ready again.
    again = _deployer(
        "lab", "up", "--nodes", "2", "--dir", str(lab), "--first-address", first_address,
        "--etcd", "standin",
    )  # fmt: skip
    try:
        assert again.returncode == 0, again.stderr
        assert "already up" not in again.stdout
        pids = recorded_pids(lab)
    finally:
        down = _deployer("lab", "down", "--dir", str(lab), "--purge")
    assert down.returncode == 0, down.stderr
    assert reap_and_check_gone(pids) == []
    assert not lab.exists()
    assert listening_on(address_prefix(first_address)) == []


def test_down_after_a_killed_up_stops_everything(tmp_path: Path, first_address: str) -> None:
    lab = tmp_path / "lab"
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "deployer", "lab", "up", "--nodes", "3", "--dir", str(lab),
            "--first-address", first_address,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "DEPLOYER_LAB_READY_DELAY_S": "30"},
    )  # fmt: skip
    try:

        def kubelets_started() -> bool:
            try:
                processes = json.loads((lab / "lab.json").read_text())["processes"]
            except (OSError, ValueError, KeyError):
                return False
            return sum("kubelet" in roles for roles in processes.values()) == 3

        poll_until(kubelets_started, timeout_s=60, what="every kubelet recorded")
        # Containers too: kubelet has started the (slow to get ready) apiservers.
        poll_until(
            lambda: (
                all(
                    b"CONTAINER_RUNNING"
                    in (lab / f"lab-cp{i}/var/lib/kubelet/state.json").read_bytes()
                    for i in (1, 2, 3)
                    if (lab / f"lab-cp{i}/var/lib/kubelet/state.json").exists()
                )
                and len(list(lab.glob("lab-cp*/var/lib/kubelet/state.json"))) == 3
            ),
            timeout_s=30,
            what="every apiserver container started",
        )
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    assert lab_processes_left(lab.resolve())
    pids = recorded_pids(lab)
    down = _deployer("lab", "down", "--dir", str(lab))
    assert down.returncode == 0, down.stderr
    assert lab_processes_left(lab.resolve()) == []
    assert reap_and_check_gone(pids) == []
    assert listening_on(address_prefix(first_address)) == []


def test_usage_errors_are_one_screen_with_a_hint(tmp_path: Path) -> None:
    result = _deployer("lab", "up", "--dir", str(tmp_path / "x"), "--first-address", "10.0.0.1")
    assert result.returncode == 6
    assert "loopback" in result.stderr
    assert "hint:" in result.stderr
    assert len(result.stderr.splitlines()) < 25
    missing = _deployer("lab", "status", "--dir", str(tmp_path / "none"))
    assert missing.returncode == 6
    assert "no lab at" in missing.stderr
    assert "hint: create one" in missing.stderr
    unknown = _deployer("lab", "fault", "lab-cp1", "disk-full", "--dir", str(tmp_path / "none"))
    assert unknown.returncode == 6


def test_up_that_cannot_get_ready_says_why_and_down_cleans_up(
    tmp_path: Path, first_address: str
) -> None:
    def broken(host: Host) -> bytes:
        pod = yaml.safe_load(render_initial_manifest(host))
        pod["spec"]["containers"][0]["command"].append("--no-such-flag=1")
        return yaml.safe_dump(pod).encode()

    lab = tmp_path / "lab"
    options = LabOptions(
        root=lab, nodes=1, first_address=first_address, ready_timeout_s=5, manifest_factory=broken
    )
    try:
        with pytest.raises(LabError) as failure:
            lab_up(options)
        text = str(failure.value)
        assert "not ready after 5s" in text
        assert "unknown flag: --no-such-flag" in text
        assert "hint: look at" in text
    finally:
        lab_down(lab)
    assert lab_processes_left(lab.resolve()) == []
