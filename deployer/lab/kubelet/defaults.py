"""The lab kubelet's own decoding and defaulting of a static pod, before it hashes it.

Why a second implementation: the stand-in exists to check deployer from the outside. If it
shared the planner's defaulting (``deployer.podspec``), a mistake there would be made twice
and no lab test could see it (a false "no restart" or a wait for a restart that never comes).
So this module follows upstream's own structure instead of a table: one function per Go type,
called in the order ``SetObjectDefaults_Pod`` calls them
(kubernetes/kubernetes ``pkg/apis/core/v1/zz_generated.defaults.go``, the ``SetDefaults_*``
functions of ``pkg/apis/core/v1/defaults.go``, the alias in ``conversion.go``), with the Go
decoder's rules spelled out per type (value fields: a zero is absent; pointers, slices and
maps: only null is absent; fields the type does not have are dropped). The unit tests hold both
implementations to the same upstream-derived cases (``tests/data/pod_defaults``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

# ``typing`` for the type checker only (annotations are not evaluated): imported at run time it
# is 0.45 MB in every idle kubelet stand-in, and nothing else the kubelet runs needs it.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    _Obj = dict[str, Any]
    # Per field: "v" a Go value scalar (zero is absent), "p" a pointer or an opaque value (only
    # null is absent), or a decoder for a nested object / list of objects.
    _Spec = dict[str, Any]

__all__ = ["decode_pod"]


def _clean(value: Any) -> Any:
    """Nulls out, recursively (a JSON null leaves a Go field at its zero value)."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def _zero(value: Any) -> bool:
    return value == "" or value is False or (type(value) is int and value == 0)


def _fields(raw: Any, spec: _Spec) -> _Obj:
    """Decode ``raw`` (a mapping) with ``spec``; unknown keys dropped."""
    out: _Obj = {}
    if not isinstance(raw, Mapping):
        return out
    for key, value in raw.items():
        how = spec.get(key)
        if how is None or value is None:
            continue
        if how == "v":
            if not _zero(value):
                out[key] = value
        elif how == "p":
            out[key] = _clean(value)
        elif how == "map":
            out[key] = {k: "" if v is None else v for k, v in value.items()}
        elif how == "list":
            out[key] = list(value) if isinstance(value, list) else value
        elif isinstance(how, tuple):  # ("each", decoder) for lists of objects
            out[key] = [how[1](item) for item in value] if isinstance(value, list) else value
        else:  # a decoder function for a pointer to an object: {} is kept
            out[key] = how(value)
    return out


def _value_struct(decoded: _Obj) -> _Obj | None:
    """A value (non-pointer) struct: all-zero is the same as absent."""
    return decoded or None


def _field_selector(raw: Any) -> _Obj:
    obj = _fields(raw, {"apiVersion": "v", "fieldPath": "v"})
    if not obj.get("apiVersion"):
        obj["apiVersion"] = "v1"  # SetDefaults_ObjectFieldSelector
    return obj


def _http_get(raw: Any) -> _Obj:
    obj = _fields(
        raw,
        {"path": "v", "port": "p", "host": "v", "scheme": "v", "httpHeaders": ("each", _header)},
    )
    obj.setdefault("path", "/")  # SetDefaults_HTTPGetAction
    obj.setdefault("scheme", "HTTP")
    return obj


def _header(raw: Any) -> _Obj:
    return _fields(raw, {"name": "v", "value": "v"})


def _exec(raw: Any) -> _Obj:
    return _fields(raw, {"command": "list"})


def _tcp(raw: Any) -> _Obj:
    return _fields(raw, {"port": "p", "host": "v"})


def _grpc(raw: Any) -> _Obj:
    obj = _fields(raw, {"port": "v", "service": "p"})
    obj.setdefault("service", "")  # +default="" (zz_generated.defaults.go, 1.27+)
    return obj


def _probe(raw: Any) -> _Obj:
    obj = _fields(
        raw,
        {
            "exec": _exec,
            "httpGet": _http_get,
            "tcpSocket": _tcp,
            "grpc": _grpc,
            "initialDelaySeconds": "v",
            "timeoutSeconds": "v",
            "periodSeconds": "v",
            "successThreshold": "v",
            "failureThreshold": "v",
            "terminationGracePeriodSeconds": "p",
        },
    )
    # SetDefaults_Probe: each int32 left at 0 gets its default.
    for key, default in (
        ("timeoutSeconds", 1),
        ("periodSeconds", 10),
        ("successThreshold", 1),
        ("failureThreshold", 3),
    ):
        obj.setdefault(key, default)
    return obj


def _handler(raw: Any) -> _Obj:
    return _fields(raw, {"exec": _exec, "httpGet": _http_get, "tcpSocket": _tcp, "sleep": "p"})


def _lifecycle(raw: Any) -> _Obj:
    return _fields(raw, {"postStart": _handler, "preStop": _handler, "stopSignal": "p"})


def _env_source(raw: Any) -> _Obj:
    return _fields(
        raw,
        {
            "fieldRef": _field_selector,
            "resourceFieldRef": "p",
            "configMapKeyRef": "p",
            "secretKeyRef": "p",
        },
    )


def _env(raw: Any) -> _Obj:
    return _fields(raw, {"name": "v", "value": "v", "valueFrom": _env_source})


def _port(raw: Any) -> _Obj:
    obj = _fields(
        raw,
        {"name": "v", "hostPort": "v", "containerPort": "v", "protocol": "v", "hostIP": "v"},
    )
    obj.setdefault("protocol", "TCP")
    return obj


def _mount(raw: Any) -> _Obj:
    return _fields(
        raw,
        {
            "name": "v",
            "readOnly": "v",
            "recursiveReadOnly": "p",
            "mountPath": "v",
            "subPath": "v",
            "mountPropagation": "p",
            "subPathExpr": "v",
        },
    )


def _seccomp(raw: Any) -> _Obj:
    return _fields(raw, {"type": "v", "localhostProfile": "p"})


_POINTERS_CONTAINER_SC = (
    "capabilities",
    "privileged",
    "seLinuxOptions",
    "windowsOptions",
    "runAsUser",
    "runAsGroup",
    "runAsNonRoot",
    "readOnlyRootFilesystem",
    "allowPrivilegeEscalation",
    "procMount",
    "appArmorProfile",
)


def _container_security(raw: Any) -> _Obj:
    spec: _Spec = dict.fromkeys(_POINTERS_CONTAINER_SC, "p")
    spec["seccompProfile"] = _seccomp
    return _fields(raw, spec)


def _pod_security(raw: Any) -> _Obj:
    spec: _Spec = dict.fromkeys(
        (
            "seLinuxOptions",
            "windowsOptions",
            "runAsUser",
            "runAsGroup",
            "runAsNonRoot",
            "supplementalGroupsPolicy",
            "fsGroup",
            "fsGroupChangePolicy",
            "appArmorProfile",
            "seLinuxChangePolicy",
        ),
        "p",
    )
    spec.update({"supplementalGroups": "list", "sysctls": "list", "seccompProfile": _seccomp})
    return _fields(raw, spec)


def _resources(raw: Any) -> _Obj | None:
    return _value_struct(_fields(raw, {"limits": "map", "requests": "map", "claims": "list"}))


def _container(raw: Any) -> _Obj:
    obj = _fields(
        raw,
        {
            "name": "v",
            "image": "v",
            "command": "list",
            "args": "list",
            "workingDir": "v",
            "ports": ("each", _port),
            "envFrom": "list",
            "env": ("each", _env),
            "resizePolicy": "list",
            "restartPolicy": "p",
            "volumeMounts": ("each", _mount),
            "volumeDevices": "list",
            "livenessProbe": _probe,
            "readinessProbe": _probe,
            "startupProbe": _probe,
            "lifecycle": _lifecycle,
            "terminationMessagePath": "v",
            "terminationMessagePolicy": "v",
            "imagePullPolicy": "v",
            "securityContext": _container_security,
            "stdin": "v",
            "stdinOnce": "v",
            "tty": "v",
        },
    )
    resources = _resources(raw.get("resources") if isinstance(raw, Mapping) else None)
    if resources:
        obj["resources"] = resources
    # SetDefaults_Container
    if "imagePullPolicy" not in obj:
        obj["imagePullPolicy"] = "Always" if _pulls_latest(obj.get("image", "")) else "IfNotPresent"
    obj.setdefault("terminationMessagePath", "/dev/termination-log")
    obj.setdefault("terminationMessagePolicy", "File")
    return obj


def _pulls_latest(image: str) -> bool:
    """``parsers.ParseImageName``: the tag is ``latest`` when none is given and no digest."""
    if "@" in image:
        repo, _ = image.split("@", 1)
        return repo.rsplit("/", 1)[-1].partition(":")[2] == "latest"
    tag = image.rsplit("/", 1)[-1].partition(":")[2]
    return tag in ("", "latest")


def _mode_default(decoder: Callable[[Any], _Obj]) -> Callable[[Any], _Obj]:
    def decode(raw: Any) -> _Obj:
        obj = decoder(raw)
        obj.setdefault("defaultMode", 0o644)  # SetDefaults_*VolumeSource
        return obj

    return decode


def _downward_item(raw: Any) -> _Obj:
    return _fields(
        raw, {"path": "v", "fieldRef": _field_selector, "resourceFieldRef": "p", "mode": "p"}
    )


_OTHER_SOURCES = [
    "persistentVolumeClaim",
    "gcePersistentDisk",
    "awsElasticBlockStore",
    "gitRepo",
    "nfs",
    "iscsi",
    "glusterfs",
    "rbd",
    "flexVolume",
    "cinder",
    "cephfs",
    "flocker",
    "fc",
    "azureFile",
    "vsphereVolume",
    "quobyte",
    "azureDisk",
    "photonPersistentDisk",
    "portworxVolume",
    "scaleIO",
    "storageos",
    "csi",
    "ephemeral",
    "image",
]


def _volume(raw: Any) -> _Obj:
    def host_path(r: Any) -> _Obj:
        obj = _fields(r, {"path": "v", "type": "p"})
        obj.setdefault("type", "")  # SetDefaults_HostPathVolumeSource: HostPathUnset
        return obj

    spec: _Spec = dict.fromkeys(_OTHER_SOURCES, "p")
    spec.update(
        {
            "name": "v",
            "hostPath": host_path,
            "emptyDir": lambda r: _fields(r, {"medium": "v", "sizeLimit": "p"}),
            "secret": _mode_default(
                lambda r: _fields(
                    r, {"secretName": "v", "items": "list", "defaultMode": "p", "optional": "p"}
                )
            ),
            "configMap": _mode_default(
                lambda r: _fields(
                    r, {"name": "v", "items": "list", "defaultMode": "p", "optional": "p"}
                )
            ),
            "projected": _mode_default(
                lambda r: _fields(r, {"sources": "list", "defaultMode": "p"})
            ),
            "downwardAPI": _mode_default(
                lambda r: _fields(r, {"items": ("each", _downward_item), "defaultMode": "p"})
            ),
        }
    )
    obj = _fields(raw, spec)
    if len(obj) == (1 if "name" in obj else 0):
        obj["emptyDir"] = {}  # SetDefaults_Volume
    return obj


_SPEC_VALUES = [
    "restartPolicy",
    "dnsPolicy",
    "serviceAccountName",
    "serviceAccount",
    "nodeName",
    "hostNetwork",
    "hostPID",
    "hostIPC",
    "hostname",
    "subdomain",
    "schedulerName",
    "priorityClassName",
]
_SPEC_POINTERS = [
    "terminationGracePeriodSeconds",
    "activeDeadlineSeconds",
    "automountServiceAccountToken",
    "shareProcessNamespace",
    "affinity",
    "priority",
    "dnsConfig",
    "runtimeClassName",
    "enableServiceLinks",
    "preemptionPolicy",
    "setHostnameAsFQDN",
    "os",
    "hostUsers",
    "resources",
]
_SPEC_LISTS = [
    "ephemeralContainers",
    "imagePullSecrets",
    "hostAliases",
    "readinessGates",
    "topologySpreadConstraints",
    "schedulingGates",
    "resourceClaims",
]


def _toleration(raw: Any) -> _Obj:
    return _fields(
        raw, {"key": "v", "operator": "v", "value": "v", "effect": "v", "tolerationSeconds": "p"}
    )


def _pod_spec(raw: Any) -> _Obj:
    spec: _Spec = dict.fromkeys(_SPEC_VALUES, "v")
    spec.update(dict.fromkeys(_SPEC_POINTERS, "p"))
    spec.update(dict.fromkeys(_SPEC_LISTS, "list"))
    spec.update(
        {
            "volumes": ("each", _volume),
            "initContainers": ("each", _container),
            "containers": ("each", _container),
            "nodeSelector": "map",
            "overhead": "map",
            "securityContext": _pod_security,
            "tolerations": ("each", _toleration),
        }
    )
    obj = _fields(raw, spec)
    # conversion.go: serviceAccount is the deprecated spelling of serviceAccountName.
    deprecated = obj.pop("serviceAccount", "")
    if deprecated and not obj.get("serviceAccountName"):
        obj["serviceAccountName"] = deprecated
    # SetDefaults_Pod: requests from limits, host ports under host networking, service links.
    for group in ("containers", "initContainers"):
        for container in obj.get(group) or []:
            res = container.get("resources")
            if res is not None and "limits" in res:
                requests = dict(res.get("requests") or {})
                for name, amount in res["limits"].items():
                    if name not in requests:
                        requests[name] = amount
                res["requests"] = requests
            if obj.get("hostNetwork"):
                for port in container.get("ports") or []:
                    if not port.get("hostPort") and "containerPort" in port:
                        port["hostPort"] = port["containerPort"]
    if "enableServiceLinks" not in obj:
        obj["enableServiceLinks"] = True
    # SetDefaults_PodSpec
    if not obj.get("dnsPolicy"):
        obj["dnsPolicy"] = "ClusterFirst"
    if not obj.get("restartPolicy"):
        obj["restartPolicy"] = "Always"
    if "securityContext" not in obj:
        obj["securityContext"] = {}
    if "terminationGracePeriodSeconds" not in obj:
        obj["terminationGracePeriodSeconds"] = 30
    if not obj.get("schedulerName"):
        obj["schedulerName"] = "default-scheduler"
    return obj


def _meta(raw: Any) -> _Obj:
    return _fields(
        raw,
        {
            "name": "v",
            "generateName": "v",
            "namespace": "v",
            "selfLink": "v",
            "uid": "v",
            "resourceVersion": "v",
            "generation": "v",
            "creationTimestamp": "p",
            "deletionTimestamp": "p",
            "deletionGracePeriodSeconds": "p",
            "labels": "map",
            "annotations": "map",
            "ownerReferences": "list",
            "finalizers": "list",
            "managedFields": "list",
        },
    )


def decode_pod(raw: Mapping[str, Any]) -> _Obj:
    """Return the pod kubelet hashes: decoded like Go, defaulted like the API."""
    out = _fields(raw, {"apiVersion": "v", "kind": "v"})
    meta = _value_struct(_meta(raw.get("metadata")))
    if meta:
        out["metadata"] = meta
    out["spec"] = _pod_spec(raw.get("spec"))
    status = _clean(raw.get("status"))
    if status:
        out["status"] = status
    return out
