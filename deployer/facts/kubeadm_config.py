"""kubeadm's memory of the flags: ``kube-system/kubeadm-config`` compared with the inventory.

Why (DESIGN.md rule 13): ``kubeadm upgrade`` regenerates every control-plane manifest from the
``ClusterConfiguration`` in that ConfigMap: kubeadm's own flags, overridden by
``apiServer.extraArgs``, plus ``apiServer.extraVolumes``. A flag deployer set that is not there
is silently reverted by the next upgrade. Pure functions: parse, compare, and build the
updated ConfigMap (the PUT carries the ``resourceVersion`` that was read).

The two shapes (kubernetes/kubernetes ``cmd/kubeadm/app/apis/kubeadm/v1beta3/types.go`` and
``v1beta4/types.go``, ``ControlPlaneComponent``): ``extraArgs`` is a ``map[string]string`` in
``v1beta3`` and a list of ``{name, value}`` (``[]Arg``) in ``v1beta4``; ``extraVolumes`` is a
list of ``HostPathMount`` (``name, hostPath, mountPath, readOnly, pathType``) in both.

Which flags belong in ``extraArgs``: kubeadm writes its own set (``KUBEADM_FLAGS``, the
manifest of ``kubeadm init``; ``cmd/kubeadm/app/phases/controlplane/manifests.go``
``getAPIServerCommand``), so a flag the inventory sets to kubeadm's own constant value needs no
entry; any other flag, or another value, does. Flags kubeadm derives per node
(``advertise-address``, ``etcd-servers``) come from each node's Init/JoinConfiguration, not
from this ConfigMap, and are left out; a flag whose value differs from host to host cannot be
held by one ClusterConfiguration and is reported as such.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

__all__ = [
    "KUBEADM_FLAGS",
    "KubeadmConfig",
    "KubeadmConfigError",
    "compare",
    "desired_extra_args",
    "parse_config_map",
    "updated_config_map",
]

_PKI = "/etc/kubernetes/pki"
#: kubeadm's constant kube-apiserver flags (name -> value), from getAPIServerCommand.
KUBEADM_FLAGS: Mapping[str, str] = {
    "allow-privileged": "true",
    "authorization-mode": "Node,RBAC",
    "client-ca-file": f"{_PKI}/ca.crt",
    "enable-admission-plugins": "NodeRestriction",
    "enable-bootstrap-token-auth": "true",
    "etcd-cafile": f"{_PKI}/etcd/ca.crt",
    "etcd-certfile": f"{_PKI}/apiserver-etcd-client.crt",
    "etcd-keyfile": f"{_PKI}/apiserver-etcd-client.key",
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
    "secure-port": "6443",
    "service-account-issuer": "https://kubernetes.default.svc.cluster.local",
    "service-account-key-file": f"{_PKI}/sa.pub",
    "service-account-signing-key-file": f"{_PKI}/sa.key",
    "service-cluster-ip-range": "10.96.0.0/12",
    "tls-cert-file": f"{_PKI}/apiserver.crt",
    "tls-private-key-file": f"{_PKI}/apiserver.key",
}
#: Flags kubeadm derives per node (InitConfiguration / JoinConfiguration), never extraArgs.
PER_NODE_FLAGS = frozenset({"advertise-address", "etcd-servers"})


class KubeadmConfigError(ValueError):
    """The ConfigMap does not hold a ClusterConfiguration deployer can read."""


@dataclass(frozen=True, slots=True)
class KubeadmConfig:
    """What the ConfigMap says about kube-apiserver."""

    resource_version: str
    api_version: str
    extra_args: Mapping[str, str]
    extra_volumes: tuple[Mapping[str, Any], ...]
    #: The ConfigMap as read (for the backup and the update).
    config_map: Mapping[str, Any]


def parse_config_map(config_map: Mapping[str, Any]) -> KubeadmConfig:
    """Read ``apiServer.extraArgs`` / ``extraVolumes`` from a kubeadm-config ConfigMap.

    Raises:
        KubeadmConfigError: no ClusterConfiguration, or not one of the known shapes.
    """
    data = config_map.get("data")
    text = data.get("ClusterConfiguration") if isinstance(data, Mapping) else None
    if not isinstance(text, str):
        raise KubeadmConfigError("the ConfigMap has no data.ClusterConfiguration")
    try:
        config = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise KubeadmConfigError(f"ClusterConfiguration is not YAML: {exc}") from exc
    if not isinstance(config, Mapping) or config.get("kind") != "ClusterConfiguration":
        raise KubeadmConfigError("data.ClusterConfiguration is not a ClusterConfiguration")
    api_version = str(config.get("apiVersion", ""))
    api_server = config.get("apiServer") or {}
    raw_args = api_server.get("extraArgs") or {}
    if isinstance(raw_args, Mapping):  # v1beta3 (and older)
        extra_args = {str(k): str(v) for k, v in raw_args.items()}
    elif isinstance(raw_args, list):  # v1beta4: [{name, value}]; the last of a name wins
        extra_args = {str(a.get("name")): str(a.get("value", "")) for a in raw_args}
    else:
        raise KubeadmConfigError(f"apiServer.extraArgs has an unknown shape ({api_version})")
    volumes = api_server.get("extraVolumes") or []
    meta = config_map.get("metadata") or {}
    return KubeadmConfig(
        resource_version=str(meta.get("resourceVersion", "")),
        api_version=api_version,
        extra_args=extra_args,
        extra_volumes=tuple(v for v in volumes if isinstance(v, Mapping)),
        config_map=config_map,
    )


def desired_extra_args(
    flags_per_host: Sequence[Mapping[str, str]],
) -> tuple[dict[str, str], list[str]]:
    """The extraArgs the inventory implies, and the flags no ClusterConfiguration can hold."""
    names = sorted({n for flags in flags_per_host for n in flags} - PER_NODE_FLAGS)
    wanted: dict[str, str] = {}
    per_host: list[str] = []
    for name in names:
        values = {flags.get(name) for flags in flags_per_host}
        value = next(iter(values))
        if len(values) != 1 or value is None:
            per_host.append(name)
            continue
        if KUBEADM_FLAGS.get(name) != value:
            wanted[name] = value
    return wanted, per_host


def _volume(v: Mapping[str, Any]) -> tuple[Any, ...]:
    return (
        v.get("name"),
        v.get("hostPath"),
        v.get("mountPath"),
        bool(v.get("readOnly", False)),
        v.get("pathType") or "",
    )


def compare(
    config: KubeadmConfig,
    flags_per_host: Sequence[Mapping[str, str]],
    extra_volumes: Sequence[Mapping[str, Any]],
) -> list[str]:
    """What ``kubeadm upgrade`` would revert, one line per flag or volume."""
    wanted, per_host = desired_extra_args(flags_per_host)
    lines: list[str] = []
    have = config.extra_args
    for name in sorted(set(wanted) | set(have)):
        if name in PER_NODE_FLAGS or name in per_host:
            continue
        want = wanted.get(name, KUBEADM_FLAGS.get(name))
        got = have.get(name, KUBEADM_FLAGS.get(name))
        if want == got:
            continue
        if name not in have:
            lines.append(
                f"kubeadm-config: --{name} absent, deployer {want}: kubeadm upgrade would "
                f"{'drop it' if name not in KUBEADM_FLAGS else 'revert it'}"
            )
        elif want is None:
            lines.append(
                f"kubeadm-config: --{name} {got}, deployer has none: kubeadm upgrade would add it"
            )
        else:
            lines.append(
                f"kubeadm-config: --{name} {got}, deployer {want}: kubeadm upgrade would revert it"
            )
    present = {n for flags in flags_per_host for n in flags}
    lines.extend(
        f"kubeadm-config: --{name} is not in the inventory: kubeadm upgrade would add it "
        f"back ({KUBEADM_FLAGS[name]})"
        for name in sorted(set(KUBEADM_FLAGS) - present - set(have))
    )
    lines.extend(
        f"kubeadm-config: --{name} differs between hosts: one ClusterConfiguration cannot "
        "hold it (kubeadm upgrade would give every host the same value)"
        for name in per_host
        if name in have or name not in KUBEADM_FLAGS
    )
    want_volumes = {_volume(v) for v in extra_volumes}
    have_volumes = {_volume(v) for v in config.extra_volumes}
    for volume in sorted(want_volumes - have_volumes, key=str):
        lines.append(
            f"kubeadm-config: extraVolumes lacks {volume[0]} ({volume[1]} -> {volume[2]}): "
            "kubeadm upgrade would drop the mount"
        )
    for volume in sorted(have_volumes - want_volumes, key=str):
        lines.append(
            f"kubeadm-config: extraVolumes has {volume[0]} ({volume[1]}), deployer does not: "
            "kubeadm upgrade would add it"
        )
    return lines


def updated_config_map(
    config: KubeadmConfig,
    flags_per_host: Sequence[Mapping[str, str]],
    extra_volumes: Sequence[Mapping[str, Any]],
) -> dict[str, Any]:
    """The ConfigMap to PUT: extraArgs/extraVolumes as the inventory says, the rest as read.

    Carries the ``resourceVersion`` that was read, so a concurrent change gives a 409.
    """
    wanted, _ = desired_extra_args(flags_per_host)
    config_map = copy.deepcopy(dict(config.config_map))
    cluster = yaml.safe_load(config_map["data"]["ClusterConfiguration"])
    api_server = cluster.setdefault("apiServer", {}) or {}
    cluster["apiServer"] = api_server
    if wanted:
        api_server["extraArgs"] = (
            [{"name": k, "value": v} for k, v in sorted(wanted.items())]
            if config.api_version.endswith("v1beta4")
            else dict(sorted(wanted.items()))
        )
    else:
        api_server.pop("extraArgs", None)
    volumes = [
        {
            "name": v["name"],
            "hostPath": v["hostPath"],
            "mountPath": v["mountPath"],
            "readOnly": bool(v.get("readOnly", False)),
            "pathType": v.get("pathType") or "",
        }
        for v in extra_volumes
    ]
    if volumes:
        api_server["extraVolumes"] = volumes
    else:
        api_server.pop("extraVolumes", None)
    config_map["data"]["ClusterConfiguration"] = yaml.safe_dump(cluster, default_flow_style=False)
    config_map.setdefault("metadata", {})["resourceVersion"] = config.resource_version
    return config_map
