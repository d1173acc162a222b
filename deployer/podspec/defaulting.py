"""A static pod as kubelet hashes it: decoded like Go, with the v1.Pod API defaults applied.

Why: kubelet restarts a static pod when, and only when, the *defaulted* pod object changes
(``pkg/kubelet/config/common.go``: decode with defaulting, then hash). Comparing manifests
literally calls ``dnsPolicy: ClusterFirst`` written out a change, and deployer would wait for
a restart that never comes, then roll back; comparing them without the decoder's rules
(``readOnly: false`` is absent, ``[]`` is not) misses real restarts. The rules are data:
``v1_pod.yaml`` beside this module, with the upstream functions they come from; the few rules
that are not a constant are below, each naming its upstream function.

The canonical form :func:`default_pod` returns is a plain mapping: unknown fields dropped (the
decoder ignores them), nulls dropped, Go value-type zeros dropped (``""``, ``false``, ``0``,
``{}`` for a value struct), defaults filled in. Two manifests give the same pod UID exactly when
their canonical forms are equal (same file path and node assumed).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from importlib import resources
from typing import Final

import yaml

__all__ = ["default_pod", "differences", "image_tag", "same_pod"]

_ABSENT: Final = object()

_Types = dict[str, dict[str, str]]
_Defaults = dict[str, dict[str, object]]

#: Volume sources (``Volume`` fields other than ``name``): a volume with none is an emptyDir.
_NOT_A_SOURCE = frozenset({"name"})


@functools.cache
def _tables() -> tuple[_Types, _Defaults]:
    text = resources.files("deployer.podspec").joinpath("v1_pod.yaml").read_text("utf-8")
    data = yaml.safe_load(text)
    return data["types"], data["defaults"]


def _drop_nulls(value: object) -> object:
    if isinstance(value, dict):
        return {k: _drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_nulls(v) for v in value]
    return value


def _is_zero(value: object, kind: str) -> bool:
    if kind == "str":
        return value == ""
    if kind == "bool":
        return value is False
    return kind == "int" and not isinstance(value, bool) and value == 0


def _decode(value: object, kind: str, types: _Types, defaults: _Defaults) -> object:
    """Decode one field of ``kind``; ``_ABSENT`` when Go would hold the zero value."""
    if value is None:
        return _ABSENT
    if kind in ("str", "bool", "int"):
        return _ABSENT if _is_zero(value, kind) else value
    if kind in ("ptr", "intstr", "quantity", "any"):
        return _drop_nulls(value)
    if kind == "struct":
        dropped = _drop_nulls(value)
        return _ABSENT if dropped == {} else dropped
    if kind.startswith("["):
        if not isinstance(value, list):
            return value  # a type error: kubelet rejects the file; keep it visible
        inner = kind[1:-1]
        return [_element(item, inner, types, defaults) for item in value]
    if kind.startswith("{"):
        if not isinstance(value, dict):
            return value
        # A null map value decodes to the element's zero value ("" for strings).
        return {k: "" if v is None else v for k, v in value.items()}
    pointer = kind.startswith("*")
    type_name = kind.lstrip("*")
    if type_name == "any":
        return _drop_nulls(value)
    if not isinstance(value, Mapping):
        return value
    decoded = _struct(value, type_name, types, defaults)
    return _ABSENT if not pointer and decoded == {} else decoded


def _element(item: object, kind: str, types: _Types, defaults: _Defaults) -> object:
    # A list element is never "absent": a null struct element is the zero struct.
    decoded = _decode({} if item is None and kind in types else item, kind, types, defaults)
    if decoded is _ABSENT:
        return {} if kind in types else ("" if kind == "str" else item)
    return decoded


def _struct(
    value: Mapping[str, object], type_name: str, types: _Types, defaults: _Defaults
) -> dict[str, object]:
    fields = types[type_name]
    out: dict[str, object] = {}
    for key, raw in value.items():
        kind = fields.get(str(key))
        if kind is None:
            continue  # unknown to the API: the (non-strict) decoder drops it
        decoded = _decode(raw, kind, types, defaults)
        if decoded is not _ABSENT:
            out[str(key)] = decoded
    _special(out, type_name)
    for key, default in defaults.get(type_name, {}).items():
        out.setdefault(key, default if not isinstance(default, dict) else dict(default))
    return out


def image_tag(image: str) -> str:
    """The tag ``parsers.ParseImageName`` finds: ``latest`` when neither tag nor digest."""
    name, _, digest = image.partition("@")
    last = name.rsplit("/", 1)[-1]
    tag = last.split(":", 1)[1] if ":" in last else ""
    return "latest" if not tag and not digest else tag


def _special(out: dict[str, object], type_name: str) -> None:
    """The defaults that are not a constant (each names its upstream function)."""
    if type_name == "Container" and "imagePullPolicy" not in out:
        # SetDefaults_Container: Always for the latest tag, IfNotPresent otherwise.
        image = out.get("image")
        latest = isinstance(image, str) and image_tag(image) == "latest"
        out["imagePullPolicy"] = "Always" if latest or image is None else "IfNotPresent"
    elif type_name == "Volume" and not set(out) - _NOT_A_SOURCE:
        out["emptyDir"] = {}  # SetDefaults_Volume: no source at all is an emptyDir
    elif type_name == "PodSpec":
        _pod_spec(out)


def _pod_spec(spec: dict[str, object]) -> None:
    # Convert_v1_PodSpec_To_core_PodSpec: the deprecated serviceAccount is an alias; the
    # internal type has only serviceAccountName, which wins when both are set.
    alias = spec.pop("serviceAccount", None)
    if alias and "serviceAccountName" not in spec:
        spec["serviceAccountName"] = alias
    for key in ("containers", "initContainers"):
        containers = spec.get(key)
        if not isinstance(containers, list):
            continue
        for container in containers:
            if not isinstance(container, dict):
                continue
            _requests_from_limits(container)
            if spec.get("hostNetwork") is True:
                _host_ports(container)


def _requests_from_limits(container: dict[str, object]) -> None:
    # SetDefaults_Pod: a resource with a limit and no request gets the limit as its request.
    resources_ = container.get("resources")
    if not isinstance(resources_, dict) or not isinstance(resources_.get("limits"), dict):
        return
    limits: dict[str, object] = resources_["limits"]
    requests = resources_.get("requests")
    requests = dict(requests) if isinstance(requests, dict) else {}
    for name, amount in limits.items():
        requests.setdefault(name, amount)
    resources_["requests"] = requests


def _host_ports(container: dict[str, object]) -> None:
    # defaultHostNetworkPorts (SetDefaults_Pod): with hostNetwork, hostPort = containerPort.
    for port in container.get("ports") or []:  # type: ignore[attr-defined]
        if isinstance(port, dict) and "hostPort" not in port and "containerPort" in port:
            port["hostPort"] = port["containerPort"]


def default_pod(pod: Mapping[str, object]) -> dict[str, object]:
    """Return ``pod`` (a parsed manifest) in canonical defaulted form (see the module doc)."""
    types, defaults = _tables()
    return _struct(pod, "Pod", types, defaults)


def same_pod(a: Mapping[str, object], b: Mapping[str, object]) -> bool:
    """True when kubelet would hash ``a`` and ``b`` to the same pod (so restart nothing)."""
    return default_pod(a) == default_pod(b)


def _names(items: list[object]) -> list[str] | None:
    names = [i.get("name") for i in items if isinstance(i, dict)]
    if len(names) != len(items) or not all(isinstance(n, str) for n in names):
        return None
    return names if len(set(names)) == len(names) else None  # type: ignore[return-value]


def differences(a: object, b: object, path: str = "") -> list[str]:
    """Field paths where two (canonical) objects differ: ``spec.volumes[k8s-certs].hostPath``.

    Lists of named items are matched by name and a different order is reported as
    ``<path>: order``; other lists are compared by position.
    """
    if a == b:
        return []
    if isinstance(a, dict) and isinstance(b, dict):
        out: list[str] = []
        for key in sorted(set(a) | set(b), key=str):
            sub = f"{path}.{key}" if path else str(key)
            if key not in a or key not in b:
                out.append(sub)
            else:
                out.extend(differences(a[key], b[key], sub))
        return out
    if isinstance(a, list) and isinstance(b, list):
        names_a, names_b = _names(a), _names(b)
        if names_a is not None and names_b is not None:
            by_a = dict(zip(names_a, a, strict=True))
            by_b = dict(zip(names_b, b, strict=True))
            out = []
            common = [n for n in names_a if n in by_b]
            if common != [n for n in names_b if n in by_a]:
                out.append(f"{path}: order")
            for name in names_a + [n for n in names_b if n not in by_a]:
                sub = f"{path}[{name}]"
                if name not in by_a or name not in by_b:
                    out.append(sub)
                else:
                    out.extend(differences(by_a[name], by_b[name], sub))
            return out
        if len(a) == len(b):
            out = []
            for i, (x, y) in enumerate(zip(a, b, strict=True)):
                out.extend(differences(x, y, f"{path}[{i}]"))
            return out
    return [path or "(the whole object)"]
