"""crictl's output shapes from kubelet records (pure)."""

from __future__ import annotations

import json

from deployer.lab.crictl.views import (
    container_json,
    containers_table,
    go_json,
    human_duration,
    inspect_json,
    sandbox_json,
)
from deployer.lab.kubelet.records import (
    ContainerRecord,
    KubeletState,
    SandboxRecord,
    load_state,
    save_state,
)
from deployer.lab.timefmt import rfc3339_fixed, rfc3339_nano

CID = "b47b5ae659fed79fbc89253c7122c74a87e5640cd99edd0963022cadff60a7dd"
SID = "0126d99df2089d887ff7f2b89bef237ae9bae89ab8e07c8e0c06906217b3515a"
UID = "6725245eaa0360cee8f0735d1cf0e677"


def _record(**changes: object) -> ContainerRecord:
    base: dict[str, object] = {
        "id": CID,
        "sandbox_id": SID,
        "pod_uid": UID,
        "pod_name": "kube-apiserver-cp-1",
        "namespace": "kube-system",
        "name": "kube-apiserver",
        "attempt": 0,
        "image": "registry.k8s.io/kube-apiserver:v1.31.0",
        "command": ("kube-apiserver", "--secure-port=6443"),
        "args": (),
        "envs": (),
        "mounts": (
            {
                "containerPath": "/etc/kubernetes/pki",
                "hostPath": "/etc/kubernetes/pki",
                "readonly": True,
            },
        ),
        "state": "CONTAINER_RUNNING",
        "created_at_ns": 1724148930482913577,
        "started_at_ns": 1724148931007688120,
        "finished_at_ns": 0,
        "exit_code": 0,
        "reason": "",
        "message": "",
        "pid": 48211,
        "pid_start_time": 1,
        "log_path": f"/var/log/pods/kube-system_kube-apiserver-cp-1_{UID}/kube-apiserver/0.log",
        "labels": {
            "io.kubernetes.container.name": "kube-apiserver",
            "io.kubernetes.pod.name": "kube-apiserver-cp-1",
            "io.kubernetes.pod.namespace": "kube-system",
            "io.kubernetes.pod.uid": UID,
        },
        "annotations": {"io.kubernetes.container.restartCount": "0"},
    }
    base.update(changes)
    return ContainerRecord(**base)  # type: ignore[arg-type]


def test_ps_entry_has_crictl_keys_in_protobuf_order_and_string_times() -> None:
    entry = container_json(_record())
    assert list(entry) == [
        "id", "podSandboxId", "metadata", "image", "imageRef", "state", "createdAt", "labels",
        "annotations", "imageId",
    ]  # fmt: skip
    assert entry["createdAt"] == "1724148930482913577"
    assert entry["metadata"] == {"name": "kube-apiserver", "attempt": 0}
    assert str(entry["imageRef"]).startswith("sha256:")


def test_inspect_of_a_running_container() -> None:
    doc = inspect_json(_record(), None, is_quiet=False)
    text = go_json(doc, sort_keys=True)
    parsed = json.loads(text)
    status = parsed["status"]
    assert status["createdAt"] == "2024-08-20T10:15:30.482913577Z"
    assert status["startedAt"] == "2024-08-20T10:15:31.00768812Z"
    assert status["finishedAt"] == "0001-01-01T00:00:00Z"
    assert status["imageRef"].startswith("registry.k8s.io/kube-apiserver@sha256:")
    assert status["mounts"][0]["propagation"] == "PROPAGATION_PRIVATE"
    assert status["user"] is None
    info = parsed["info"]
    assert info["pid"] == 48211
    assert info["runtimeSpec"]["process"]["args"] == ["kube-apiserver", "--secure-port=6443"]
    assert info["config"]["metadata"] == {"name": "kube-apiserver"}  # attempt 0 is omitted
    assert "args" not in info["config"]
    assert info["config"]["mounts"][0] == {
        "container_path": "/etc/kubernetes/pki",
        "host_path": "/etc/kubernetes/pki",
        "readonly": True,
    }
    assert list(parsed) == ["info", "status"]


def test_inspect_of_an_exited_container_and_quiet_mode() -> None:
    record = _record(
        state="CONTAINER_EXITED", finished_at_ns=1724148940000000000, exit_code=1, reason="Error"
    )
    doc = inspect_json(record, None, is_quiet=True)
    assert set(doc) == {"status"}
    status = doc["status"]
    assert isinstance(status, dict)
    assert status["finishedAt"] == "2024-08-20T10:15:40Z"
    assert (status["exitCode"], status["reason"]) == (1, "Error")


def test_go_json_escapes_html_characters() -> None:
    assert go_json({"a": "<&>"}, sort_keys=True) == '{\n  "a": "\\u003c\\u0026\\u003e"\n}'


def test_table_uses_tabwriter_widths() -> None:
    text = containers_table([_record()], now_ns=1724148930482913577 + 125 * 10**9, no_trunc=False)
    header, row = text.splitlines()
    assert header.startswith("CONTAINER           IMAGE               CREATED")
    assert row.startswith("b47b5ae659fed       ")
    assert "2 minutes ago" in row
    assert row.endswith("kube-apiserver-cp-1")


def test_human_duration_matches_go_units() -> None:
    assert human_duration(0.5) == "Less than a second"
    assert human_duration(1) == "1 second"
    assert human_duration(42) == "42 seconds"
    assert human_duration(60) == "About a minute"
    assert human_duration(600) == "10 minutes"
    assert human_duration(3600) == "About an hour"
    assert human_duration(5 * 3600) == "5 hours"
    assert human_duration(3 * 86400) == "3 days"


def test_sandbox_entry_and_state_round_trip(tmp_path: object) -> None:
    sandbox = SandboxRecord(
        id=SID,
        uid=UID,
        name="kube-apiserver-cp-1",
        namespace="kube-system",
        attempt=0,
        state="SANDBOX_READY",
        created_at_ns=1724148921004417003,
        labels={"component": "kube-apiserver"},
        annotations={"kubernetes.io/config.source": "file"},
        source="/etc/kubernetes/manifests/kube-apiserver.yaml",
    )
    entry = sandbox_json(sandbox)
    assert list(entry) == [
        "id", "metadata", "state", "createdAt", "labels", "annotations", "runtimeHandler",
    ]  # fmt: skip
    from pathlib import Path

    path = Path(str(tmp_path)) / "state.json"
    save_state(path, KubeletState(sandboxes=[sandbox], containers=[_record()]))
    loaded = load_state(path)
    assert loaded.sandboxes == [sandbox]
    assert loaded.containers[0].command == _record().command
    assert loaded.containers[0].id == CID


def test_time_formats() -> None:
    assert rfc3339_nano(1724148931000000000) == "2024-08-20T10:15:31Z"
    assert rfc3339_fixed(1724148931000000001) == "2024-08-20T10:15:31.000000001Z"
