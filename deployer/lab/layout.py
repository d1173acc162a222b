"""Where everything of a lab lives: node names, addresses, ports and folders.

Why one module: the orchestrator, the kubelet and crictl stand-ins, the inventory and the tests
must agree on every path and address; computing them in one place keeps them from drifting.
A node's folder is that node's ``/`` (the inventory's ``host_root``), so paths below it keep
kubeadm's real names.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path

from deployer.errors import InputError

__all__ = [
    "APISERVER_PORT",
    "ETCD_CLIENT_PORT",
    "ETCD_PEER_PORT",
    "FIRST_ADDRESS",
    "SSH_PORT",
    "LabLayout",
    "NodeLayout",
    "lab_layout",
    "node_name",
]

SSH_PORT = 2222
APISERVER_PORT = 6443
ETCD_CLIENT_PORT = 2379
ETCD_PEER_PORT = 2380
#: Node 1's address; node i gets the i-th address from here.
FIRST_ADDRESS = "127.0.10.1"
_LOOPBACK = ipaddress.ip_network("127.0.0.0/8")


def node_name(index: int) -> str:
    """Return the name of node ``index`` (1-based): ``lab-cp1``, ``lab-cp2``..."""
    return f"lab-cp{index}"


@dataclass(frozen=True, slots=True)
class NodeLayout:
    """One simulated control-plane node: its name, address and folder."""

    name: str
    ip: str
    #: The node's ``/`` (absolute).
    root: Path

    def path(self, host_path: str) -> Path:
        """Map a host path (``/etc/kubernetes/pki``) into the node folder."""
        return self.root / host_path.lstrip("/")

    @property
    def manifests_dir(self) -> Path:
        """Kubelet's staticPodPath."""
        return self.path("/etc/kubernetes/manifests")

    @property
    def pki_dir(self) -> Path:
        """Kubeadm's certificate folder."""
        return self.path("/etc/kubernetes/pki")

    @property
    def admin_conf(self) -> Path:
        """The cluster-admin kubeconfig for this node's apiserver."""
        return self.path("/etc/kubernetes/admin.conf")

    @property
    def kubelet_state(self) -> Path:
        """The kubelet stand-in's state (pods, containers), read by crictl."""
        return self.path("/var/lib/kubelet/state.json")

    @property
    def etcd_data_dir(self) -> Path:
        """Etcd's data folder."""
        return self.path("/var/lib/etcd")

    @property
    def crictl(self) -> Path:
        """The crictl stand-in script on this node."""
        return self.path("/bin/crictl")

    @property
    def kubelet_check(self) -> Path:
        """The script the inventory's ``kubelet_check`` runs (exit 0: kubelet runs)."""
        return self.path("/bin/kubelet-check")

    @property
    def faults_file(self) -> Path:
        """The fault switches the stand-ins read."""
        return self.path("/lab/faults.json")

    @property
    def lab_dir(self) -> Path:
        """Lab-only files of this node (sshd config, process logs), outside kubeadm's tree."""
        return self.path("/lab")

    @property
    def sshd_dir(self) -> Path:
        """This node's sshd configuration and host key."""
        return self.lab_dir / "sshd"

    @property
    def session_home(self) -> Path:
        """``HOME`` of SSH sessions (keeps the machine's own shell rc files out)."""
        return self.lab_dir / "home"

    def process_log(self, role: str) -> Path:
        """Where the lab keeps the stdout/stderr of one of the node's processes."""
        return self.path(f"/var/log/lab/{role}.log")


@dataclass(frozen=True, slots=True)
class LabLayout:
    """The whole lab: its folder and its nodes, in order."""

    root: Path
    nodes: tuple[NodeLayout, ...]

    @property
    def state_file(self) -> Path:
        """``lab.json``: every process the lab started, with its start time."""
        return self.root / "lab.json"

    @property
    def inventory_file(self) -> Path:
        """The Ansible inventory deployer is run with."""
        return self.root / "inventory.yml"

    @property
    def ssh_dir(self) -> Path:
        """The client key and known_hosts."""
        return self.root / "ssh"

    @property
    def client_key(self) -> Path:
        """The one private key that logs in to every node."""
        return self.ssh_dir / "id_ed25519"

    @property
    def known_hosts(self) -> Path:
        """Every node's host key, for strict host key checking."""
        return self.ssh_dir / "known_hosts"

    @property
    def lock_file(self) -> Path:
        """Serializes ``lab up``/``down``/``fault`` on one lab."""
        return self.root / ".lab.lock"

    def node(self, name: str) -> NodeLayout:
        """Return the node called ``name``.

        Raises:
            InputError: the lab has no such node.
        """
        for node in self.nodes:
            if node.name == name:
                return node
        known = ", ".join(n.name for n in self.nodes)
        raise InputError(f"the lab has no node {name!r} (nodes: {known})")


def lab_layout(root: Path, count: int, first_address: str = FIRST_ADDRESS) -> LabLayout:
    """Compute the layout of a lab of ``count`` nodes from ``first_address`` on.

    Raises:
        InputError: fewer than one node, or addresses that leave 127.0.0.0/8.
    """
    if count < 1:
        raise InputError(f"a lab needs at least one node, got {count}")
    try:
        first = ipaddress.ip_address(first_address)
    except ValueError as exc:
        raise InputError(f"--first-address: {exc}") from exc
    last = first + (count - 1) if first.version == 4 and int(first) + count - 1 < 2**32 else None
    if first not in _LOOPBACK or last is None or last not in _LOOPBACK:
        raise InputError(
            f"lab addresses {first_address} + {count} nodes leave the loopback range",
            hint="lab nodes live on 127.0.0.0/8 only, e.g. --first-address 127.0.10.1",
        )
    absolute = root.resolve()
    nodes = tuple(
        NodeLayout(node_name(i), str(first + (i - 1)), absolute / node_name(i))
        for i in range(1, count + 1)
    )
    return LabLayout(absolute, nodes)
