"""ConfigMaps of the lab cluster (kube-system/kubeadm-config): GET, and PUT with preconditions.

Why: on a kubeadm cluster ``kubeadm upgrade`` regenerates the manifests from the
``ClusterConfiguration`` in ``kube-system/kubeadm-config``, so deployer reads and (opt-in)
updates it; the lab must answer as a real apiserver does. The store is one JSON file shared by
every node's stand-in (one cluster, one ConfigMap), changed under ``flock``. A PUT carrying
``metadata.resourceVersion`` must match the stored one, else ``409 Conflict`` with the real
Status text (the registry's optimistic concurrency, ``k8s.io/apiserver``
``pkg/storage/errors.go`` ``NewConflict`` via ``OptimisticLockErrorMsg``); a PUT without one
is unconditional (ConfigMap's strategy allows unconditional updates). Every write bumps a
cluster-wide revision, which is the new ``resourceVersion``.

The lab writes the ConfigMap at ``lab up`` in the kubeadm API of the lab's version: ``v1beta3``
(``extraArgs`` a map) before 1.31, ``v1beta4`` (a list of ``{name, value}``) from 1.31
(kubernetes/kubernetes ``cmd/kubeadm/app/apis/kubeadm/v1beta3/types.go`` and
``v1beta4/types.go``, ``ControlPlaneComponent.ExtraArgs``).
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

__all__ = [
    "CONFLICT_MESSAGE",
    "ConfigMapStore",
    "cluster_configuration",
    "kubeadm_config_map",
    "store_path",
]

CONFLICT_MESSAGE = (
    'Operation cannot be fulfilled on configmaps "{name}": the object has been modified; '
    "please apply your changes to the latest version and try again"
)


def store_path(node_root: Path) -> Path:
    """The cluster's ConfigMap file, beside the node folders (``<lab>/cluster/``)."""
    return node_root.parent / "cluster" / "configmaps.json"


def cluster_configuration(version: str, extra_args: Mapping[str, str]) -> dict[str, Any]:
    """Kubeadm's ClusterConfiguration as ``kubeadm init`` uploads it, for ``version``."""
    minor = int(version.split(".")[1])
    beta4 = minor >= 31
    config: dict[str, Any] = {
        "apiServer": {},
        "apiVersion": "kubeadm.k8s.io/v1beta4" if beta4 else "kubeadm.k8s.io/v1beta3",
        "certificatesDir": "/etc/kubernetes/pki",
        "clusterName": "kubernetes",
        "controllerManager": {},
        "dns": {},
        "etcd": {"local": {"dataDir": "/var/lib/etcd"}},
        "imageRepository": "registry.k8s.io",
        "kind": "ClusterConfiguration",
        "kubernetesVersion": f"v{version}",
        "networking": {"dnsDomain": "cluster.local", "serviceSubnet": "10.96.0.0/12"},
        "scheduler": {},
    }
    if extra_args:
        config["apiServer"]["extraArgs"] = (
            [{"name": k, "value": v} for k, v in sorted(extra_args.items())]
            if beta4
            else dict(sorted(extra_args.items()))
        )
    if beta4:
        config.update(
            caCertificateValidityPeriod="87600h0m0s",
            certificateValidityPeriod="8760h0m0s",
            encryptionAlgorithm="RSA-2048",
            proxy={},
        )
    else:
        config["apiServer"]["timeoutForControlPlane"] = "4m0s"
    return config


def kubeadm_config_map(version: str, extra_args: Mapping[str, str]) -> dict[str, Any]:
    """The ``kube-system/kubeadm-config`` ConfigMap (without server-set metadata)."""
    text = yaml.safe_dump(cluster_configuration(version, extra_args), default_flow_style=False)
    return {
        "kind": "ConfigMap",
        "apiVersion": "v1",
        "metadata": {"name": "kubeadm-config", "namespace": "kube-system"},
        "data": {"ClusterConfiguration": text},
    }


class ConfigMapStore:
    """The cluster's ConfigMaps in one file: ``{"revision": N, "items": {"ns/name": obj}}``."""

    def __init__(self, path: Path) -> None:
        """Use (and create on first write) the store at ``path``."""
        self._path = path

    @contextmanager
    def _locked(self) -> Iterator[dict[str, Any]]:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        with open(self._path.with_suffix(".lock"), "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                data = json.loads(self._path.read_text()) if self._path.exists() else {}
                data.setdefault("revision", 1)
                data.setdefault("items", {})
                before = json.dumps(data, sort_keys=True)
                yield data
                if json.dumps(data, sort_keys=True) != before:
                    tmp = self._path.with_name(f".{self._path.name}.tmp")
                    tmp.write_text(json.dumps(data, sort_keys=True, indent=1))
                    os.replace(tmp, self._path)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def get(self, namespace: str, name: str) -> dict[str, Any] | None:
        """The object, or None."""
        with self._locked() as data:
            item = data["items"].get(f"{namespace}/{name}")
            return dict(item) if item is not None else None

    def list(self, namespace: str | None) -> list[dict[str, Any]]:
        """Every object of ``namespace`` (all namespaces for None), by name."""
        with self._locked() as data:
            return [
                item
                for key, item in sorted(data["items"].items())
                if namespace is None or key.split("/", 1)[0] == namespace
            ]

    def create(self, obj: Mapping[str, Any], *, created_at: str) -> dict[str, Any]:
        """Store ``obj`` as new (replacing any older one: the lab's set-up only)."""
        with self._locked() as data:
            data["revision"] += 1
            meta = dict(obj.get("metadata") or {})
            meta.update(
                resourceVersion=str(data["revision"]),
                uid=_uid(data["revision"]),
                creationTimestamp=created_at,
            )
            item = {**obj, "metadata": meta}
            data["items"][f"{meta['namespace']}/{meta['name']}"] = item
            return dict(item)

    def replace(
        self, namespace: str, name: str, obj: Mapping[str, Any]
    ) -> tuple[int, dict[str, Any] | str]:
        """PUT: ``(200, stored)``, or ``(404 | 409 | 400, message)``."""
        with self._locked() as data:
            key = f"{namespace}/{name}"
            current = data["items"].get(key)
            if current is None:
                return 404, f'configmaps "{name}" not found'
            meta = dict(obj.get("metadata") or {})
            if meta.get("name") not in (None, name):
                return 400, "the name of the object does not match the name on the URL"
            wanted = meta.get("resourceVersion")
            if wanted and wanted != current["metadata"]["resourceVersion"]:
                return 409, CONFLICT_MESSAGE.format(name=name)
            data["revision"] += 1
            kept = current["metadata"]
            meta.update(
                name=name,
                namespace=namespace,
                uid=kept["uid"],
                creationTimestamp=kept["creationTimestamp"],
                resourceVersion=str(data["revision"]),
            )
            item = {"kind": "ConfigMap", "apiVersion": "v1", **obj, "metadata": meta}
            data["items"][key] = item
            return 200, dict(item)


def _uid(revision: int) -> str:
    text = f"{revision:032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"
