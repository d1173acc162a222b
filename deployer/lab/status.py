"""What a lab is doing: every node's processes, addresses, containers and health."""

from __future__ import annotations

from dataclasses import dataclass

from deployer.lab.faults import read_faults
from deployer.lab.health import etcd_health, port_open, readyz
from deployer.lab.kubelet.records import CONTAINER_RUNNING, load_state
from deployer.lab.layout import APISERVER_PORT, ETCD_CLIENT_PORT, SSH_PORT, LabLayout, NodeLayout
from deployer.lab.procs import is_running
from deployer.lab.records_file import LabRecord

__all__ = ["LabStatus", "NodeStatus", "ProcessStatus", "lab_status_of"]


@dataclass(frozen=True, slots=True)
class ProcessStatus:
    """One process of a node."""

    role: str
    pid: int
    is_running: bool
    #: For containers: the container id (64 hex); empty otherwise.
    container_id: str = ""
    #: For containers: kubelet's restart count.
    restart_count: int = 0


@dataclass(frozen=True, slots=True)
class NodeStatus:
    """One node: addresses, processes, health, active faults."""

    name: str
    ip: str
    root: str
    processes: tuple[ProcessStatus, ...]
    is_ssh_up: bool
    is_etcd_healthy: bool
    #: HTTP status of ``/readyz`` (0 = no answer).
    readyz_status: int
    faults: tuple[str, ...]

    @property
    def is_ready(self) -> bool:
        """Everything answers and the apiserver is ready."""
        return self.is_ssh_up and self.is_etcd_healthy and self.readyz_status == 200

    def to_json(self) -> dict[str, object]:
        """The node as ``lab status --json`` prints it."""
        return {
            "name": self.name,
            "addresses": {
                "ssh": f"{self.ip}:{SSH_PORT}",
                "apiserver": f"https://{self.ip}:{APISERVER_PORT}",
                "etcd": f"https://{self.ip}:{ETCD_CLIENT_PORT}",
            },
            "host_root": self.root,
            "processes": [
                {
                    "role": p.role,
                    "pid": p.pid,
                    "running": p.is_running,
                    **({"container_id": p.container_id} if p.container_id else {}),
                    **({"restart_count": p.restart_count} if p.container_id else {}),
                }
                for p in self.processes
            ],
            "health": {
                "sshd": self.is_ssh_up,
                "etcd": self.is_etcd_healthy,
                "readyz": self.readyz_status,
                "ready": self.is_ready,
            },
            "faults": list(self.faults),
        }


@dataclass(frozen=True, slots=True)
class LabStatus:
    """The whole lab."""

    root: str
    inventory: str
    kubernetes_version: str
    nodes: tuple[NodeStatus, ...]
    #: ``lab up`` found the lab already running and changed nothing.
    was_already_up: bool = False

    @property
    def is_ready(self) -> bool:
        """Every node is ready."""
        return bool(self.nodes) and all(n.is_ready for n in self.nodes)

    def to_json(self) -> dict[str, object]:
        """The lab as ``lab status --json`` prints it."""
        return {
            "lab": self.root,
            "inventory": self.inventory,
            "kubernetes_version": self.kubernetes_version,
            "ready": self.is_ready,
            "nodes": [n.to_json() for n in self.nodes],
        }


def _node_status(node: NodeLayout, record: LabRecord) -> NodeStatus:
    processes = [
        ProcessStatus(role, p.pid, is_running(p))
        for role, p in sorted(record.processes.get(node.name, {}).items())
    ]
    try:
        state = load_state(node.kubelet_state)
    except ValueError:
        state = None
    for container in state.containers if state else []:
        if container.state == CONTAINER_RUNNING:
            processes.append(
                ProcessStatus(
                    f"container:{container.name}",
                    container.pid,
                    container.pid > 0,
                    container.id,
                    container.attempt,
                )
            )
    faults = tuple(name for name, on in read_faults(node.faults_file).items() if on)
    return NodeStatus(
        name=node.name,
        ip=node.ip,
        root=str(node.root),
        processes=tuple(processes),
        is_ssh_up=port_open(node.ip, SSH_PORT),
        is_etcd_healthy=etcd_health(node, timeout_s=1.0).ok,
        readyz_status=readyz(node, timeout_s=1.0).status,
        faults=faults,
    )


def lab_status_of(
    layout: LabLayout, record: LabRecord, *, was_already_up: bool = False
) -> LabStatus:
    """Probe every node of the lab."""
    return LabStatus(
        root=str(layout.root),
        inventory=str(layout.inventory_file),
        kubernetes_version=record.settings.kubernetes_version,
        nodes=tuple(_node_status(n, record) for n in layout.nodes),
        was_already_up=was_already_up,
    )
