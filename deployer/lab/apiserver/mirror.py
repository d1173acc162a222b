"""Serve the static pod's mirror pod from the kubelet stand-in's state file.

Why: kubeadm (and the tool, per DESIGN rule 4) proves a restart through the API by reading the
mirror pod ``kube-system/kube-apiserver-<node>`` and comparing ``kubernetes.io/config.hash``;
``restartCount`` and ``containerStatuses[].containerID`` show crash restarts. A real apiserver
serves what kubelet wrote to etcd; the lab's apiserver reads the same facts from kubelet's state
(``<node root>/var/lib/kubelet/state.json``) when asked, so the two views never disagree.

The shape follows ``crictl-and-mirror-pod.md`` section 8 (trimmed as its example is): a mirror
pod's ``metadata.uid`` is a UUID the apiserver chose (here derived from the config hash, so it
changes exactly when kubelet would re-create the mirror pod), annotations gain
``kubernetes.io/config.mirror``, times are RFC 3339 UTC whole seconds.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path

__all__ = ["mirror_pods"]

_SANDBOX_READY = "SANDBOX_READY"
_RUNNING = "CONTAINER_RUNNING"
_EXITED = "CONTAINER_EXITED"


def mirror_pods(
    state_file: Path, node_name: str, node_ip: str, ready: Mapping[str, bool]
) -> list[dict[str, object]]:
    """Return the mirror pods of the node's running static pods, newest sandbox per pod name.

    Args:
        state_file: the kubelet stand-in's ``state.json``.
        node_name: the node (``ownerReferences``, ``spec.nodeName``).
        node_ip: ``hostIP``/``podIP`` (host network).
        ready: container name -> readiness (the apiserver knows its own ``/readyz``).
    """
    try:
        state = json.loads(state_file.read_text())
    except (OSError, ValueError):
        return []
    sandboxes = [s for s in state.get("sandboxes", []) if s.get("state") == _SANDBOX_READY]
    newest: dict[tuple[str, str], dict[str, object]] = {}
    for sandbox in sorted(sandboxes, key=lambda s: int(s.get("created_at_ns", 0))):
        newest[(str(sandbox.get("namespace")), str(sandbox.get("name")))] = sandbox
    containers = state.get("containers", [])
    return [
        _pod(sandbox, containers, node_name, node_ip, ready)
        for _key, sandbox in sorted(newest.items())
    ]


def _pod(
    sandbox: Mapping[str, object],
    containers: Sequence[Mapping[str, object]],
    node_name: str,
    node_ip: str,
    ready: Mapping[str, bool],
) -> dict[str, object]:
    uid = str(sandbox.get("uid", ""))
    labels = {
        k: v
        for k, v in _mapping(sandbox.get("labels")).items()
        if not k.startswith("io.kubernetes.")
    }
    annotations = dict(_mapping(sandbox.get("annotations")))
    config_hash = annotations.get("kubernetes.io/config.hash", uid)
    annotations["kubernetes.io/config.mirror"] = config_hash
    mine = [c for c in containers if c.get("sandbox_id") == sandbox.get("id")]
    by_name: dict[str, list[Mapping[str, object]]] = {}
    for container in sorted(mine, key=lambda c: int(str(c.get("created_at_ns", 0)))):
        by_name.setdefault(str(container.get("name")), []).append(container)
    created = _rfc3339(int(str(sandbox.get("created_at_ns", 0))))
    statuses = [_container_status(runs, ready.get(name, False)) for name, runs in by_name.items()]
    spec_containers = []
    for runs in by_name.values():
        current = runs[-1]
        entry: dict[str, object] = {"name": current.get("name"), "image": current.get("image")}
        if current.get("command"):
            entry["command"] = list(_strings(current.get("command")))
        if current.get("args"):
            entry["args"] = list(_strings(current.get("args")))
        spec_containers.append(entry)
    all_ready = bool(statuses) and all(bool(s["ready"]) for s in statuses)
    running = any("running" in _mapping(s["state"]) for s in statuses)
    condition_time = created
    return {
        "kind": "Pod",
        "apiVersion": "v1",
        "metadata": {
            "name": sandbox.get("name"),
            "namespace": sandbox.get("namespace"),
            "uid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"mirror/{node_name}/{config_hash}")),
            "resourceVersion": str(int(str(sandbox.get("created_at_ns", 0))) // 1_000_000),
            "creationTimestamp": created,
            "labels": dict(sorted(labels.items())),
            "annotations": dict(sorted(annotations.items())),
            "ownerReferences": [
                {
                    "apiVersion": "v1",
                    "kind": "Node",
                    "name": node_name,
                    "uid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"node/{node_name}")),
                    "controller": True,
                }
            ],
        },
        "spec": {
            "containers": spec_containers,
            "nodeName": node_name,
            "hostNetwork": True,
            "priorityClassName": "system-node-critical",
            "priority": 2000001000,
        },
        "status": {
            "phase": "Running" if running else "Pending",
            "conditions": [
                _condition("PodReadyToStartContainers", True, condition_time),
                _condition("Initialized", True, condition_time),
                _condition("Ready", all_ready, condition_time),
                _condition("ContainersReady", all_ready, condition_time),
                _condition("PodScheduled", True, condition_time),
            ],
            "hostIP": node_ip,
            "hostIPs": [{"ip": node_ip}],
            "podIP": node_ip,
            "podIPs": [{"ip": node_ip}],
            "startTime": created,
            "containerStatuses": statuses,
            "qosClass": "Burstable",
        },
    }


def _container_status(runs: Sequence[Mapping[str, object]], is_ready: bool) -> dict[str, object]:
    """Build kubelet's ``convertToAPIContainerStatuses`` answer for one container name."""
    current = runs[-1]
    previous = runs[-2] if len(runs) > 1 else None
    is_running = current.get("state") == _RUNNING
    if is_running:
        state: dict[str, object] = {
            "running": {"startedAt": _rfc3339(_ns(current, "started_at_ns"))}
        }
    elif current.get("state") == _EXITED:
        state = {"terminated": _terminated(current)}
    else:
        state = {"waiting": {"reason": "ContainerCreating"}}
    image = str(current.get("image", ""))
    return {
        "name": current.get("name"),
        "state": state,
        "lastState": {"terminated": _terminated(previous)} if previous is not None else {},
        "ready": is_running and is_ready,
        "restartCount": int(str(current.get("attempt", 0))),
        "image": image,
        "imageID": _image_id(image),
        "containerID": f"containerd://{current.get('id')}",
        "started": is_running,
    }


def _terminated(container: Mapping[str, object]) -> dict[str, object]:
    exit_code = int(str(container.get("exit_code", 0)))
    return {
        "exitCode": exit_code,
        "reason": str(container.get("reason") or ("Completed" if exit_code == 0 else "Error")),
        "startedAt": _rfc3339(_ns(container, "started_at_ns")),
        "finishedAt": _rfc3339(_ns(container, "finished_at_ns")),
        "containerID": f"containerd://{container.get('id')}",
    }


def _condition(kind: str, status: bool, when: str) -> dict[str, object]:
    return {
        "type": kind,
        "status": "True" if status else "False",
        "lastProbeTime": None,
        "lastTransitionTime": when,
    }


def _image_id(image: str) -> str:
    """Return containerd's ``imageRef`` shape ``repo@sha256:<64 hex>`` (a stable lab digest)."""
    repo = image.rsplit(":", 1)[0] if ":" in image.rsplit("/", 1)[-1] else image
    return f"{repo}@sha256:" + hashlib.sha256(f"digest:{image}".encode()).hexdigest()


def _ns(record: Mapping[str, object], key: str) -> int:
    return int(str(record.get(key, 0) or 0))


def _rfc3339(ns: int) -> str:
    stamp = datetime.datetime.fromtimestamp(ns / 1e9, tz=datetime.UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%SZ")


def _mapping(value: object) -> Mapping[str, str]:
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, Mapping) else {}


def _strings(value: object) -> tuple[str, ...]:
    return tuple(str(v) for v in value) if isinstance(value, list | tuple) else ()
