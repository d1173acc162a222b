"""The mirror pod is built from the kubelet stand-in's own state file (the shared format)."""

from __future__ import annotations

import datetime
import io
import json
from pathlib import Path

from deployer.lab.apiserver.app import ApiServerApp, AppConfig
from deployer.lab.apiserver.auth import Identity
from deployer.lab.apiserver.klog import Klog
from deployer.lab.apiserver.lifecycle import Lifecycle
from deployer.lab.apiserver.metrics import RequestMetrics
from deployer.lab.apiserver.mirror import mirror_pods
from deployer.lab.apiserver.probes import ComponentProbe, ProbeResult
from deployer.lab.apiserver.tables import pod_table
from deployer.lab.kubelet.records import (
    CONTAINER_EXITED,
    CONTAINER_RUNNING,
    SANDBOX_READY,
    ContainerRecord,
    KubeletState,
    SandboxRecord,
    save_state,
)

HASH = "6725245eaa0360cee8f0735d1cf0e677"
T0 = 1_724_148_930_000_000_000
BOB = Identity("bob", ("system:authenticated",))
ADMIN = Identity("kubernetes-admin", ("system:masters", "system:authenticated"))


def container(cid: str, attempt: int, state: str, created: int) -> ContainerRecord:
    return ContainerRecord(
        id=cid,
        sandbox_id="sb1",
        pod_uid=HASH,
        pod_name="kube-apiserver-lab-cp1",
        namespace="kube-system",
        name="kube-apiserver",
        attempt=attempt,
        image="registry.k8s.io/kube-apiserver:v1.31.13",
        command=("kube-apiserver", "--secure-port=6443"),
        args=(),
        envs=(),
        mounts=(),
        state=state,
        created_at_ns=created,
        started_at_ns=created + 1_000_000,
        finished_at_ns=created + 5_000_000_000 if state == CONTAINER_EXITED else 0,
        exit_code=1 if state == CONTAINER_EXITED else 0,
        reason="Error" if state == CONTAINER_EXITED else "",
        message="",
        pid=0,
        pid_start_time=0,
        log_path=f"/var/log/pods/x/kube-apiserver/{attempt}.log",
        labels={},
        annotations={},
    )


def write_state(path: Path) -> None:
    sandbox = SandboxRecord(
        id="sb1",
        uid=HASH,
        name="kube-apiserver-lab-cp1",
        namespace="kube-system",
        attempt=0,
        state=SANDBOX_READY,
        created_at_ns=T0,
        labels={
            "component": "kube-apiserver",
            "tier": "control-plane",
            "io.kubernetes.pod.uid": HASH,
        },
        annotations={
            "kubernetes.io/config.hash": HASH,
            "kubernetes.io/config.source": "file",
            "kubeadm.kubernetes.io/kube-apiserver.advertise-address.endpoint": "127.0.10.1:6443",
        },
        source="/etc/kubernetes/manifests/kube-apiserver.yaml",
    )
    state = KubeletState(
        sandboxes=[sandbox],
        containers=[
            container("a" * 64, 0, CONTAINER_EXITED, T0 + 10),
            container("b" * 64, 1, CONTAINER_RUNNING, T0 + 20_000_000_000),
        ],
    )
    save_state(path, state)


def test_mirror_pod_carries_the_config_hash_and_the_running_container(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    write_state(state)
    [pod] = mirror_pods(state, "lab-cp1", "127.0.10.1", {"kube-apiserver": True})
    metadata = pod["metadata"]
    assert isinstance(metadata, dict)
    assert metadata["name"] == "kube-apiserver-lab-cp1"
    assert metadata["annotations"]["kubernetes.io/config.hash"] == HASH
    assert metadata["annotations"]["kubernetes.io/config.mirror"] == HASH
    assert metadata["uid"] != HASH
    assert metadata["labels"] == {"component": "kube-apiserver", "tier": "control-plane"}
    assert metadata["creationTimestamp"] == "2024-08-20T10:15:30Z"
    status = pod["status"]
    assert isinstance(status, dict)
    [current] = status["containerStatuses"]
    assert current["restartCount"] == 1
    assert current["containerID"] == "containerd://" + "b" * 64
    assert current["ready"] is True
    assert "running" in current["state"]
    assert current["lastState"]["terminated"]["exitCode"] == 1
    assert current["lastState"]["terminated"]["containerID"] == "containerd://" + "a" * 64
    assert current["imageID"].startswith("registry.k8s.io/kube-apiserver@sha256:")
    assert status["podIP"] == "127.0.10.1"


def test_absent_state_file_means_no_pods(tmp_path: Path) -> None:
    assert mirror_pods(tmp_path / "missing.json", "lab-cp1", "127.0.10.1", {}) == []


def test_pod_table_has_kubectls_columns(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    write_state(state)
    pods = mirror_pods(state, "lab-cp1", "127.0.10.1", {"kube-apiserver": True})
    now = datetime.datetime(2024, 8, 20, 10, 25, 30, tzinfo=datetime.UTC)
    table = pod_table(pods, now)
    names = [column["name"] for column in table["columnDefinitions"]]  # type: ignore[attr-defined]
    assert names[:5] == ["Name", "Ready", "Status", "Restarts", "Age"]
    assert table["rows"][0]["cells"][:5] == ["kube-apiserver-lab-cp1", "1/1", "Running", "1", "10m"]  # type: ignore[index]


class NoEtcd:
    servers: tuple[str, ...] = ()

    def check(self) -> str | None:
        return None

    def check_server(self, url: str) -> str | None:
        return None


def refused(probe: ComponentProbe) -> ProbeResult:
    return ProbeResult(False, "refused")


def test_pod_routes_get_list_404_and_namespaced_forbidden(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    write_state(state)
    config = AppConfig(
        version="1.31.13",
        authorization_modes=("Node", "RBAC"),
        server_address="127.0.10.1:6443",
        kubelet_state=state,
        node_name="lab-cp1",
        node_ip="127.0.10.1",
    )
    app = ApiServerApp(
        config, NoEtcd(), Lifecycle(0), RequestMetrics(0), Klog(io.StringIO()), refused
    )
    path = "/api/v1/namespaces/kube-system/pods/kube-apiserver-lab-cp1"
    pod = json.loads(app.handle("GET", path, {}, ADMIN).body)
    assert pod["kind"] == "Pod"
    listed = json.loads(app.handle("GET", "/api/v1/namespaces/kube-system/pods", {}, ADMIN).body)
    assert listed["kind"] == "PodList"
    assert [item["metadata"]["name"] for item in listed["items"]] == ["kube-apiserver-lab-cp1"]
    assert (
        json.loads(app.handle("GET", "/api/v1/namespaces/default/pods", {}, ADMIN).body)["items"]
        == []
    )
    missing = app.handle("GET", "/api/v1/namespaces/kube-system/pods/nope", {}, ADMIN)
    assert missing.status == 404
    assert json.loads(missing.body)["message"] == 'pods "nope" not found'
    denied = app.handle("GET", path, {}, BOB)
    assert json.loads(denied.body)["message"] == (
        'pods "kube-apiserver-lab-cp1" is forbidden: User "bob" cannot get resource "pods" '
        'in API group "" in the namespace "kube-system"'
    )
    table = app.handle(
        "GET", path, {}, ADMIN, "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
    )
    assert json.loads(table.body)["kind"] == "Table"
