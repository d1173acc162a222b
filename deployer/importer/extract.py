"""From a live kube-apiserver manifest to the inventory variables that render it again.

Why pure and self-checking: ``deployer import`` promises that the first ``plan`` after it
restarts nothing. So every value read here is rendered back with the default template and the
result is compared with the live pod the way kubelet compares (``deployer.podspec``); whatever
still differs is reported by field path (the first apply would restart that host), never
silently left in.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from deployer import podspec
from deployer.desired import desired_state
from deployer.errors import DeployerError, InputError
from deployer.model.host import Host
from deployer.render import ManifestRenderer, parse
from deployer.render.adoption import CONTAINER_TEMPLATE_FIELDS, POD_TEMPLATE_FIELDS
from deployer.render.context import COMPANIONS_ANNOTATION, DEFAULT_CPU_REQUEST, KUBEADM_VOLUMES

__all__ = ["HostImport", "extract_host", "reproduce"]

_TAG_RE = re.compile(r"^v(?P<version>1\.\d+\.\d+)$")
_OWNED_CONTAINER = frozenset({"name", "image", "command", "args", "env", "volumeMounts"})
_PROBES = ("livenessProbe", "readinessProbe", "startupProbe")
_TEMPLATE_POD = {
    "hostNetwork": True,
    "priority": 2000001000,
    "priorityClassName": "system-node-critical",
    "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
}
_PRUNABLE = (
    "apiserver_pod_fields",
    "apiserver_container_fields",
    "apiserver_pod_annotations",
    "apiserver_pod_labels",
)
_ENDPOINT = "kubeadm.kubernetes.io/kube-apiserver.advertise-address.endpoint"


@dataclass
class HostImport:
    """One host's imported variables, and what they cannot say."""

    host: str
    source: str
    vars: dict[str, Any]
    #: Field paths (after the API's defaults) the rendering still differs in.
    not_reproduced: list[str] = field(default_factory=list)
    #: Why a value was not taken over (sidecars, args split ...), for the operator.
    notes: list[str] = field(default_factory=list)
    #: Companion path -> (kind, SHA-256 of the bytes deployer will write), from
    #: :func:`deployer.importer.companions.import_companions`.
    companions: dict[str, tuple[str, str]] = field(default_factory=dict)


def _fail(host: str, source: str, message: str) -> InputError:
    return InputError(
        f"{host}: {source}: {message}",
        hint="import reads a kube-apiserver static pod; fix or move the file, then run it again",
    )


def _flags(argv: list[str], out: HostImport) -> tuple[dict[str, str], list[str], list[str]]:
    flags: dict[str, str] = {}
    order: list[str] = []
    bare: list[str] = []
    for arg in argv[1:]:
        if not arg.startswith("--") or len(arg) == 2:
            out.notes.append(f"argument {arg!r} is not a --flag: left out")
            continue
        name, sep, value = arg[2:].partition("=")
        name = name.replace("_", "-")
        if name in flags:
            out.notes.append(f"--{name} is given twice: only the first is kept")
            continue
        flags[name] = value if sep else "true"
        if not sep:
            bare.append(name)
        order.append(name)
    return flags, order, bare


def _volumes(pod: Mapping[str, Any], container: Mapping[str, Any], out: HostImport) -> None:
    volumes = (pod.get("spec") or {}).get("volumes") or []
    mounts = {m.get("name"): m for m in container.get("volumeMounts") or [] if isinstance(m, dict)}
    listed: list[dict[str, Any]] = []
    for volume in volumes:
        name = volume.get("name")
        host_path = (volume.get("hostPath") or {}).get("path")
        mount = mounts.get(name)
        if not host_path or mount is None:
            out.notes.append(f"volume {name!r} is not a hostPath mounted by kube-apiserver")
            continue
        item: dict[str, Any] = {
            "name": name,
            "hostPath": host_path,
            "mountPath": mount.get("mountPath"),
        }
        if mount.get("readOnly"):
            item["readOnly"] = True
        if (volume.get("hostPath") or {}).get("type"):
            item["pathType"] = volume["hostPath"]["type"]
        listed.append(item)
    defaults = [
        {
            "name": v.name,
            "hostPath": v.host_path,
            "mountPath": v.mount_path,
            "readOnly": v.read_only,
            "pathType": v.path_type,
        }
        for v in KUBEADM_VOLUMES
    ]
    names = [v["name"] for v in listed]
    mount_names = [m.get("name") for m in container.get("volumeMounts") or []]
    if [n for n in mount_names if n in names] != names:
        out.notes.append(
            "volume mounts are not in the order of the volumes: rendered in volume order"
        )
    extras = [v for v in listed if v not in defaults]
    default_names = {d["name"] for d in defaults}
    kubeadm_first = [d["name"] for d in defaults] + [
        e["name"] for e in extras if e["name"] not in default_names
    ]
    # An extra volume named like a kubeadm one replaces it in place (minikube's k8s-certs).
    if all(d["name"] in names for d in defaults) and names in (sorted(names), kubeadm_first):
        if names != sorted(names):
            out.vars["apiserver_volume_order"] = "listed"  # kubeadm's, then the hand-added
    else:
        out.vars["apiserver_default_volumes"] = False
        if names != sorted(names):
            out.vars["apiserver_volume_order"] = "listed"
        extras = listed
    if extras:
        out.vars["apiserver_extra_volumes"] = extras


def _container_fields(container: Mapping[str, Any], out: HostImport) -> None:
    fields: dict[str, Any] = {}
    resources = container.get("resources")
    requests = resources.get("requests") if isinstance(resources, dict) else None
    cpu = requests.get("cpu") if isinstance(requests, dict) else None
    if cpu is not None and resources == {"requests": {"cpu": cpu}}:
        if str(cpu) != DEFAULT_CPU_REQUEST:
            out.vars["apiserver_resources_cpu"] = str(cpu)
    else:
        fields["resources"] = resources  # None: the live pod has none, remove the template's
    for key, value in container.items():
        if key in _OWNED_CONTAINER or key in _PROBES or key == "resources":
            continue
        fields[key] = value
    if "imagePullPolicy" not in container:
        fields["imagePullPolicy"] = None
    env = container.get("env") or []
    pairs = [(e.get("name"), e.get("value", "")) for e in env if isinstance(e, dict)]
    if env and all(set(e) <= {"name", "value"} for e in env):
        out.vars["apiserver_extra_env"] = {str(n): str(v) for n, v in pairs}
        if [n for n, _ in pairs] != sorted(str(n) for n, _ in pairs):
            out.notes.append("env is not sorted by name: rendered sorted")
    elif env:
        out.notes.append("env with valueFrom is not imported")
    _set_fields(out, "apiserver_container_fields", fields, CONTAINER_TEMPLATE_FIELDS)


def _set_fields(
    out: HostImport, var: str, fields: dict[str, Any], template: frozenset[str]
) -> None:
    kept = {k: v for k, v in fields.items() if v is not None or k in template}
    if kept:
        out.vars[var] = kept


def _pod_fields(pod: Mapping[str, Any], out: HostImport) -> None:
    spec = pod.get("spec") or {}
    fields: dict[str, Any] = {}
    for key, value in spec.items():
        if key in ("containers", "volumes"):
            continue
        if key in _TEMPLATE_POD and value == _TEMPLATE_POD[key]:
            continue
        fields[key] = value
    for key in _TEMPLATE_POD:
        if key not in spec:
            fields[key] = None
    _set_fields(out, "apiserver_pod_fields", fields, POD_TEMPLATE_FIELDS)


def _metadata(pod: Mapping[str, Any], flags: Mapping[str, str], out: HostImport) -> None:
    meta = pod.get("metadata") or {}
    labels = meta.get("labels") or {}
    template_labels = {"component": "kube-apiserver", "tier": "control-plane"}
    label_changes = {k: v for k, v in labels.items() if template_labels.get(k) != v}
    label_changes.update({k: None for k in template_labels if k not in labels})
    if label_changes:
        out.vars["apiserver_pod_labels"] = label_changes
    annotations = dict(meta.get("annotations") or {})
    # The companions' digest is computed from apiserver_files, never pinned.
    changes: dict[str, Any] = {
        k: v for k, v in annotations.items() if k not in (_ENDPOINT, COMPANIONS_ANNOTATION)
    }
    if _ENDPOINT in annotations or flags.get("advertise-address"):
        # The template writes the endpoint from --advertise-address; keep the live one exactly.
        changes[_ENDPOINT] = annotations.get(_ENDPOINT)
    if changes:
        out.vars["apiserver_pod_annotations"] = changes


def extract_host(host: str, source: str, content: bytes) -> HostImport:
    """Read one live manifest into inventory variables (see :func:`reproduce` for the check).

    Raises:
        InputError: the file is not a kube-apiserver Pod (exit 6, naming host and file).
    """
    try:
        pod: dict[str, Any] = parse.load_pod(content)
        container: dict[str, Any] = parse.apiserver_container(pod)
    except parse.ManifestError as exc:
        raise _fail(host, source, str(exc)) from exc
    if pod.get("kind") != "Pod" or pod.get("apiVersion") != "v1":
        raise _fail(host, source, f"kind {pod.get('kind')!r}, not a v1 Pod")
    out = HostImport(host=host, source=source, vars={})
    image = str(container.get("image") or "")
    repo, _, tag = image.partition("@")[0].rpartition(":")
    match = _TAG_RE.match(tag)
    if match is None:
        raise _fail(host, source, f"image {image!r} has no vX.Y.Z tag to pin the version from")
    version = match["version"]
    out.vars["kubernetes_version"] = version
    if image != f"registry.k8s.io/kube-apiserver:v{version}":
        out.vars["apiserver_image"] = image
    command = [str(a) for a in container.get("command") or []]
    args = [str(a) for a in container.get("args") or []]
    if args:
        out.notes.append("flags in args are moved to command (kubelet restarts once for that)")
    argv = command + args
    if not argv or argv[0] != "kube-apiserver":
        out.notes.append(f"the program is {argv[:1]}, the template runs kube-apiserver")
    flags, order, bare = _flags(argv, out)
    out.vars["apiserver_flags"] = flags
    if order != sorted(order):
        out.vars["apiserver_flag_order"] = order
    if bare:
        out.vars["apiserver_bare_flags"] = bare
    _volumes(pod, container, out)
    _container_fields(container, out)
    _pod_fields(pod, out)
    _metadata(pod, flags, out)
    for key in ("uid", "resourceVersion", "ownerReferences", "creationTimestamp"):
        if (pod.get("metadata") or {}).get(key):
            out.notes.append(f"metadata.{key} is never templated (a saved mirror pod?)")
    return out


def reproduce(
    item: HostImport,
    content: bytes,
    base: Mapping[str, Any],
    renderer: ManifestRenderer | None = None,
) -> HostImport:
    """Render ``item``'s variables and record where the result still differs from the pod.

    ``base`` holds the host's other variables; the comparison is after the API's defaults.
    """
    variables = {**base, **item.vars}
    state, problems = desired_state(Host(name=item.host, address=item.host, vars=variables))
    if problems:
        item.not_reproduced = [f"(does not render: {p})" for p in problems]
        return item
    try:
        manifest = (renderer or ManifestRenderer()).render(state)
    except DeployerError as exc:
        item.not_reproduced = [f"(does not render: {exc})"]
        return item
    live = podspec.default_pod(parse.load_pod(content))
    item.not_reproduced = _computed_out(
        podspec.differences(live, podspec.default_pod(parse.load_pod(manifest.content)))
    )
    _prune(item, live, base, renderer or ManifestRenderer())
    return item


def _differences(
    variables: Mapping[str, Any], host: str, live: object, renderer: ManifestRenderer
) -> list[str] | None:
    state, problems = desired_state(Host(name=host, address=host, vars=variables))
    if problems:
        return None
    try:
        manifest = renderer.render(state)
    except DeployerError:
        return None
    return _computed_out(
        podspec.differences(live, podspec.default_pod(parse.load_pod(manifest.content)))
    )


def _computed_out(differences: list[str]) -> list[str]:
    """Drop the companions' digest annotation: the rendering computes it from the files."""
    return [d for d in differences if COMPANIONS_ANNOTATION not in d]


def _prune(
    item: HostImport, live: object, base: Mapping[str, Any], renderer: ManifestRenderer
) -> None:
    """Drop every field entry the template (or the API's defaults) already gives.

    An entry goes when removing it leaves the differences to the live pod as they are.
    """
    for var in _PRUNABLE:
        entries = item.vars.get(var)
        if not isinstance(entries, dict):
            continue
        for key in list(entries):
            trial = {k: v for k, v in entries.items() if k != key}
            variables = (
                {**base, **item.vars, var: trial}
                if trial
                else {
                    **base,
                    **{k: v for k, v in item.vars.items() if k != var},
                }
            )
            if _differences(variables, item.host, live, renderer) == item.not_reproduced:
                entries = trial
                if trial:
                    item.vars[var] = trial
                else:
                    item.vars.pop(var)
