"""Each fault switch does what it says, and ``--clear`` undoes it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Iterator

import pytest
from lab_support import apiserver_id, edit_flags, replace_manifest, wait_new_apiserver

from deployer.lab.health import etcd_health, port_open
from deployer.lab.procs import is_running
from deployer.lab.records_file import load_lab_record
from deployer.lab.testing import LabHandle, poll_until, running_lab

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabHandle]:
    with running_lab(
        tmp_path_factory.mktemp("faults"),
        nodes=2,
        first_address="127.0.32.1",
        slow_s=3.0,
        time_scale=0.02,
    ) as handle:
        yield handle


def _kill_apiserver(lab: LabHandle, node: str) -> str:
    """Kill the running apiserver container (SIGKILL by pid) so kubelet restarts it."""
    running = lab.running_apiserver(node)
    assert running is not None
    info = json.loads(lab.crictl(node, "inspect", str(running["id"])).stdout)["info"]
    os.kill(int(info["pid"]), signal.SIGKILL)
    return str(running["id"])


def _process(lab: LabHandle, node: str, role: str) -> object:
    record = load_lab_record(lab.root / "lab.json")
    assert record is not None
    return record.processes.get(node, {}).get(role)


def test_apiserver_crash_exits_at_start_until_cleared(lab: LabHandle) -> None:
    lab.fault("lab-cp1", "apiserver-crash")
    old = _kill_apiserver(lab, "lab-cp1")

    def crashed_after() -> bool:
        return any(
            c["state"] == "CONTAINER_EXITED" and c["id"] != old for c in lab.containers("lab-cp1")
        )

    try:
        poll_until(crashed_after, timeout_s=20, what="a crashed apiserver start")
        assert not lab.readyz("lab-cp1").ok
    finally:
        lab.fault("lab-cp1", "apiserver-crash", clear=True)
    lab.wait_ready("lab-cp1", timeout_s=30)
    running = lab.running_apiserver("lab-cp1")
    assert running is not None
    assert int(running["metadata"]["attempt"]) >= 2  # type: ignore[index]


def test_apiserver_slow_delays_readiness(lab: LabHandle) -> None:
    lab.fault("lab-cp2", "apiserver-slow")
    try:
        old = _kill_apiserver(lab, "lab-cp2")
        wait_new_apiserver(lab, "lab-cp2", old)
        poll_until(
            lambda: port_open("127.0.32.2", 6443), timeout_s=15, what="the slow apiserver listening"
        )
        assert not lab.readyz("lab-cp2").ok
        lab.wait_ready("lab-cp2", timeout_s=20)
    finally:
        lab.fault("lab-cp2", "apiserver-slow", clear=True)


def test_readyz_fail_and_clear(lab: LabHandle) -> None:
    lab.fault("lab-cp1", "readyz-fail")
    try:
        poll_until(lambda: lab.readyz("lab-cp1").status == 500, timeout_s=10, what="/readyz 500")
    finally:
        lab.fault("lab-cp1", "readyz-fail", clear=True)
    lab.wait_ready("lab-cp1", timeout_s=10)


def test_etcd_stop_fails_readyz_etcd_check(lab: LabHandle) -> None:
    lab.fault("lab-cp2", "etcd-stop")
    try:
        assert not etcd_health(lab.node("lab-cp2")).ok
        poll_until(
            lambda: "[-]etcd failed" in lab.readyz("lab-cp2", verbose=True).detail,
            timeout_s=15,
            what="the etcd readyz check failing",
        )
    finally:
        lab.fault("lab-cp2", "etcd-stop", clear=True)
    poll_until(lambda: etcd_health(lab.node("lab-cp2")).ok, timeout_s=15, what="etcd back")
    lab.wait_ready("lab-cp2", timeout_s=20)


def test_sshd_stop_and_clear(lab: LabHandle) -> None:
    lab.fault("lab-cp1", "sshd-stop")
    try:
        assert not port_open("127.0.32.1", 2222)
        assert _process(lab, "lab-cp1", "sshd") is None
    finally:
        lab.fault("lab-cp1", "sshd-stop", clear=True)
    poll_until(lambda: port_open("127.0.32.1", 2222), timeout_s=10, what="sshd back")


def test_kubelet_stop_keeps_containers_and_a_new_kubelet_adopts_them(lab: LabHandle) -> None:
    before = apiserver_id(lab, "lab-cp2")
    lab.fault("lab-cp2", "kubelet-stop")
    original = b""
    check = [str(lab.node("lab-cp2").kubelet_check)]
    try:
        assert _process(lab, "lab-cp2", "kubelet") is None
        assert subprocess.run(check, check=False, timeout=10).returncode == 3
        assert lab.readyz("lab-cp2").ok  # the apiserver keeps running without kubelet
        original = edit_flags(lab, "lab-cp2", add=("--v=2",))
        # Nobody acts on the manifest while kubelet is stopped; crictl still answers.
        assert apiserver_id(lab, "lab-cp2") == before
    finally:
        lab.fault("lab-cp2", "kubelet-stop", clear=True)
    kubelet = _process(lab, "lab-cp2", "kubelet")
    assert kubelet is not None
    assert subprocess.run(check, check=False, timeout=10).returncode == 0
    assert is_running(kubelet)  # type: ignore[arg-type]
    new = wait_new_apiserver(lab, "lab-cp2", before)
    running = lab.containers("lab-cp2", all_states=False)
    assert [c["id"] for c in running] == [new]  # adopted, then replaced: never two
    replace_manifest(lab.manifest("lab-cp2"), original)
    wait_new_apiserver(lab, "lab-cp2", new)
    lab.wait_ready("lab-cp2", timeout_s=20)
