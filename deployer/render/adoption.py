"""Inventory variables that let the default template reproduce a manifest someone else wrote.

Why: adopting a running control plane must restart nothing, and kubelet restarts on any change
of the defaulted pod: a flag moved to another position, ``--x`` written as ``--x=true``, a
kubeadm volume the host does not have, a toleration or ``nodeName`` left in by hand. These
variables say all of that (``deployer import`` writes them); without them the template renders
kubeadm's shape, as before.

- ``apiserver_default_volumes``: ``false`` leaves kubeadm's volumes out (only the extras);
- ``apiserver_volume_order``: ``sorted`` (kubeadm) or ``listed`` (kubeadm's, then the extras
  in their order; an extra named like a kubeadm volume replaces it in place);
- ``apiserver_flag_order``: flag names rendered first, in this order; the rest sorted by name;
- ``apiserver_bare_flags``: boolean flags rendered as ``--name`` instead of ``--name=true``;
- ``apiserver_pod_fields`` / ``apiserver_container_fields``: pod ``spec`` / kube-apiserver
  container fields to add or replace (``null`` removes one the template writes);
- ``apiserver_pod_labels`` / ``apiserver_pod_annotations``: added or replaced (``null`` removes).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass

from deployer.desired import DesiredState
from deployer.errors import InputProblem
from deployer.render.quoting import UnquotedValueError, YamlScalar, yaml_str

__all__ = [
    "ADOPTION_VARS",
    "CONTAINER_OWNED",
    "CONTAINER_TEMPLATE_FIELDS",
    "POD_OWNED",
    "POD_TEMPLATE_FIELDS",
    "Adoption",
    "argument",
    "merged",
    "ordered_flags",
    "read_adoption",
    "yaml_json",
    "yaml_key",
]

ADOPTION_VARS = (
    "apiserver_default_volumes",
    "apiserver_volume_order",
    "apiserver_flag_order",
    "apiserver_bare_flags",
    "apiserver_pod_fields",
    "apiserver_container_fields",
    "apiserver_pod_labels",
    "apiserver_pod_annotations",
)

#: Pod spec fields the template writes and an inventory may replace or remove.
POD_TEMPLATE_FIELDS = frozenset({"hostNetwork", "priority", "priorityClassName", "securityContext"})
#: Pod spec fields only the template writes (from other variables).
POD_OWNED = frozenset({"containers", "initContainers", "volumes"})
#: Container fields the template writes and an inventory may replace or remove.
CONTAINER_TEMPLATE_FIELDS = frozenset({"imagePullPolicy", "resources"})
#: Container fields only the template writes (flags, image, env, mounts, probes).
CONTAINER_OWNED = frozenset(
    {
        "name",
        "image",
        "command",
        "args",
        "env",
        "volumeMounts",
        "livenessProbe",
        "readinessProbe",
        "startupProbe",
    }
)


_PLAIN_KEY_RE = re.compile(r"^[A-Za-z][A-Za-z0-9._/-]*$")
_YAML11_WORDS = frozenset({"y", "yes", "n", "no", "true", "false", "on", "off", "null"})


def yaml_key(value: object) -> YamlScalar:
    """A mapping key (or label value): plain when unambiguous text, else double-quoted.

    ``component`` and ``kubeadm.k8s.io/x`` stay plain (kubeadm's bytes); ``on`` or ``1.5`` are
    quoted so they stay strings, as the API wants.
    """
    text = str(value)
    if _PLAIN_KEY_RE.match(text) and text.lower() not in _YAML11_WORDS:
        return YamlScalar(text)
    return yaml_str(text)


def yaml_json(value: object) -> YamlScalar:
    """Return a JSON-ready value as a YAML flow node (JSON is YAML), keys sorted.

    Floats are refused: YAML 1.1 reads ``1e-05`` as a string, and no pod field a static pod
    carries is a float (quantities are strings).

    Raises:
        UnquotedValueError: the value holds a float or something JSON cannot say.
    """

    def check(v: object) -> None:
        if isinstance(v, float):
            raise UnquotedValueError(f"yaml_json: floats are not allowed, got {v!r}")
        if isinstance(v, dict):
            for item in v.values():
                check(item)
        elif isinstance(v, list):
            for item in v:
                check(item)

    check(value)
    try:
        return YamlScalar(json.dumps(value, sort_keys=True, ensure_ascii=True))
    except (TypeError, ValueError) as exc:
        raise UnquotedValueError(f"yaml_json: {exc}") from exc


@dataclass(frozen=True, slots=True)
class Adoption:
    """The adoption variables of one host, checked."""

    default_volumes: bool = True
    volumes_listed: bool = False
    flag_order: tuple[str, ...] = ()
    bare_flags: frozenset[str] = frozenset()
    #: field -> value (None: remove the template's field)
    pod_fields: Mapping[str, object | None] | None = None
    container_fields: Mapping[str, object | None] | None = None
    labels: Mapping[str, str | None] | None = None
    annotations: Mapping[str, str | None] | None = None


def _problem(state: DesiredState, var: str, message: str, hint: str | None = None) -> InputProblem:
    origin = state.host.origins.get(var)
    return InputProblem(
        f"variable {var}: {message}",
        file=origin.file if origin else None,
        line=origin.line if origin else None,
        host=state.host.name,
        hint=hint,
    )


def _names(state: DesiredState, var: str, problems: list[InputProblem]) -> tuple[str, ...]:
    raw = state.host.vars.get(var, [])
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(isinstance(n, str) and n for n in raw):
        problems.append(_problem(state, var, "expected a list of flag names"))
        return ()
    names = tuple(n.lstrip("-").replace("_", "-") for n in raw)
    if len(set(names)) != len(names):
        problems.append(_problem(state, var, "a flag is named twice"))
    return names


def _fields(
    state: DesiredState,
    var: str,
    owned: frozenset[str],
    problems: list[InputProblem],
) -> Mapping[str, object | None] | None:
    raw = state.host.vars.get(var)
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        problems.append(_problem(state, var, "expected a mapping of field: value"))
        return None
    bad = sorted(str(k) for k in raw if k in owned or not isinstance(k, str))
    if bad:
        problems.append(
            _problem(
                state,
                var,
                f"{', '.join(bad)} cannot be set here",
                hint="the template writes these from other variables (flags, image, volumes)",
            )
        )
    for key, value in raw.items():
        try:
            if value is not None:
                yaml_json(value)
        except UnquotedValueError as exc:
            problems.append(_problem(state, var, f"{key}: {exc}"))
    return {str(k): v for k, v in raw.items() if k not in owned and isinstance(k, str)}


def _strings(
    state: DesiredState, var: str, problems: list[InputProblem]
) -> Mapping[str, str | None] | None:
    raw = state.host.vars.get(var)
    if raw is None:
        return None
    if not isinstance(raw, Mapping) or not all(
        isinstance(k, str) and (v is None or isinstance(v, str)) for k, v in raw.items()
    ):
        problems.append(_problem(state, var, "expected a mapping of text: text (null removes one)"))
        return None
    return dict(raw)


def read_adoption(state: DesiredState) -> tuple[Adoption, list[InputProblem]]:
    """Read and check the adoption variables of ``state``'s host."""
    problems: list[InputProblem] = []
    get = state.host.vars.get
    default_volumes = get("apiserver_default_volumes", True)
    if not isinstance(default_volumes, bool):
        problems.append(_problem(state, "apiserver_default_volumes", "expected true or false"))
        default_volumes = True
    order = get("apiserver_volume_order", "sorted")
    if order not in ("sorted", "listed"):
        problems.append(_problem(state, "apiserver_volume_order", "expected sorted or listed"))
        order = "sorted"
    bare = frozenset(_names(state, "apiserver_bare_flags", problems))
    for name in sorted(bare):
        value = state.flags.get(name)
        if value is not None and value != "true":
            problems.append(
                _problem(
                    state,
                    "apiserver_bare_flags",
                    f"--{name} is {value!r}; a bare flag means true",
                    hint=f"set apiserver_flags.{name}: true, or leave it out of the list",
                )
            )
    adoption = Adoption(
        default_volumes=default_volumes,
        volumes_listed=order == "listed",
        flag_order=_names(state, "apiserver_flag_order", problems),
        bare_flags=bare,
        pod_fields=_fields(state, "apiserver_pod_fields", POD_OWNED, problems),
        container_fields=_fields(state, "apiserver_container_fields", CONTAINER_OWNED, problems),
        labels=_strings(state, "apiserver_pod_labels", problems),
        annotations=_strings(state, "apiserver_pod_annotations", problems),
    )
    return adoption, problems


def ordered_flags(flags: Mapping[str, str], adoption: Adoption) -> tuple[tuple[str, str], ...]:
    """The flags in render order: those named in ``apiserver_flag_order`` first, then sorted."""
    first = [n for n in adoption.flag_order if n in flags]
    rest = sorted(n for n in flags if n not in set(first))
    return tuple((n, flags[n]) for n in (*first, *rest))


def argument(name: str, value: str, adoption: Adoption) -> str:
    """``--name=value``, or ``--name`` for a bare boolean flag."""
    return f"--{name}" if name in adoption.bare_flags and value == "true" else f"--{name}={value}"


def merged(
    template: Mapping[str, object], extra: Mapping[str, object | None] | None
) -> tuple[tuple[str, object], ...]:
    """``template`` updated with ``extra`` (None removes), sorted by key."""
    out = dict(template)
    for key, value in (extra or {}).items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = value
    return tuple(sorted(out.items()))
