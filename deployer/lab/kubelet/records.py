"""The kubelet stand-in's state (pod sandboxes, containers, back-off), shared with crictl.

Why a file: real crictl asks containerd, which keeps answering while kubelet is stopped, and a
restarted kubelet adopts the containers containerd still runs. Here the kubelet writes this
state atomically after every change (``var/lib/kubelet/state.json``) and crictl only reads it.
Times are nanoseconds since the epoch, as CRI carries them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

from deployer.lab.atomic import write_json_atomic

__all__ = [
    "CONTAINER_CREATED",
    "CONTAINER_EXITED",
    "CONTAINER_RUNNING",
    "CONTAINER_UNKNOWN",
    "SANDBOX_NOTREADY",
    "SANDBOX_READY",
    "BackoffEntry",
    "ContainerRecord",
    "KubeletState",
    "SandboxRecord",
    "image_id",
    "image_ref",
    "load_state",
    "save_state",
]

CONTAINER_CREATED = "CONTAINER_CREATED"
CONTAINER_RUNNING = "CONTAINER_RUNNING"
CONTAINER_EXITED = "CONTAINER_EXITED"
CONTAINER_UNKNOWN = "CONTAINER_UNKNOWN"
SANDBOX_READY = "SANDBOX_READY"
SANDBOX_NOTREADY = "SANDBOX_NOTREADY"


@dataclass(frozen=True, slots=True)
class SandboxRecord:
    """A pod sandbox (one per static pod UID)."""

    id: str
    uid: str
    name: str
    namespace: str
    attempt: int
    state: str
    created_at_ns: int
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    #: The manifest file (node path) that defined the pod.
    source: str


@dataclass(frozen=True, slots=True)
class ContainerRecord:
    """A container: one run of a pod's container, as containerd would report it."""

    id: str
    sandbox_id: str
    pod_uid: str
    pod_name: str
    namespace: str
    name: str
    attempt: int
    image: str
    command: tuple[str, ...]
    args: tuple[str, ...]
    envs: tuple[tuple[str, str], ...]
    #: ``{"containerPath", "hostPath", "readonly"}``; hostPath as on the node (``/etc/...``).
    mounts: tuple[Mapping[str, object], ...]
    state: str
    created_at_ns: int
    started_at_ns: int
    finished_at_ns: int
    exit_code: int
    reason: str
    message: str
    #: The process (0 when not running) and its ``/proc`` start time.
    pid: int
    pid_start_time: int
    #: The CRI log file, as a node path (``/var/log/pods/...``).
    log_path: str
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    #: The FIFOs holding the container's stdout and stderr (node paths).
    stdout_fifo: str = ""
    stderr_fifo: str = ""
    #: The argv really executed (containerd's ``runtimeSpec.process.args``).
    process_args: tuple[str, ...] = ()
    #: Set when kubelet asked the container to stop (removal or replacement, not a crash).
    is_stop_requested: bool = False


@dataclass(frozen=True, slots=True)
class BackoffEntry:
    """kubelet's crash-loop back-off for one pod container (``flowcontrol.Backoff``)."""

    backoff_s: float
    #: Wall-clock time of the last restart (seconds since the epoch).
    last_update: float


@dataclass(slots=True)
class KubeletState:
    """Everything crictl can list, plus the back-off kubelet must not forget on restart."""

    sandboxes: list[SandboxRecord] = field(default_factory=list)
    containers: list[ContainerRecord] = field(default_factory=list)
    #: ``<pod uid>/<container name>`` -> back-off.
    backoff: dict[str, BackoffEntry] = field(default_factory=dict)

    def sandbox(self, sandbox_id: str) -> SandboxRecord | None:
        """Return the sandbox with this id, if any."""
        return next((s for s in self.sandboxes if s.id == sandbox_id), None)


def image_id(image: str) -> str:
    """Return a stable image id (``sha256:<hex>``) for an image reference."""
    import hashlib  # here, not at the top: it loads OpenSSL, 4 MB in every kubelet

    return "sha256:" + hashlib.sha256(f"id:{image}".encode()).hexdigest()


def image_ref(image: str) -> str:
    """Return the repo digest containerd reports as ``imageRef`` (``repo@sha256:<hex>``)."""
    import hashlib

    repo = image.rsplit(":", 1)[0] if ":" in image.rsplit("/", 1)[-1] else image
    return f"{repo}@sha256:" + hashlib.sha256(f"digest:{image}".encode()).hexdigest()


def _container_from(raw: Mapping[str, object]) -> ContainerRecord:
    data = dict(raw)
    for key in ("command", "args", "process_args"):
        data[key] = tuple(data.get(key, ()))  # type: ignore[arg-type]
    data["envs"] = tuple(tuple(pair) for pair in data.get("envs", ()))  # type: ignore[attr-defined]
    data["mounts"] = tuple(data.get("mounts", ()))  # type: ignore[arg-type]
    return ContainerRecord(**data)  # type: ignore[arg-type]


def load_state(path: Path) -> KubeletState:
    """Read the state file; an absent file is an empty state.

    Raises:
        ValueError: the file exists but is not a state file.
    """
    try:
        raw = json.loads(path.read_text())
    except FileNotFoundError:
        return KubeletState()
    return KubeletState(
        sandboxes=[SandboxRecord(**s) for s in raw.get("sandboxes", [])],
        containers=[_container_from(c) for c in raw.get("containers", [])],
        backoff={k: BackoffEntry(**v) for k, v in raw.get("backoff", {}).items()},
    )


def save_state(path: Path, state: KubeletState) -> None:
    """Write the state file atomically (crictl may read it at any moment)."""
    write_json_atomic(
        path,
        {
            "sandboxes": [asdict(s) for s in state.sandboxes],
            "containers": [asdict(c) for c in state.containers],
            "backoff": {k: asdict(v) for k, v in state.backoff.items()},
        },
    )
