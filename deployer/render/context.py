"""The values a manifest template sees, derived from a host's desired state.

Why in Python and not in the template: sorting flags like kubeadm, merging volumes, deriving the
probe address and the checksum annotation are decisions worth unit tests; the template only
lays them out. Custom templates (``manifest_template``) get exactly the same context.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields

from deployer.desired import DesiredState
from deployer.errors import InputProblem
from deployer.model.files import ApplyMode
from deployer.render import adoption as adopt
from deployer.versions import version_table

__all__ = [
    "COMPANIONS_ANNOTATION",
    "DEFAULT_CPU_REQUEST",
    "DEFAULT_SECURE_PORT",
    "KUBEADM_VOLUMES",
    "PATH_TYPES",
    "HostPathVolume",
    "TemplateContext",
    "build_context",
    "companions_digest",
    "endpoint_and_probe_host",
    "secure_port",
]

DEFAULT_SECURE_PORT = 6443
#: The pod annotation holding the digest of the companion files read at startup only.
COMPANIONS_ANNOTATION = "deployer/companions-sha256"
DEFAULT_CPU_REQUEST = "250m"

#: hostPath types Kubernetes accepts ("" means no check).
PATH_TYPES = frozenset(
    {
        "",
        "DirectoryOrCreate",
        "Directory",
        "FileOrCreate",
        "File",
        "Socket",
        "CharDevice",
        "BlockDevice",
    }
)

_DNS_LABEL_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_CPU_RE = re.compile(r"^([0-9]+m|[0-9]+(\.[0-9]{1,3})?)$")


@dataclass(frozen=True, slots=True)
class HostPathVolume:
    """A hostPath volume and its mount in the kube-apiserver container (same name)."""

    name: str
    host_path: str
    mount_path: str
    read_only: bool
    #: ``""`` leaves ``type`` out (Kubernetes then checks nothing).
    path_type: str = ""


#: kubeadm's volumes for kube-apiserver on a Debian/Ubuntu host (the CA bundles it finds there,
#: plus the PKI folder), all read-only ``DirectoryOrCreate``.
KUBEADM_VOLUMES: tuple[HostPathVolume, ...] = (
    HostPathVolume("ca-certs", "/etc/ssl/certs", "/etc/ssl/certs", True, "DirectoryOrCreate"),
    HostPathVolume(
        "etc-ca-certificates",
        "/etc/ca-certificates",
        "/etc/ca-certificates",
        True,
        "DirectoryOrCreate",
    ),
    HostPathVolume(
        "k8s-certs", "/etc/kubernetes/pki", "/etc/kubernetes/pki", True, "DirectoryOrCreate"
    ),
    HostPathVolume(
        "usr-local-share-ca-certificates",
        "/usr/local/share/ca-certificates",
        "/usr/local/share/ca-certificates",
        True,
        "DirectoryOrCreate",
    ),
    HostPathVolume(
        "usr-share-ca-certificates",
        "/usr/share/ca-certificates",
        "/usr/share/ca-certificates",
        True,
        "DirectoryOrCreate",
    ),
)


@dataclass(frozen=True, slots=True)
class TemplateContext:
    """Everything a manifest template may use; :meth:`as_dict` is what Jinja receives."""

    host_name: str
    kubernetes_version: str
    kubernetes_minor: str
    image: str
    #: ``kube-apiserver`` then ``--name=value`` sorted by name, as kubeadm writes them.
    command: tuple[str, ...]
    #: ``(name, value)`` sorted by name.
    flags: tuple[tuple[str, str], ...]
    #: ``host:port`` for kubeadm's advertise-address annotation, ``""`` without an address.
    advertise_endpoint: str
    #: Probe host; ``""`` leaves ``host`` out (kubelet then probes the pod IP, i.e. the node).
    probe_host: str
    probe_port: int
    #: kubeadm's shape per version (versions table): ``""`` = probes name the port number;
    #: else the probes name this container port, declared under ``ports`` (kubeadm 1.34+).
    probe_port_name: str
    cpu_request: str
    #: kubeadm's volumes and the extra ones, sorted by name like kubeadm.
    volumes: tuple[HostPathVolume, ...]
    #: ``(name, value)`` sorted by name.
    env: tuple[tuple[str, str], ...]
    #: ``"<digest>  <path>"`` lines joined by newlines, ``""`` when no digests were given.
    checksums: str
    #: Pod annotations ``(key, value)``, sorted: the two above plus ``apiserver_pod_annotations``.
    annotations: tuple[tuple[str, str], ...] = ()
    #: Pod labels ``(key, value)``, sorted (kubeadm's two plus ``apiserver_pod_labels``).
    labels: tuple[tuple[str, str], ...] = (
        ("component", "kube-apiserver"),
        ("tier", "control-plane"),
    )
    #: The template's own pod fields still to write (not replaced or removed by the inventory).
    pod_defaults: frozenset[str] = adopt.POD_TEMPLATE_FIELDS
    #: ``apiserver_pod_fields``: ``(field, value)`` sorted; values go through ``| yaml_json``.
    pod_fields: tuple[tuple[str, object], ...] = ()
    #: The template's own container fields still to write.
    container_defaults: frozenset[str] = adopt.CONTAINER_TEMPLATE_FIELDS
    #: ``apiserver_container_fields``: ``(field, value)`` sorted, through ``| yaml_json``.
    container_fields: tuple[tuple[str, object], ...] = ()

    def as_dict(self) -> dict[str, object]:
        """Return the context as Jinja's globals for one render."""
        return {name: getattr(self, name) for name in _CONTEXT_FIELDS}


#: The context's field names, computed once (``dataclasses.fields`` is slow per render).
_CONTEXT_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(TemplateContext))


def _problem(
    state: DesiredState, message: str, *, var: str, hint: str | None = None
) -> InputProblem:
    origin = state.host.origins.get(var)
    return InputProblem(
        f"variable {var}: {message}",
        file=origin.file if origin else None,
        line=origin.line if origin else None,
        host=state.host.name,
        hint=hint,
    )


def _flag_problem(
    state: DesiredState, flag: str, message: str, hint: str | None = None
) -> InputProblem:
    origin = state.flag_origins.get(flag)
    return InputProblem(
        message,
        file=origin.file if origin else None,
        line=origin.line if origin else None,
        host=state.host.name,
        flag=flag,
        hint=hint,
    )


def endpoint_and_probe_host(address: str, port: int) -> tuple[str, str]:
    """Return kubeadm's ``host:port`` annotation value and the probe host for ``address``.

    kubeadm joins host and port like Go's ``net.JoinHostPort`` (``[::1]:6443``) and leaves the
    probe host out for an unspecified address (0.0.0.0, ::), so kubelet probes the node.
    """
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:  # the flag schema reports a bad address; render what was asked
        return f"{address}:{port}", address
    endpoint = f"[{address}]:{port}" if ip.version == 6 else f"{address}:{port}"
    return endpoint, "" if ip.is_unspecified else address


def secure_port(flags: Mapping[str, str]) -> int | None:
    """Return ``--secure-port`` as a number (6443 when unset), ``None`` when it is not one."""
    text = flags.get("secure-port", "").strip()
    if not text:
        return DEFAULT_SECURE_PORT
    if text.isascii() and text.isdigit() and 0 < int(text) <= 65535:
        return int(text)
    return None


def _port(state: DesiredState, problems: list[InputProblem]) -> int:
    port = secure_port(state.flags)
    if port is not None:
        return port
    text = state.flags.get("secure-port", "")
    problems.append(
        _flag_problem(
            state,
            "secure-port",
            f"expected a port number (1-65535), got {text!r}",
            hint="the probes and kubeadm's endpoint annotation need the port",
        )
    )
    return DEFAULT_SECURE_PORT


def _probe_port_name(state: DesiredState) -> str:
    """The named probe port of the kubeadm version the manifest is shaped like (or ``""``)."""
    row = version_table().get(state.schema_minor)
    return row.probe_port_name if row is not None else ""


def _extra_volume(
    state: DesiredState, index: int, raw: Mapping[str, object], problems: list[InputProblem]
) -> HostPathVolume | None:
    var = "apiserver_extra_volumes"
    name, host, mount = raw.get("name"), raw.get("hostPath"), raw.get("mountPath")
    read_only = raw.get("readOnly", False)
    path_type = raw.get("pathType", "")
    bad: list[str] = []
    if not isinstance(name, str) or not _DNS_LABEL_RE.match(name) or len(name) > 63:
        bad.append(f"name {name!r} is not a DNS label (a-z, 0-9, '-', at most 63)")
    for key, value in (("hostPath", host), ("mountPath", mount)):
        if not isinstance(value, str) or not value.startswith("/"):
            bad.append(f"{key} {value!r} is not an absolute path")
    if not isinstance(read_only, bool):
        bad.append(f"readOnly {read_only!r} is not true or false")
    if path_type is None:
        path_type = ""
    if not isinstance(path_type, str) or path_type not in PATH_TYPES:
        allowed = ", ".join(sorted(p for p in PATH_TYPES if p))
        bad.append(f"pathType {path_type!r} is not one of {allowed}")
    unknown = sorted(set(raw) - {"name", "hostPath", "mountPath", "readOnly", "pathType"})
    if unknown:
        bad.append(f"unknown keys {', '.join(map(str, unknown))}")
    if bad:
        problems.extend(_problem(state, f"item {index}: {b}", var=var) for b in bad)
        return None
    return HostPathVolume(str(name), str(host), str(mount), bool(read_only), str(path_type))


def _volumes(
    state: DesiredState, adoption: adopt.Adoption, problems: list[InputProblem]
) -> tuple[HostPathVolume, ...]:
    # kubeadm keys volumes by name, so an extra volume named like a default one replaces it
    # (in place, when the order is the listed one).
    by_name = {v.name: v for v in KUBEADM_VOLUMES} if adoption.default_volumes else {}
    for index, raw in enumerate(state.extra_volumes):
        volume = _extra_volume(state, index, raw, problems)
        if volume is not None:
            by_name[volume.name] = volume
    if adoption.volumes_listed:
        return tuple(by_name.values())
    return tuple(by_name[name] for name in sorted(by_name))


def companions_digest(state: DesiredState) -> str:
    """Return one digest of the RESTART-mode companions (``""`` when there are none).

    Why in the manifest: kubelet restarts a static pod only when its manifest changes, not when a
    file the pod reads does; with this digest in an annotation, a companion-only change changes
    the manifest. Files the apiserver reloads by itself (RELOAD) stay out, so changing them
    restarts nothing. The digest is SHA-256 over ``path:sha256`` lines sorted by path.
    """
    lines = sorted(
        f"{c.path}:{c.sha256}\n" for c in state.companions if c.apply is ApplyMode.RESTART
    )
    if not lines:
        return ""
    return hashlib.sha256("".join(lines).encode("utf-8")).hexdigest()


def _pod_extras(
    adoption: adopt.Adoption, advertise_endpoint: str, checksums: str, companions: str
) -> dict[str, object]:
    annotations: dict[str, str] = {}
    if checksums:
        annotations["deployer/file-checksums"] = checksums
    if companions:
        annotations[COMPANIONS_ANNOTATION] = companions
    if advertise_endpoint:
        annotations["kubeadm.kubernetes.io/kube-apiserver.advertise-address.endpoint"] = (
            advertise_endpoint
        )
    pod = adoption.pod_fields or {}
    container = adoption.container_fields or {}
    merged = dict(adopt.merged(annotations, adoption.annotations))
    if companions:  # computed from the files: apiserver_pod_annotations cannot pin it
        merged[COMPANIONS_ANNOTATION] = companions
    return {
        "annotations": tuple((k, str(v)) for k, v in sorted(merged.items())),
        "labels": tuple(
            (k, str(v))
            for k, v in adopt.merged(
                {"component": "kube-apiserver", "tier": "control-plane"}, adoption.labels
            )
        ),
        "pod_defaults": adopt.POD_TEMPLATE_FIELDS - set(pod),
        "pod_fields": tuple((k, v) for k, v in sorted(pod.items()) if v is not None),
        "container_defaults": adopt.CONTAINER_TEMPLATE_FIELDS - set(container),
        "container_fields": tuple((k, v) for k, v in sorted(container.items()) if v is not None),
    }


def _cpu_request(state: DesiredState, problems: list[InputProblem]) -> str:
    # TODO(#render-1): move to DesiredState (apiserver_resources_cpu is a known variable there).
    raw = state.host.vars.get("apiserver_resources_cpu", DEFAULT_CPU_REQUEST)
    text = str(raw) if isinstance(raw, str | int | float) and not isinstance(raw, bool) else ""
    if not _CPU_RE.match(text):
        problems.append(
            _problem(
                state,
                f"expected a CPU quantity like 250m or 1, got {raw!r}",
                var="apiserver_resources_cpu",
            )
        )
        return DEFAULT_CPU_REQUEST
    return text


def _checksums(
    state: DesiredState, file_digests: Mapping[str, str] | None, problems: list[InputProblem]
) -> str:
    if file_digests is None or not state.checksum_files:
        return ""
    lines: list[str] = []
    for path in sorted(set(state.checksum_files)):
        digest = file_digests.get(path)
        if not digest:
            problems.append(
                _problem(
                    state,
                    f"{path} has no digest (missing on the host?)",
                    var="apiserver_checksum_files",
                    hint="create the file on the host or remove it from apiserver_checksum_files",
                )
            )
            continue
        lines.append(f"{digest}  {path}")
    return "\n".join(lines)


def build_context(
    state: DesiredState, file_digests: Mapping[str, str] | None = None
) -> tuple[TemplateContext, list[InputProblem]]:
    """Derive the template context for ``state`` and every problem found doing so.

    ``file_digests`` maps host paths to content digests; when given, the digests of
    ``state.checksum_files`` go into an annotation so that a change to such a file changes the
    pod (and kubelet restarts the apiserver). Without it there is no such annotation.
    """
    problems: list[InputProblem] = []
    adoption, adoption_problems = adopt.read_adoption(state)
    problems.extend(adoption_problems)
    flags = tuple(sorted(state.flags.items()))
    port = _port(state, problems)
    advertise = state.flags.get("advertise-address", "").strip()
    if advertise:
        endpoint, probe_host = endpoint_and_probe_host(advertise, port)
    else:
        endpoint, probe_host = "", "127.0.0.1"
    checksums = _checksums(state, file_digests, problems)
    ordered = adopt.ordered_flags(state.flags, adoption)
    context = TemplateContext(
        host_name=state.host.name,
        kubernetes_version=state.kubernetes_version,
        kubernetes_minor=state.kubernetes_minor,
        image=state.image,
        command=("kube-apiserver", *(adopt.argument(n, v, adoption) for n, v in ordered)),
        flags=flags,
        advertise_endpoint=endpoint,
        probe_host=probe_host,
        probe_port=port,
        probe_port_name=_probe_port_name(state),
        cpu_request=_cpu_request(state, problems),
        volumes=_volumes(state, adoption, problems),
        env=tuple(sorted(state.extra_env.items())),
        checksums=checksums,
        **_pod_extras(  # type: ignore[arg-type]
            adoption, endpoint, checksums, companions_digest(state)
        ),
    )
    return context, problems
