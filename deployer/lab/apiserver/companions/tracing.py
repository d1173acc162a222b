"""Load ``--tracing-config-file`` as kube-apiserver does, failing with its messages.

Sources (k8s.io/apiserver ``pkg/server/options/tracing.go``):
- ``Validate``: ``tracing-config-file %s does not exist`` (in the ``Validate()`` aggregate);
- ``ApplyTo``: ``failed to read tracing config: %v`` around ``ReadTracingConfiguration``
  (``unable to decode tracing configuration data: %v``), a universal decoder of the group's
  scheme, strict from v0.32, decoding into the internal type: a missing kind defaults to
  ``TracingConfiguration`` and a missing apiVersion to the internal version (accepted), and
  another registered kind is ``unable to decode <gvk> into *apiserver.TracingConfiguration``
  (``runtime.DecodeInto``).

Left out: ``ValidateTracingConfiguration`` (k8s.io/component-base: endpoint and sampling rate).
"""

from __future__ import annotations

from deployer.lab.apiserver.companions.decode import (
    DecodeError,
    FieldTree,
    parse,
    scheme_name,
    strict_error,
    unknown_fields,
)
from deployer.lab.apiserver.companions.kinds import GROUP, registered

__all__ = ["tracing_error", "tracing_missing"]

#: ``k8s.io/component-base/tracing/api/v1`` ``TracingConfiguration`` inlined in the group's type.
FIELDS: FieldTree = {
    "apiVersion": None,
    "kind": None,
    "endpoint": None,
    "samplingRatePerMillion": None,
}


def tracing_missing(path: str) -> str:
    """The ``Validate()`` error for a path the container does not see."""
    return f"tracing-config-file {path} does not exist"


def tracing_error(data: bytes, minor: int) -> str | None:
    """Return the config-build error for an existing file, or ``None``."""
    wrap = "failed to read tracing config: unable to decode tracing configuration data: "
    try:
        doc = parse(data)
    except DecodeError as exc:
        return wrap + str(exc)
    kind = doc.kind or "TracingConfiguration"  # defaulted from the target type
    scheme = scheme_name("tracing", minor)
    if not doc.api_version:
        if kind != "TracingConfiguration":
            return wrap + (
                f'no kind "{kind}" is registered for the internal version of group "{GROUP}" '
                f'in scheme "{scheme}"'
            )
    elif kind not in registered(minor).get(doc.api_version, frozenset()):
        return wrap + (
            f'no kind "{kind}" is registered for version "{doc.api_version}" in scheme "{scheme}"'
        )
    elif kind != "TracingConfiguration":
        return (
            f"failed to read tracing config: unable to decode {doc.api_version}, Kind={kind} "
            "into *apiserver.TracingConfiguration"
        )
    problems = unknown_fields(doc.body, FIELDS) if minor >= 32 else []
    return wrap + strict_error(problems) if problems else None
