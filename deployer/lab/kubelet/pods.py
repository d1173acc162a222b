"""Static pods as kubelet's file source reads them: parse, default, name, hash.

Pure functions only. What is imitated (kubelet ``pkg/kubelet/config/common.go``):
- the pod UID is a hash (FNV-128a, 32 hex digits) of the *decoded and defaulted* pod
  (``defaults.py``, the stand-in's own copy of the API's defaulting) plus ``host:<node>`` and
  ``file:<path>``, so a byte change that decodes to the same object (quoting, comments,
  ``dnsPolicy: ClusterFirst`` written out) changes nothing, while the same pod in another file
  (``kube-apiserver.yaml.bak``) is another pod;
- the pod name gets the node name: ``<metadata.name>-<node name lowercased>``;
- a pod that fails validation is logged and skipped, never half-run.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

import yaml

from deployer.lab.kubelet.defaults import decode_pod

__all__ = [
    "ContainerSpec",
    "PodParseError",
    "StaticPod",
    "VolumeSpec",
    "container_hash",
    "image_version",
    "parse_static_pod",
    "sorted_sources",
]

_DEFAULT_GRACE_S = 30


class PodParseError(ValueError):
    """The file is not a valid pod; kubelet logs this and skips the file."""


@dataclass(frozen=True, slots=True)
class VolumeSpec:
    """A pod volume; only ``hostPath`` volumes map into the node folder."""

    name: str
    #: The hostPath (a node path) or None for other volume kinds (emptyDir...).
    host_path: str | None
    #: hostPath ``type``: ``""``, ``DirectoryOrCreate``, ``Directory``, ``FileOrCreate``...
    path_type: str = ""


@dataclass(frozen=True, slots=True)
class ContainerSpec:
    """One container of the pod spec."""

    name: str
    image: str
    command: tuple[str, ...]
    args: tuple[str, ...]
    env: tuple[tuple[str, str], ...]
    #: (volume name, mountPath, readOnly)
    volume_mounts: tuple[tuple[str, str, bool], ...]
    #: kubelet's ``io.kubernetes.container.hash``: lowercase hex, no padding.
    hash: str


@dataclass(frozen=True, slots=True)
class StaticPod:
    """A pod defined by one file in the manifests folder."""

    #: The file (node path, e.g. ``/etc/kubernetes/manifests/kube-apiserver.yaml``).
    source: str
    #: ``<metadata.name>-<node>``.
    name: str
    namespace: str
    #: 32 hex digits; also ``kubernetes.io/config.hash``.
    uid: str
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    grace_period_s: float
    containers: tuple[ContainerSpec, ...]
    volumes: Mapping[str, VolumeSpec] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def full_name(self) -> str:
        """``name_namespace``: the key under which kubelet keeps one pod per name."""
        return f"{self.name}_{self.namespace}"


def _fnv32a(data: bytes) -> int:
    value = 0x811C9DC5
    for byte in data:
        value = ((value ^ byte) * 0x01000193) & 0xFFFFFFFF
    return value


def _fnv128a(data: bytes) -> int:
    """FNV-128a, the hash newer kubelets use for a static pod's UID (16 bytes, 32 hex)."""
    value = 0x6C62272E07BB014262B821756295C58D
    for byte in data:
        value = ((value ^ byte) * 0x0000000001000000000000000000013B) & ((1 << 128) - 1)
    return value


def container_hash(container: Mapping[str, object]) -> str:
    """Hash a container spec like kubelet's ``HashContainer`` (FNV-32a, hex without padding)."""
    return format(_fnv32a(json.dumps(container, sort_keys=True).encode()), "x")


def _strings(value: object, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str | int | float) for v in value):
        raise PodParseError(f"{where}: expected a list of strings")
    return tuple(str(v) for v in value)


def _mapping(value: object, where: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise PodParseError(f"{where}: expected a mapping")
    return {str(k): str(v) for k, v in value.items()}


def _volumes(spec: Mapping[str, object]) -> dict[str, VolumeSpec]:
    raw = spec.get("volumes") or []
    if not isinstance(raw, list):
        raise PodParseError("spec.volumes: expected a list")
    volumes: dict[str, VolumeSpec] = {}
    for i, item in enumerate(raw):
        if not isinstance(item, Mapping) or not isinstance(item.get("name"), str):
            raise PodParseError(f"spec.volumes[{i}].name: Required value")
        host_path = item.get("hostPath")
        if isinstance(host_path, Mapping):
            path = host_path.get("path")
            if not isinstance(path, str) or not path.startswith("/"):
                raise PodParseError(f"spec.volumes[{i}].hostPath.path: must be an absolute path")
            volumes[item["name"]] = VolumeSpec(item["name"], path, str(host_path.get("type") or ""))
        else:
            volumes[item["name"]] = VolumeSpec(item["name"], None)
    return volumes


def _container(raw: object, i: int, volumes: Mapping[str, VolumeSpec]) -> ContainerSpec:
    where = f"spec.containers[{i}]"
    if not isinstance(raw, Mapping):
        raise PodParseError(f"{where}: expected a mapping")
    name, image = raw.get("name"), raw.get("image")
    if not isinstance(name, str) or not name:
        raise PodParseError(f"{where}.name: Required value")
    if not isinstance(image, str) or not image:
        raise PodParseError(f"{where}.image: Required value")
    env: list[tuple[str, str]] = []
    for j, item in enumerate(raw.get("env") or []):
        if not isinstance(item, Mapping) or not isinstance(item.get("name"), str):
            raise PodParseError(f"{where}.env[{j}].name: Required value")
        env.append((item["name"], str(item.get("value", ""))))
    mounts: list[tuple[str, str, bool]] = []
    for j, item in enumerate(raw.get("volumeMounts") or []):
        if not isinstance(item, Mapping):
            raise PodParseError(f"{where}.volumeMounts[{j}]: expected a mapping")
        vname, path = item.get("name"), item.get("mountPath")
        if vname not in volumes:
            raise PodParseError(f"{where}.volumeMounts[{j}].name: Not found: {vname!r}")
        if not isinstance(path, str) or not path.startswith("/"):
            raise PodParseError(f"{where}.volumeMounts[{j}].mountPath: must be an absolute path")
        mounts.append((str(vname), path, bool(item.get("readOnly", False))))
    return ContainerSpec(
        name=name,
        image=image,
        command=_strings(raw.get("command"), f"{where}.command"),
        args=_strings(raw.get("args"), f"{where}.args"),
        env=tuple(env),
        volume_mounts=tuple(mounts),
        hash=container_hash(dict(raw)),
    )


def parse_static_pod(content: bytes, *, source: str, node_name: str) -> StaticPod:
    """Parse one manifest file the way kubelet's file source does.

    Raises:
        PodParseError: not YAML/JSON, not a v1 Pod, or the pod fails validation.
    """
    try:
        doc = yaml.safe_load(content)
    except yaml.YAMLError as exc:
        raise PodParseError(f"could not parse: {exc}") from exc
    if not isinstance(doc, Mapping):
        raise PodParseError("the file does not hold an object")
    if doc.get("kind") != "Pod" or doc.get("apiVersion") != "v1":
        raise PodParseError(
            f"invalid pod: kind {doc.get('kind')!r} apiVersion {doc.get('apiVersion')!r}, "
            "want Pod v1"
        )
    meta = doc.get("metadata")
    spec = doc.get("spec")
    if not isinstance(meta, Mapping) or not isinstance(meta.get("name"), str) or not meta["name"]:
        raise PodParseError("metadata.name: Required value")
    if not isinstance(spec, Mapping):
        raise PodParseError("spec: Required value")
    raw_containers = spec.get("containers")
    if not isinstance(raw_containers, list) or not raw_containers:
        raise PodParseError("spec.containers: Required value")
    volumes = _volumes(spec)
    containers = tuple(_container(c, i, volumes) for i, c in enumerate(raw_containers))
    names = [c.name for c in containers]
    if len(set(names)) != len(names):
        raise PodParseError("spec.containers: Duplicate value: container names must be unique")
    grace = spec.get("terminationGracePeriodSeconds", _DEFAULT_GRACE_S)
    if isinstance(grace, bool) or not isinstance(grace, int | float) or grace < 0:
        raise PodParseError("spec.terminationGracePeriodSeconds: must be a non-negative number")
    decoded = decode_pod(doc)
    hashed = json.dumps(decoded, sort_keys=True, default=str) + f"host:{node_name}file:{source}"
    uid = str(meta.get("uid") or format(_fnv128a(hashed.encode()), "032x"))
    return StaticPod(
        source=source,
        name=f"{meta['name']}-{node_name.lower()}",
        namespace=str(meta.get("namespace") or "default"),
        uid=uid,
        labels=MappingProxyType(_mapping(meta.get("labels"), "metadata.labels")),
        annotations=MappingProxyType(_mapping(meta.get("annotations"), "metadata.annotations")),
        grace_period_s=float(grace),
        containers=containers,
        volumes=MappingProxyType(volumes),
    )


def image_version(image: str) -> str:
    """Return the version an image tag names (``...:v1.31.13`` -> ``1.31.13``), or ``""``."""
    tail = image.rsplit("/", 1)[-1]
    if ":" not in tail:
        return ""
    tag = tail.split(":", 1)[1].split("@", 1)[0]
    return tag[1:] if tag.startswith("v") else tag


def sorted_sources(names: Sequence[str]) -> list[str]:
    """Return file names in the order kubelet lists a folder (``os.ReadDir``: byte order)."""
    return sorted(names, key=lambda n: n.encode())
