"""A three-node lab, end to end: readiness, kubectl, SSH, crictl, fidelity of the stand-ins."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator

import pytest
import testinfra
import yaml
from lab_support import (
    apiserver_id,
    edit_flags,
    pod_name_of,
    replace_manifest,
    wait_new_apiserver,
)

from deployer.desired import desired_state
from deployer.inventory import load_inventory
from deployer.lab.control import LabOptions, lab_up
from deployer.lab.testing import LabHandle, poll_until, running_lab

pytestmark = pytest.mark.integration

KUBECTL = shutil.which("kubectl")


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabHandle]:
    with running_lab(tmp_path_factory.mktemp("lab"), nodes=3, first_address="127.0.31.1") as handle:
        yield handle


def _kubectl(lab: LabHandle, node: str, *args: str) -> subprocess.CompletedProcess[str]:
    assert KUBECTL, "kubectl is not installed"
    conf = lab.node(node).admin_conf
    return subprocess.run(
        [KUBECTL, "--kubeconfig", str(conf), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_every_node_is_ready_and_kubectl_works(lab: LabHandle) -> None:
    for node in lab.nodes:
        assert lab.readyz(node.name).ok
        verbose = _kubectl(lab, node.name, "get", "--raw", "/readyz?verbose")
        assert verbose.returncode == 0, verbose.stderr
        assert "[+]etcd ok" in verbose.stdout
        assert "readyz check passed" in verbose.stdout
        cs = _kubectl(lab, node.name, "get", "componentstatuses")
        assert cs.returncode == 0, cs.stderr
        assert "etcd-0" in cs.stdout
        version = _kubectl(lab, node.name, "version", "-o", "json")
        assert version.returncode == 0, version.stderr
        assert json.loads(version.stdout)["serverVersion"]["gitVersion"] == "v1.31.13"


def test_inventory_loads_and_renders_what_runs(lab: LabHandle) -> None:
    inventory = load_inventory([lab.inventory])
    assert list(inventory.names) == ["lab-cp1", "lab-cp2", "lab-cp3"]
    host = inventory["lab-cp2"]
    assert host.address == "127.0.31.2"
    assert host.vars["host_root"] == str(lab.node("lab-cp2").root)
    state, problems = desired_state(host)
    assert problems == []
    assert state.flags["advertise-address"] == "127.0.31.2"
    running = lab.running_apiserver("lab-cp2")
    assert running is not None
    inspect = json.loads(lab.crictl("lab-cp2", "inspect", str(running["id"])).stdout)
    args = inspect["info"]["runtimeSpec"]["process"]["args"]
    assert "--advertise-address=127.0.31.2" in args
    assert "--etcd-servers=https://127.0.31.2:2379" in args


def test_lab_up_again_changes_nothing(lab: LabHandle) -> None:
    before = {n.name: apiserver_id(lab, n.name) for n in lab.nodes}
    pids_before = lab.root.joinpath("lab.json").read_text()
    status = lab_up(LabOptions(root=lab.root, nodes=3, first_address="127.0.31.1"))
    assert status.was_already_up
    assert status.is_ready
    assert lab.root.joinpath("lab.json").read_text() == pids_before
    assert {n.name: apiserver_id(lab, n.name) for n in lab.nodes} == before


def test_node_over_ssh_with_testinfra(lab: LabHandle) -> None:
    host = testinfra.get_host(f"ssh://lab-cp1?ssh_config={lab.root / 'ssh' / 'config'}")
    root = lab.node("lab-cp1").root
    manifest = host.file(str(root / "etc/kubernetes/manifests/kube-apiserver.yaml"))
    assert manifest.is_file
    assert manifest.mode == 0o600
    assert host.file(str(root / "etc/kubernetes/pki/ca.key")).mode == 0o600
    assert host.file(str(root / "etc/kubernetes/pki/apiserver.crt")).contains("BEGIN CERTIFICATE")
    ps = host.run(f"{root}/bin/crictl ps --name '^kube-apiserver$' -o json")
    assert ps.rc == 0, ps.stderr
    (container,) = json.loads(ps.stdout)["containers"]
    pid = json.loads(host.check_output(f"{root}/bin/crictl inspect {container['id']}"))["info"][
        "pid"
    ]
    assert host.process.get(pid=pid).args.split()[1:3] == ["-m", "deployer.lab.apiserver"]
    assert host.socket("tcp://127.0.31.1:6443").is_listening
    assert host.run(f"{root}/bin/kubelet-check").rc == 0


def test_unknown_flag_fails_like_the_real_binary_and_restoring_recovers(lab: LabHandle) -> None:
    old_id = apiserver_id(lab, "lab-cp3")
    original = edit_flags(lab, "lab-cp3", add=("--no-such-flag=1",))

    def failed_with_unknown_flag() -> bool:
        for c in lab.containers("lab-cp3"):
            if c["state"] == "CONTAINER_EXITED" and c["id"] != old_id:
                logs = lab.crictl("lab-cp3", "logs", str(c["id"]))
                return "Error: unknown flag: --no-such-flag" in logs.stderr + logs.stdout
        return False

    poll_until(failed_with_unknown_flag, timeout_s=30, what="unknown flag error in crictl logs")
    assert not lab.readyz("lab-cp3").ok
    replace_manifest(lab.manifest("lab-cp3"), original)
    wait_new_apiserver(lab, "lab-cp3", None)
    lab.wait_ready("lab-cp3")


def test_dot_file_is_ignored(lab: LabHandle) -> None:
    before = apiserver_id(lab, "lab-cp1")
    pods_before = lab.crictl("lab-cp1", "pods", "-q").stdout.split()
    manifest = lab.manifest("lab-cp1")
    hidden = manifest.with_name(".kube-apiserver.yaml.swp")
    hidden.write_bytes(manifest.read_bytes().replace(b"6443", b"6444"))
    # Evidence that kubelet listed the folder after the dot-file appeared: it complains about
    # an unparsable file written after it.
    sentinel = manifest.with_name("sentinel-not-a-pod")
    sentinel.write_text("kind: [")
    kubelet_log = lab.node("lab-cp1").process_log("kubelet")
    try:
        poll_until(
            lambda: "sentinel-not-a-pod" in kubelet_log.read_text(),
            timeout_s=10,
            what="kubelet reading the folder",
        )
        assert apiserver_id(lab, "lab-cp1") == before
        assert lab.crictl("lab-cp1", "pods", "-q").stdout.split() == pods_before
    finally:
        hidden.unlink()
        sentinel.unlink()


def test_bak_copy_is_picked_up_as_a_second_pod(lab: LabHandle) -> None:
    manifest = lab.manifest("lab-cp2")
    pod = yaml.safe_load(manifest.read_bytes())
    pod["metadata"]["name"] = "kube-apiserver-copy"
    bak = manifest.with_name("kube-apiserver.yaml.bak")
    bak.write_text(yaml.safe_dump(pod))
    try:
        poll_until(
            lambda: any(
                pod_name_of(c) == "kube-apiserver-copy-lab-cp2" for c in lab.containers("lab-cp2")
            ),
            timeout_s=20,
            what="a container of the .bak pod",
        )
        pods = json.loads(lab.crictl("lab-cp2", "pods", "-o", "json").stdout)["items"]
        names = {p["metadata"]["name"] for p in pods if p["state"] == "SANDBOX_READY"}
        assert names == {"kube-apiserver-lab-cp2", "kube-apiserver-copy-lab-cp2"}
    finally:
        bak.unlink()
    poll_until(
        lambda: all(
            pod_name_of(c) != "kube-apiserver-copy-lab-cp2"
            for c in lab.containers("lab-cp2", all_states=False)
        ),
        timeout_s=20,
        what="the .bak pod gone",
    )
    lab.wait_ready("lab-cp2")


def test_flag_file_outside_every_mount_fails_the_start(lab: LabHandle) -> None:
    root = lab.node("lab-cp1").root
    policy = root / "etc/kubernetes/audit/policy.yaml"
    policy.parent.mkdir(parents=True, exist_ok=True)
    policy.write_text("apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Metadata\n")
    old_id = apiserver_id(lab, "lab-cp1")
    original = edit_flags(
        lab, "lab-cp1", add=("--audit-policy-file=/etc/kubernetes/audit/policy.yaml",)
    )

    def failed_on_the_file() -> bool:
        for c in lab.containers("lab-cp1"):
            if c["state"] == "CONTAINER_EXITED" and c["id"] != old_id:
                logs = lab.crictl("lab-cp1", "logs", str(c["id"]))
                text = logs.stderr + logs.stdout
                return "open /etc/kubernetes/audit/policy.yaml: no such file or directory" in text
        return False

    try:
        poll_until(failed_on_the_file, timeout_s=30, what="the audit policy open error")
    finally:
        replace_manifest(lab.manifest("lab-cp1"), original)
    lab.wait_ready("lab-cp1")


def test_status_json_lists_processes_addresses_and_health(lab: LabHandle) -> None:
    status = json.loads(json.dumps(lab.status().to_json()))
    assert status["ready"] is True
    node = status["nodes"][0]
    assert node["addresses"] == {
        "ssh": "127.0.31.1:2222",
        "apiserver": "https://127.0.31.1:6443",
        "etcd": "https://127.0.31.1:2379",
    }
    roles = {p["role"] for p in node["processes"] if p["running"]}
    assert {"sshd", "etcd", "kubelet", "container:kube-apiserver"} <= roles


def test_mirror_pod_and_crictl_agree_on_the_pod(lab: LabHandle) -> None:
    running = lab.running_apiserver("lab-cp1")
    assert running is not None
    labels = running["labels"]
    assert isinstance(labels, dict)
    pod = _kubectl(
        lab, "lab-cp1", "get", "pod", "-n", "kube-system", "kube-apiserver-lab-cp1", "-o", "json"
    )
    assert pod.returncode == 0, pod.stderr
    mirror = json.loads(pod.stdout)
    annotations = mirror["metadata"]["annotations"]
    assert annotations["kubernetes.io/config.hash"] == labels["io.kubernetes.pod.uid"]
    assert annotations["kubernetes.io/config.mirror"] == labels["io.kubernetes.pod.uid"]
    (status,) = mirror["status"]["containerStatuses"]
    assert status["containerID"] == f"containerd://{running['id']}"
