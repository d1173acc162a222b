"""The lab's Ansible inventory and the Host objects deployer builds from it.

Flags are kubeadm's for a stacked control-plane node, with two lab differences: etcd is reached
on the node's own address (nodes share one machine, so 127.0.0.1 would be the same etcd for
all), and no ``--bind-address`` is set (the apiserver stand-in then listens on the advertise
address, as agreed with its helper).
"""

from __future__ import annotations

import getpass
from types import MappingProxyType

import yaml

from deployer.lab.atomic import write_atomic
from deployer.lab.layout import (
    APISERVER_PORT,
    ETCD_CLIENT_PORT,
    SSH_PORT,
    LabLayout,
    NodeLayout,
)
from deployer.model.host import Host

__all__ = ["apiserver_flags", "lab_hosts", "lab_inventory_text", "node_vars", "write_inventory"]

_PKI = "/etc/kubernetes/pki"


def apiserver_flags(node: NodeLayout) -> dict[str, str]:
    """Return kubeadm's kube-apiserver flags for ``node`` (names without dashes)."""
    return {
        "advertise-address": node.ip,
        "allow-privileged": "true",
        "authorization-mode": "Node,RBAC",
        "client-ca-file": f"{_PKI}/ca.crt",
        "enable-admission-plugins": "NodeRestriction",
        "enable-bootstrap-token-auth": "true",
        "etcd-cafile": f"{_PKI}/etcd/ca.crt",
        "etcd-certfile": f"{_PKI}/apiserver-etcd-client.crt",
        "etcd-keyfile": f"{_PKI}/apiserver-etcd-client.key",
        "etcd-servers": f"https://{node.ip}:{ETCD_CLIENT_PORT}",
        "kubelet-client-certificate": f"{_PKI}/apiserver-kubelet-client.crt",
        "kubelet-client-key": f"{_PKI}/apiserver-kubelet-client.key",
        "kubelet-preferred-address-types": "InternalIP,ExternalIP,Hostname",
        "proxy-client-cert-file": f"{_PKI}/front-proxy-client.crt",
        "proxy-client-key-file": f"{_PKI}/front-proxy-client.key",
        "requestheader-allowed-names": "front-proxy-client",
        "requestheader-client-ca-file": f"{_PKI}/front-proxy-ca.crt",
        "requestheader-extra-headers-prefix": "X-Remote-Extra-",
        "requestheader-group-headers": "X-Remote-Group",
        "requestheader-username-headers": "X-Remote-User",
        "secure-port": str(APISERVER_PORT),
        "service-account-issuer": "https://kubernetes.default.svc.cluster.local",
        "service-account-key-file": f"{_PKI}/sa.pub",
        "service-account-signing-key-file": f"{_PKI}/sa.key",
        "service-cluster-ip-range": "10.96.0.0/12",
        "tls-cert-file": f"{_PKI}/apiserver.crt",
        "tls-private-key-file": f"{_PKI}/apiserver.key",
    }


def node_vars(layout: LabLayout, node: NodeLayout, kubernetes_version: str) -> dict[str, object]:
    """Return every inventory variable of one lab node."""
    return {
        "ansible_host": node.ip,
        "ansible_port": SSH_PORT,
        "ansible_user": getpass.getuser(),
        "ansible_ssh_private_key_file": str(layout.client_key),
        "ssh_known_hosts_file": str(layout.known_hosts),
        "host_root": str(node.root),
        "crictl": str(node.crictl),
        "kubelet_check": [str(node.kubelet_check)],
        "kubernetes_version": kubernetes_version,
        "soak_seconds": 2,
        "restart_timeout": 60,
        "ready_timeout": 60,
        "apiserver_flags": apiserver_flags(node),
    }


def lab_inventory_text(layout: LabLayout, kubernetes_version: str) -> str:
    """Return the inventory YAML (group ``control_plane``, every variable on its host)."""
    hosts = {n.name: node_vars(layout, n, kubernetes_version) for n in layout.nodes}
    document = {"all": {"children": {"control_plane": {"hosts": hosts}}}}
    header = (
        "# The embedded lab's inventory, written by `deployer lab up`.\n"
        "# Try: deployer plan -i " + str(layout.inventory_file) + "\n"
    )
    return header + yaml.safe_dump(document, sort_keys=False, default_flow_style=False)


def write_inventory(layout: LabLayout, kubernetes_version: str) -> None:
    """Write ``D/inventory.yml`` atomically."""
    write_atomic(layout.inventory_file, lab_inventory_text(layout, kubernetes_version).encode())


def lab_hosts(layout: LabLayout, kubernetes_version: str) -> list[Host]:
    """Return the lab's hosts as the inventory loader would build them."""
    return [
        Host(
            name=node.name,
            address=node.ip,
            port=SSH_PORT,
            user=getpass.getuser(),
            groups=frozenset({"all", "control_plane"}),
            vars=MappingProxyType(node_vars(layout, node, kubernetes_version)),
        )
        for node in layout.nodes
    ]
