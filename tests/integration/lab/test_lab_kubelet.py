"""The kubelet stand-in against a fake kube-apiserver: pods, restarts, back-off, adoption."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from lab_kubelet_support import drive_for, drive_until, make_kubelet, pod_yaml, running

from deployer.lab.kubelet.records import CONTAINER_EXITED, SANDBOX_NOTREADY, load_state
from deployer.lab.kubelet.sync import Kubelet
from deployer.lab.procs import ProcessRecord, is_running

pytestmark = pytest.mark.integration

CRI_LINE = re.compile(rb"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z (stdout|stderr) [FP] .*$")


def _root(kubelet: Kubelet) -> Path:
    return kubelet._config.root


def _write(kubelet: Kubelet, name: str, text: str) -> None:
    folder = _root(kubelet) / "etc/kubernetes/manifests"
    temp = folder / f".{name}.tmp"
    temp.write_text(text)
    temp.rename(folder / name)


def _crictl(kubelet: Kubelet, *args: str) -> subprocess.CompletedProcess[str]:
    state = _root(kubelet) / "var/lib/kubelet/state.json"
    return subprocess.run(
        [sys.executable, "-m", "deployer.lab.crictl", "--state", str(state), *args],
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )


def test_static_pod_runs_with_kubelet_labels_and_cri_logs(kubelet: Kubelet) -> None:
    _write(kubelet, "kube-apiserver.yaml", pod_yaml())
    drive_until(kubelet, lambda: len(running(kubelet)) == 1, what="one running container")
    container = running(kubelet)[0]
    assert re.fullmatch(r"[0-9a-f]{64}", container.id)
    assert container.pod_name == "kube-apiserver-lab-cp1"
    assert re.fullmatch(r"[0-9a-f]{32}", container.pod_uid)
    log = _root(kubelet) / container.log_path.lstrip("/")
    assert container.log_path == (
        f"/var/log/pods/kube-system_kube-apiserver-lab-cp1_{container.pod_uid}/kube-apiserver/0.log"
    )
    drive_until(kubelet, lambda: log.exists() and b"stderr F" in log.read_bytes(), what="logs")
    lines = log.read_bytes().splitlines()
    assert lines
    assert all(CRI_LINE.match(line) for line in lines)

    ps = _crictl(kubelet, "ps", "-o", "json")
    assert ps.returncode == 0, ps.stderr
    (entry,) = json.loads(ps.stdout)["containers"]
    assert list(entry) == [
        "id", "podSandboxId", "metadata", "image", "imageRef", "state", "createdAt", "labels",
        "annotations", "imageId",
    ]  # fmt: skip
    assert entry["state"] == "CONTAINER_RUNNING"
    assert entry["labels"]["io.kubernetes.pod.name"] == "kube-apiserver-lab-cp1"
    assert entry["annotations"]["io.kubernetes.container.restartCount"] == "0"
    assert int(entry["createdAt"]) == container.created_at_ns

    logs = _crictl(kubelet, "logs", container.id[:12])
    assert "fake apiserver started --secure-port=6443" in logs.stdout
    assert "fake.go:1] on stderr" in logs.stderr
    tail = _crictl(kubelet, "logs", "--tail", "1", "--timestamps", container.id)
    shown = (tail.stdout + tail.stderr).splitlines()
    assert len(shown) == 1
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z ", shown[0])

    inspect = json.loads(_crictl(kubelet, "inspect", container.id).stdout)
    assert inspect["info"]["runtimeSpec"]["process"]["args"] == [
        "kube-apiserver",
        "--secure-port=6443",
    ]
    assert inspect["info"]["config"]["command"] == ["kube-apiserver", "--secure-port=6443"]
    assert "args" not in inspect["info"]["config"]
    assert inspect["status"]["finishedAt"] == "0001-01-01T00:00:00Z"
    assert list(inspect["status"]) == sorted(inspect["status"])


def test_byte_only_change_restarts_nothing_and_a_flag_change_makes_a_new_pod(
    kubelet: Kubelet,
) -> None:
    _write(kubelet, "kube-apiserver.yaml", pod_yaml())
    drive_until(kubelet, lambda: len(running(kubelet)) == 1, what="first container")
    first = running(kubelet)[0]

    _write(kubelet, "kube-apiserver.yaml", "# a comment changes bytes only\n" + pod_yaml())
    drive_for(kubelet, 10)
    assert [c.id for c in running(kubelet)] == [first.id]

    _write(kubelet, "kube-apiserver.yaml", pod_yaml(flags=("--secure-port=6443", "--v=2")))
    drive_until(
        kubelet,
        lambda: [c.pod_uid for c in running(kubelet)] not in ([], [first.pod_uid]),
        what="a new pod",
    )
    new = running(kubelet)[0]
    assert new.id != first.id
    assert new.attempt == 0
    old = next(c for c in kubelet.state.containers if c.id == first.id)
    assert old.state == CONTAINER_EXITED
    assert old.exit_code == 0
    sandbox = next(s for s in kubelet.state.sandboxes if s.uid == first.pod_uid)
    assert sandbox.state == SANDBOX_NOTREADY


def test_crash_restarts_in_the_same_pod_with_growing_back_off(kubelet: Kubelet) -> None:
    _write(kubelet, "kube-apiserver.yaml", pod_yaml(flags=("--exit-code=1",)))
    drive_until(
        kubelet,
        lambda: any(c.attempt >= 2 for c in kubelet.state.containers),
        what="two restarts",
    )
    state = kubelet.state
    assert len({c.sandbox_id for c in state.containers}) == 1
    assert all(c.exit_code == 1 for c in state.containers if c.state == CONTAINER_EXITED)
    (entry,) = state.backoff.values()
    # time_scale 0.05: 10 s -> 0.5 s, doubled at the second restart.
    assert entry.backoff_s == pytest.approx(1.0)
    ps = json.loads(_crictl(kubelet, "ps", "-a", "-o", "json").stdout)["containers"]
    assert ps[0]["metadata"]["attempt"] >= 2  # newest first


def test_dot_files_are_ignored_and_other_names_are_pods(kubelet: Kubelet) -> None:
    _write(kubelet, ".kube-apiserver.yaml.swp", pod_yaml(name="hidden"))
    _write(kubelet, "kube-apiserver.yaml", pod_yaml())
    _write(kubelet, "second.bak", pod_yaml(name="second-apiserver"))
    drive_until(kubelet, lambda: len(running(kubelet)) == 2, what="two pods")
    assert sorted(c.pod_name for c in running(kubelet)) == [
        "kube-apiserver-lab-cp1",
        "second-apiserver-lab-cp1",
    ]
    drive_for(kubelet, 5)
    assert not any(c.pod_name.startswith("hidden") for c in kubelet.state.containers)


def test_bak_copy_with_the_same_name_takes_over_the_pod(kubelet: Kubelet) -> None:
    _write(kubelet, "kube-apiserver.yaml", pod_yaml())
    drive_until(kubelet, lambda: len(running(kubelet)) == 1, what="first pod")
    first = running(kubelet)[0]
    _write(kubelet, "kube-apiserver.yaml.bak", pod_yaml(flags=("--secure-port=6443", "--v=9")))
    drive_until(
        kubelet,
        lambda: [c.pod_uid for c in running(kubelet)] not in ([], [first.pod_uid]),
        what="the .bak pod",
    )
    (current,) = running(kubelet)
    sandbox = next(s for s in kubelet.state.sandboxes if s.uid == current.pod_uid)
    assert sandbox.source == "/etc/kubernetes/manifests/kube-apiserver.yaml.bak"
    assert current.command[-1] == "--v=9"


def test_unparsable_file_is_skipped(kubelet: Kubelet, caplog: pytest.LogCaptureFixture) -> None:
    _write(kubelet, "broken.yaml", "apiVersion: v1\nkind: Pod\nmetadata: [unclosed\n")
    _write(kubelet, "kube-apiserver.yaml", pod_yaml())
    drive_until(kubelet, lambda: len(running(kubelet)) == 1, what="the valid pod")
    assert "broken.yaml" in caplog.text


def test_missing_hostpath_directory_keeps_the_pod_from_starting(kubelet: Kubelet) -> None:
    _write(
        kubelet, "kube-apiserver.yaml", pod_yaml(volumes=(("audit", "/etc/audit", "Directory"),))
    )
    drive_for(kubelet, 10)
    assert kubelet.state.containers == []
    (_root(kubelet) / "etc/audit").mkdir()
    drive_until(kubelet, lambda: len(running(kubelet)) == 1, what="start once the folder exists")
    assert running(kubelet)[0].mounts[0]["hostPath"] == "/etc/audit"


def test_unknown_command_fails_like_runc(kubelet: Kubelet) -> None:
    _write(kubelet, "kube-apiserver.yaml", pod_yaml(command="kube-apiservr"))
    drive_until(kubelet, lambda: bool(kubelet.state.containers), what="a container record")
    failed = kubelet.state.containers[0]
    assert failed.state == CONTAINER_EXITED
    assert (failed.exit_code, failed.reason) == (128, "StartError")
    assert 'exec: "kube-apiservr": executable file not found in $PATH' in failed.message


def test_restarted_kubelet_adopts_running_containers(tmp_path: Path) -> None:
    root = tmp_path / "node"
    first = make_kubelet(root)
    _write(first, "kube-apiserver.yaml", pod_yaml())
    drive_until(first, lambda: len(running(first)) == 1, what="first kubelet's container")
    container = running(first)[0]
    first._pump.close()

    second = make_kubelet(root)
    second.adopt()
    drive_for(second, 10)
    try:
        assert [c.id for c in running(second)] == [container.id]
        assert is_running(ProcessRecord("container", container.pid, container.pid_start_time))
        saved = load_state(root / "var/lib/kubelet/state.json")
        assert [c.id for c in saved.containers] == [container.id]
    finally:
        second.run(lambda: False, lambda: True)  # node shutdown: stops the container
    assert not is_running(ProcessRecord("container", container.pid, container.pid_start_time))


def test_node_shutdown_stops_every_container(kubelet: Kubelet) -> None:
    _write(kubelet, "kube-apiserver.yaml", pod_yaml(grace_s=1))
    drive_until(kubelet, lambda: len(running(kubelet)) == 1, what="a container")
    pid = running(kubelet)[0].pid
    kubelet.run(lambda: False, lambda: True)
    assert running(kubelet) == []
    assert not Path(f"/proc/{pid}").exists()


def test_crictl_errors_like_crictl(kubelet: Kubelet, tmp_path: Path) -> None:
    missing = subprocess.run(
        [sys.executable, "-m", "deployer.lab.crictl", "--state", str(tmp_path / "none"), "ps"],
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )
    assert missing.returncode == 1
    assert "level=fatal" in missing.stderr
    assert "connect: no such file or directory" in missing.stderr
    _write(kubelet, "kube-apiserver.yaml", pod_yaml())
    drive_until(kubelet, lambda: len(running(kubelet)) == 1, what="a container")
    unknown = _crictl(kubelet, "inspect", "deadbeef")
    assert unknown.returncode == 1
    assert 'try to find container \\"deadbeef\\": not found' in unknown.stderr
    bad_state = _crictl(kubelet, "ps", "--state", "sleeping")
    assert bad_state.returncode == 1
    assert "--state should be one of" in bad_state.stderr
    table = _crictl(kubelet, "ps")
    assert table.stdout.splitlines()[0].split() == [
        "CONTAINER", "IMAGE", "CREATED", "STATE", "NAME", "ATTEMPT", "POD", "ID", "POD",
    ]  # fmt: skip
    bogus = _crictl(kubelet, "ps", "--bogus")
    assert bogus.returncode == 1
    assert 'msg="flag provided but not defined: -bogus"' in bogus.stderr
    template = _crictl(
        kubelet,
        "inspect",
        "-o",
        "go-template",
        "--template",
        "{{json .info.runtimeSpec.process.args}}",
        running(kubelet)[0].id,
    )
    assert json.loads(template.stdout) == ["kube-apiserver", "--secure-port=6443"]
    quiet = _crictl(kubelet, "ps", "-q")
    assert quiet.stdout.strip() == running(kubelet)[0].id
