"""The lab's ConfigMap store and routes: GET, PUT with resourceVersion preconditions, 409."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from deployer.lab.apiserver.app import classify
from deployer.lab.apiserver.configmaps import (
    CONFLICT_MESSAGE,
    ConfigMapStore,
    cluster_configuration,
    kubeadm_config_map,
)


def test_put_needs_the_current_resource_version(tmp_path: Path) -> None:
    store = ConfigMapStore(tmp_path / "configmaps.json")
    created = store.create(kubeadm_config_map("1.31.4", {}), created_at="2026-01-01T00:00:00Z")
    version = created["metadata"]["resourceVersion"]
    stale = json.loads(json.dumps(created))
    status, stored = store.replace("kube-system", "kubeadm-config", created)
    assert status == 200 and isinstance(stored, dict)
    assert stored["metadata"]["resourceVersion"] != version
    assert stored["metadata"]["uid"] == created["metadata"]["uid"]
    status, message = store.replace("kube-system", "kubeadm-config", stale)
    assert (status, message) == (409, CONFLICT_MESSAGE.format(name="kubeadm-config"))
    unconditional = {**stale, "metadata": {"name": "kubeadm-config"}}
    assert store.replace("kube-system", "kubeadm-config", unconditional)[0] == 200
    assert store.replace("kube-system", "nope", unconditional)[0] == 404


def test_lab_up_writes_the_versions_kubeadm_api() -> None:
    assert cluster_configuration("1.30.8", {"a": "1"})["apiServer"]["extraArgs"] == {"a": "1"}
    beta4 = cluster_configuration("1.31.4", {"a": "1"})
    assert beta4["apiVersion"] == "kubeadm.k8s.io/v1beta4"
    assert beta4["apiServer"]["extraArgs"] == [{"name": "a", "value": "1"}]
    text = kubeadm_config_map("1.33.0", {})["data"]["ClusterConfiguration"]
    assert yaml.safe_load(text)["kubernetesVersion"] == "v1.33.0"


def test_a_put_is_an_update_for_rbac() -> None:
    request = classify("PUT", "/api/v1/namespaces/kube-system/configmaps/kubeadm-config")
    assert (request.verb, request.resource, request.namespace, request.name) == (
        "update",
        "configmaps",
        "kube-system",
        "kubeadm-config",
    )
