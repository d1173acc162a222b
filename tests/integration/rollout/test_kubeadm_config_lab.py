"""kube-system/kubeadm-config on the lab: drift reported, synced after the last host only,
untouched by a failed rollout; a real kubectl reads it from the lab apiserver."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from rollout_support import Deployer

from deployer.lab.apiserver.configmaps import ConfigMapStore, store_path
from deployer.lab.control import render_initial_manifest
from deployer.lab.inventory import lab_hosts
from deployer.lab.layout import lab_layout
from deployer.lab.testing import LabHandle, poll_until

KUBECTL = shutil.which("kubectl") or "/usr/bin/kubectl"
CHANGE = "apiserver_flags.audit-log-maxage=45"


def _store(lab: LabHandle) -> ConfigMapStore:
    return ConfigMapStore(store_path(lab.node("lab-cp1").root))


def _cluster_configuration(lab: LabHandle) -> dict[str, Any]:
    config_map = _store(lab).get("kube-system", "kubeadm-config")
    assert config_map is not None
    loaded: dict[str, Any] = yaml.safe_load(config_map["data"]["ClusterConfiguration"])
    return loaded


def _version(lab: LabHandle) -> str:
    config_map = _store(lab).get("kube-system", "kubeadm-config")
    assert config_map is not None
    return str(config_map["metadata"]["resourceVersion"])


def _pod_uid(lab: LabHandle, node: str) -> str | None:
    running = lab.running_apiserver(node)
    labels = running.get("labels") if running else None
    return str(labels["io.kubernetes.pod.uid"]) if isinstance(labels, dict) else None


def _kubectl(lab: LabHandle, *args: str) -> subprocess.CompletedProcess[str]:
    kubeconfig = lab.node("lab-cp2").root / "etc/kubernetes/admin.conf"
    return subprocess.run(
        [KUBECTL, "--kubeconfig", str(kubeconfig), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.skipif(not os.access(KUBECTL, os.X_OK), reason="kubectl is not installed")
def test_drift_is_reported_then_synced_after_the_last_host(
    lab: LabHandle, deployer: Deployer
) -> None:
    got = _kubectl(lab, "get", "cm", "-n", "kube-system", "kubeadm-config", "-o", "yaml")
    assert got.returncode == 0, got.stderr
    assert "apiVersion: kubeadm.k8s.io/v1beta4" in got.stdout

    assert deployer("plan", "-e", CHANGE) == 2
    drift = deployer.hosts()["lab-cp3"]["drift"]
    assert isinstance(drift, dict)
    assert drift["kubeadm_config"] == [
        "kubeadm-config: --audit-log-maxage absent, deployer 45: kubeadm upgrade would drop it"
    ]
    before = _version(lab)
    assert deployer("apply", "-e", CHANGE, "-e", "kubeadm_config_sync=true") == 0
    assert _version(lab) != before
    extra_args = _cluster_configuration(lab)["apiServer"]["extraArgs"]
    assert extra_args == [{"name": "audit-log-maxage", "value": "45"}]
    backups = list((lab.node("lab-cp1").root / "etc/kubernetes/tmp").glob("deployer-kubeadm-*"))
    assert len(backups) == 1 and backups[0].stat().st_mode & 0o777 == 0o600

    assert deployer("plan", "-e", CHANGE) == 0
    assert deployer.hosts()["lab-cp1"]["drift"]["kubeadm_config"] == []  # type: ignore[index]

    # a stale resourceVersion is refused with the apiserver's 409
    stale = _store(lab).get("kube-system", "kubeadm-config")
    assert stale is not None
    stale["metadata"]["resourceVersion"] = before
    path = Path(str(lab.root)) / "stale.json"
    path.write_text(json.dumps(stale))
    replaced = _kubectl(lab, "replace", "--validate=false", "-f", str(path))
    assert replaced.returncode != 0
    assert "the object has been modified" in replaced.stderr


def test_a_failed_rollout_leaves_kubeadm_config_untouched(
    lab: LabHandle, deployer: Deployer
) -> None:
    before = _version(lab)
    dead_etcd = f"apiserver_flags.etcd-servers=https://{lab.node('lab-cp1').ip}:2999"
    code = deployer(
        "apply",
        "-e",
        CHANGE,
        "-e",
        dead_etcd,
        "-e",
        "ready_timeout=8",
        "-e",
        "kubeadm_config_sync=true",
    )
    assert code == 3
    assert _version(lab) == before


def test_converge_restores_what_a_kubeadm_upgrade_reverted(
    lab: LabHandle, deployer: Deployer
) -> None:
    assert deployer("apply", "-e", CHANGE) == 0
    # What `kubeadm upgrade` writes: kubeadm's manifest of the same version, no extra flag.
    layout = lab_layout(lab.root, len(lab.nodes), first_address=lab.nodes[0].ip)
    host = next(h for h in lab_hosts(layout, "1.31") if h.name == "lab-cp2")
    before = _pod_uid(lab, "lab-cp2")
    lab.manifest("lab-cp2").write_bytes(render_initial_manifest(host))
    # kubelet runs the rewritten manifest (a new pod); converge starts from a ready host.
    poll_until(
        lambda: _pod_uid(lab, "lab-cp2") not in (None, before),
        timeout_s=60,
        what="lab-cp2 runs kubeadm's manifest",
    )
    lab.wait_ready("lab-cp2", timeout_s=60)
    assert deployer("converge", "--check", "-e", CHANGE) == 2
    cp2 = deployer.hosts()["lab-cp2"]
    assert "+ --audit-log-maxage=45" in cp2["details"]["flag_changes"]  # type: ignore[index]
    assert deployer("converge", "-e", CHANGE) == 0
    assert deployer("plan", "-e", CHANGE) == 0
