"""The import contract on the lab: import, then plan restarts nothing, apply restarts nothing,
and a second import writes the same files.

Each node first runs a manifest of another shape (placed by hand, run by the lab kubelet,
which does its own API defaulting): API defaults and JSON on one, a CKS-style hand edit on
another (flags out of order, a bare boolean, an appended volume, comments), mirror-pod fields
and a dropped kubeadm volume on the third.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from deployer.cli.main import main
from deployer.lab.testing import LabHandle, poll_until


def _id(lab: LabHandle, node: str) -> tuple[str, str]:
    running = lab.running_apiserver(node)
    assert running is not None, f"{node} runs no kube-apiserver"
    labels = running["labels"]
    assert isinstance(labels, dict)
    return str(running["id"]), str(labels["io.kubernetes.pod.uid"])


def _pod_uid(lab: LabHandle, node: str) -> str | None:
    running = lab.running_apiserver(node)
    labels = running.get("labels") if running else None
    return str(labels["io.kubernetes.pod.uid"]) if isinstance(labels, dict) else None


def _defaults_as_json(pod: dict[str, Any]) -> bytes:
    pod["spec"].update(dnsPolicy="ClusterFirst", restartPolicy="Always", enableServiceLinks=True)
    pod["spec"]["containers"][0]["terminationMessagePolicy"] = "File"
    return json.dumps(pod, indent=4).encode()


def _cks_edit(pod: dict[str, Any]) -> bytes:
    container = pod["spec"]["containers"][0]
    command = container["command"]
    moved = command.pop(3)  # one flag out of its sorted place
    command.extend(["--profiling", moved])
    container["volumeMounts"].append(
        {"name": "audit-log", "mountPath": "/var/log/kubernetes/audit", "readOnly": False}
    )
    pod["spec"]["volumes"].append(
        {
            "name": "audit-log",
            "hostPath": {"path": "/var/log/kubernetes/audit", "type": "DirectoryOrCreate"},
        }
    )
    return b"# hand-edited during the audit review\n" + yaml.safe_dump(pod).encode()


def _mirror_fields(pod: dict[str, Any]) -> bytes:
    spec = pod["spec"]
    spec.update(
        nodeName="lab-cp3",
        preemptionPolicy="PreemptLowerPriority",
        tolerations=[{"operator": "Exists", "effect": "NoExecute"}],
    )
    spec.pop("priority")
    dropped = "usr-local-share-ca-certificates"
    spec["volumes"] = [v for v in spec["volumes"] if v["name"] != dropped]
    container = spec["containers"][0]
    container["volumeMounts"] = [m for m in container["volumeMounts"] if m["name"] != dropped]
    pod["metadata"]["labels"]["team"] = "platform"
    return yaml.safe_dump(pod, sort_keys=False).encode()


#: node -> (the shape, whether kubelet runs a new pod for it)
SHAPES: dict[str, tuple[Callable[[dict[str, Any]], bytes], bool]] = {
    "lab-cp1": (_defaults_as_json, False),  # the same pod after the API's defaults
    "lab-cp2": (_cks_edit, True),
    "lab-cp3": (_mirror_fields, True),
}


def _place_shapes(lab: LabHandle) -> None:
    for node, (shape, restarts) in SHAPES.items():
        manifest = lab.manifest(node)
        _, uid = _id(lab, node)
        manifest.write_bytes(shape(yaml.safe_load(manifest.read_bytes())))
        if not restarts:
            continue
        poll_until(
            lambda n=node, u=uid: _pod_uid(lab, n) not in (None, u),
            timeout_s=60,
            what=f"{node} runs its hand-placed manifest",
        )
        lab.wait_ready(node, timeout_s=60)


def _import(lab: LabHandle, out: Path) -> int:
    return main(["import", "-i", str(lab.inventory), "--out", str(out)])


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_import_then_plan_and_apply_restart_nothing(lab: LabHandle, tmp_path: Path) -> None:
    unchanged = _id(lab, "lab-cp1")
    _place_shapes(lab)
    before = {node: _id(lab, node) for node in SHAPES}
    assert before["lab-cp1"] == unchanged  # the lab kubelet defaults too: no new pod
    first = tmp_path / "imported"
    assert _import(lab, first) == 0
    argv_inventory = ["-i", str(first)]

    code = main(["plan", *argv_inventory, "--json", str(tmp_path / "plan.json")])
    report = json.loads((tmp_path / "plan.json").read_text())
    kinds = {name: host["details"]["kind"] for name, host in report["hosts"].items()}
    assert set(kinds.values()) <= {"none", "cosmetic"}, kinds
    assert kinds["lab-cp1"] == "cosmetic"  # JSON with the API's defaults: same pod
    assert code in (0, 2)

    code = main(
        [
            "apply",
            *argv_inventory,
            "--yes",
            "--lock",
            str(tmp_path / "deployer.lock"),
            "--json",
            str(tmp_path / "apply.json"),
        ]
    )
    assert code == 0
    applied = json.loads((tmp_path / "apply.json").read_text())
    for host in applied["hosts"].values():
        assert "restart" not in [p["phase"] for p in host["phases"]]
    assert {node: _id(lab, node) for node in SHAPES} == before  # no container restarted

    second = tmp_path / "again"
    assert _import(lab, second) == 0
    assert _files(second) == _files(first)
    group_vars = (first / "group_vars" / "control_plane.yml").read_text()
    assert "kubernetes_version: 1.31." in group_vars
    cp2 = (first / "host_vars" / "lab-cp2.yml").read_text()
    assert "apiserver_bare_flags" in cp2 and "apiserver_flag_order" in cp2
    cp3 = (first / "host_vars" / "lab-cp3.yml").read_text()
    assert "tolerations" in cp3 and "apiserver_default_volumes: false" in cp3


def test_import_refuses_a_non_empty_out_and_an_unreachable_host(
    lab: LabHandle, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    assert _import(lab, out) == 6
    lab.fault("lab-cp2", "sshd-stop")
    empty = tmp_path / "empty"
    assert _import(lab, empty) == 5
    assert not empty.exists() or not any(empty.iterdir())
    lab.fault("lab-cp2", "sshd-stop", clear=True)


def test_a_live_file_that_is_not_a_pod_is_exit_6(lab: LabHandle, tmp_path: Path) -> None:
    lab.manifest("lab-cp1").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")
    assert _import(lab, tmp_path / "out") == 6
