"""What crictl prints for containers and pod sandboxes (crictl v1.31, containerd 1.7): pure.

Shapes (see the lab's docs for the sources): ``ps -o json`` keeps protobuf field order with
nanosecond times as strings; ``inspect`` re-marshals through Go maps, so every key is sorted and
times are RFC 3339; ``info.config`` is snake_case with zero values omitted; tables are
``text/tabwriter`` with a minimum width of 20 and padding 3.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from deployer.lab.kubelet.records import (
    CONTAINER_CREATED,
    CONTAINER_EXITED,
    CONTAINER_UNKNOWN,
    ContainerRecord,
    SandboxRecord,
    image_id,
    image_ref,
)
from deployer.lab.timefmt import ZERO_TIME, rfc3339_nano

__all__ = [
    "container_json",
    "containers_table",
    "go_json",
    "human_duration",
    "inspect_json",
    "sandbox_json",
    "sandboxes_table",
]

_STATE_WORDS = {
    "CONTAINER_CREATED": "Created",
    "CONTAINER_RUNNING": "Running",
    "CONTAINER_EXITED": "Exited",
    "CONTAINER_UNKNOWN": "Unknown",
    "SANDBOX_READY": "Ready",
    "SANDBOX_NOTREADY": "NotReady",
}


def go_json(value: object, *, sort_keys: bool) -> str:
    """Serialize like Go's ``encoding/json`` + ``json.Indent`` (``<``, ``>``, ``&`` escaped)."""
    text = json.dumps(value, indent=2, sort_keys=sort_keys, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def container_json(record: ContainerRecord) -> dict[str, object]:
    """One entry of ``crictl ps -o json``, keys in protobuf order."""
    return {
        "id": record.id,
        "podSandboxId": record.sandbox_id,
        "metadata": {"name": record.name, "attempt": record.attempt},
        "image": {
            "image": image_id(record.image),
            "annotations": {},
            "userSpecifiedImage": "",
            "runtimeHandler": "",
        },
        "imageRef": image_id(record.image),
        "state": record.state,
        "createdAt": str(record.created_at_ns),
        "labels": dict(sorted(record.labels.items())),
        "annotations": dict(sorted(record.annotations.items())),
        "imageId": "",
    }


def sandbox_json(record: SandboxRecord) -> dict[str, object]:
    """One entry of ``crictl pods -o json``, keys in protobuf order."""
    return {
        "id": record.id,
        "metadata": {
            "name": record.name,
            "uid": record.uid,
            "namespace": record.namespace,
            "attempt": record.attempt,
        },
        "state": record.state,
        "createdAt": str(record.created_at_ns),
        "labels": dict(sorted(record.labels.items())),
        "annotations": dict(sorted(record.annotations.items())),
        "runtimeHandler": "",
    }


def _command_line(record: ContainerRecord) -> list[str]:
    command = list(record.command)
    if not command and "kube-apiserver" in record.image:
        command = ["kube-apiserver"]
    return command + list(record.args)


def _status(record: ContainerRecord) -> dict[str, object]:
    created = record.state == CONTAINER_CREATED
    finished = record.state == CONTAINER_EXITED or (
        record.state == CONTAINER_UNKNOWN and record.finished_at_ns > 0
    )
    return {
        "annotations": dict(record.annotations),
        "createdAt": rfc3339_nano(record.created_at_ns),
        "exitCode": record.exit_code,
        "finishedAt": rfc3339_nano(record.finished_at_ns) if finished else ZERO_TIME,
        "id": record.id,
        "image": {
            "annotations": {},
            "image": record.image,
            "runtimeHandler": "",
            "userSpecifiedImage": "",
        },
        "imageId": "",
        "imageRef": image_ref(record.image),
        "labels": dict(record.labels),
        "logPath": record.log_path,
        "message": record.message,
        "metadata": {"attempt": record.attempt, "name": record.name},
        "mounts": [
            {
                "containerPath": m["containerPath"],
                "gidMappings": [],
                "hostPath": m["hostPath"],
                "propagation": "PROPAGATION_PRIVATE",
                "readonly": bool(m["readonly"]),
                "recursiveReadOnly": False,
                "selinuxRelabel": False,
                "uidMappings": [],
            }
            for m in record.mounts
        ],
        "reason": record.reason,
        "resources": {
            "linux": {
                "cpuPeriod": "100000",
                "cpuQuota": "0",
                "cpuShares": "256",
                "cpusetCpus": "",
                "cpusetMems": "",
                "hugepageLimits": [],
                "memoryLimitInBytes": "0",
                "memorySwapLimitInBytes": "0",
                "oomScoreAdj": "-997",
                "unified": {},
            }
        },
        "startedAt": ZERO_TIME if created else rfc3339_nano(record.started_at_ns),
        "state": record.state,
        "user": None,
    }


def _config(record: ContainerRecord) -> dict[str, object]:
    """``info.config``: the CRI ContainerConfig as Go's encoding/json writes it (omitempty)."""
    metadata: dict[str, object] = {"name": record.name}
    if record.attempt:
        metadata["attempt"] = record.attempt
    config: dict[str, object] = {
        "annotations": dict(record.annotations),
        "envs": [{"key": k, "value": v} for k, v in record.envs],
        "image": {"image": image_id(record.image)},
        "labels": dict(record.labels),
        "linux": {
            "resources": {"cpu_period": 100000, "cpu_shares": 256, "oom_score_adj": -997},
            "security_context": {"namespace_options": {"network": 2, "pid": 1}},
        },
        "log_path": f"{record.name}/{record.attempt}.log",
        "metadata": metadata,
        "mounts": [
            {
                "container_path": m["containerPath"],
                "host_path": m["hostPath"],
                **({"readonly": True} if m["readonly"] else {}),
            }
            for m in record.mounts
        ],
    }
    if record.command:
        config["command"] = list(record.command)
    if record.args:
        config["args"] = list(record.args)
    if not record.envs:
        del config["envs"]
    return config


def inspect_json(
    record: ContainerRecord, sandbox: SandboxRecord | None, *, is_quiet: bool
) -> dict[str, object]:
    """``crictl inspect ID`` for one container (``-q``: ``status`` only)."""
    status = _status(record)
    if is_quiet:
        return {"status": status}
    sandbox_name = sandbox.name if sandbox else record.pod_name
    info: dict[str, object] = {
        "config": _config(record),
        "pid": record.pid,
        "removing": False,
        "runtimeOptions": {"systemd_cgroup": True},
        "runtimeSpec": {
            "annotations": {
                "io.kubernetes.cri.container-name": record.name,
                "io.kubernetes.cri.container-type": "container",
                "io.kubernetes.cri.image-name": record.image,
                "io.kubernetes.cri.sandbox-id": record.sandbox_id,
                "io.kubernetes.cri.sandbox-name": sandbox_name,
                "io.kubernetes.cri.sandbox-namespace": record.namespace,
                "io.kubernetes.cri.sandbox-uid": record.pod_uid,
            },
            "linux": {
                "cgroupsPath": f"kubepods-burstable-pod{record.pod_uid}.slice:cri-containerd:"
                f"{record.id}"
            },
            "ociVersion": "1.1.0",
            "process": {
                "args": _command_line(record),
                "cwd": "/",
                "env": [
                    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                    *(f"{k}={v}" for k, v in record.envs),
                ],
                "oomScoreAdj": -997,
                "user": {"gid": 0, "uid": 0},
            },
            "root": {"path": "rootfs"},
        },
        "runtimeType": "io.containerd.runc.v2",
        "sandboxID": record.sandbox_id,
        "snapshotKey": record.id,
        "snapshotter": "overlayfs",
    }
    return {"info": info, "status": status}


def human_duration(seconds: float) -> str:
    """docker/go-units ``HumanDuration`` (what crictl's CREATED column shows, plus " ago")."""
    if seconds < 1:
        return "Less than a second"
    if seconds < 2:
        return "1 second"
    minutes, hours = seconds / 60, seconds / 3600
    if minutes < 1:
        return f"{int(seconds)} seconds"
    if round(minutes) == 1:
        return "About a minute"
    if minutes < 60:
        return f"{int(minutes)} minutes"
    if round(hours) == 1:
        return "About an hour"
    if hours < 48:
        return f"{int(hours)} hours"
    if hours < 24 * 7 * 2:
        return f"{int(hours / 24)} days"
    if hours < 24 * 30 * 2:
        return f"{int(hours / 24 / 7)} weeks"
    if hours < 24 * 365 * 2:
        return f"{int(hours / 24 / 30)} months"
    return f"{int(hours / 24 / 365)} years"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(20, *(len(r[i]) + 3 for r in [header, *rows])) for i in range(len(header) - 1)]
    lines = []
    for row in [header, *rows]:
        cells = [cell.ljust(widths[i]) for i, cell in enumerate(row[:-1])]
        lines.append("".join(cells) + row[-1])
    return "\n".join(lines) + "\n"


def containers_table(records: Sequence[ContainerRecord], *, now_ns: int, no_trunc: bool) -> str:
    """``crictl ps`` in table form."""

    def cut(text: str) -> str:
        return text if no_trunc else text[:13]

    rows = [
        [
            cut(r.id),
            cut(image_id(r.image).removeprefix("sha256:")),
            human_duration((now_ns - r.created_at_ns) / 1e9) + " ago",
            _STATE_WORDS.get(r.state, r.state),
            r.name,
            str(r.attempt),
            cut(r.sandbox_id),
            r.labels.get("io.kubernetes.pod.name", "unknown"),
        ]
        for r in records
    ]
    header = ["CONTAINER", "IMAGE", "CREATED", "STATE", "NAME", "ATTEMPT", "POD ID", "POD"]
    return _table(header, rows)


def sandboxes_table(records: Sequence[SandboxRecord], *, now_ns: int, no_trunc: bool) -> str:
    """``crictl pods`` in table form."""
    rows = [
        [
            r.id if no_trunc else r.id[:13],
            human_duration((now_ns - r.created_at_ns) / 1e9) + " ago",
            _STATE_WORDS.get(r.state, r.state),
            r.name,
            r.namespace,
            str(r.attempt),
            "(default)",
        ]
        for r in records
    ]
    header = ["POD ID", "CREATED", "STATE", "NAME", "NAMESPACE", "ATTEMPT", "RUNTIME"]
    return _table(header, rows)
