"""Load ``--tracing-config-file`` as kube-apiserver does, failing with its messages.

Sources (k8s.io/apiserver ``pkg/server/options/tracing.go``):
- ``Validate``: ``tracing-config-file %s does not exist`` (in the ``Validate()`` aggregate);
- ``ApplyTo``: ``failed to read tracing config: %v`` around ``ReadTracingConfiguration``
  (``unable to decode tracing configuration data: %v``), a universal decoder of the group's
  scheme, strict from v0.32, decoding into the internal type: a missing kind defaults to
  ``TracingConfiguration`` and a missing apiVersion to the internal version (accepted), and
  another registered kind is ``unable to decode <gvk> into *apiserver.TracingConfiguration``
  (``runtime.DecodeInto``).

Then ``failed to validate tracing configuration: %v`` around k8s.io/component-base
``tracing/api/v1/config.go`` ``ValidateTracingConfiguration`` (identical v0.28..v0.36, called
with a nil path): the sampling rate between 0 and one million, and the endpoint's scheme (``dns``
when it has no ``//``, else ``dns``, ``unix`` or ``unix-abstract``).
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

from deployer.lab.apiserver.companions import fielderr
from deployer.lab.apiserver.companions.decode import (
    DecodeError,
    FieldTree,
    parse,
    scheme_name,
    strict_error,
    unknown_fields,
)
from deployer.lab.apiserver.companions.fielderr import FieldError
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
    if problems:
        return wrap + strict_error(problems)
    errors = validate(doc.body if isinstance(doc.body, dict) else {})
    if errors:
        return "failed to validate tracing configuration: " + fielderr.aggregate(errors, minor)
    return None


def validate(body: Mapping[str, object]) -> list[FieldError]:
    """``ValidateTracingConfiguration``: sampling rate, then endpoint."""
    errors: list[FieldError] = []
    rate = body.get("samplingRatePerMillion")
    if isinstance(rate, int) and not isinstance(rate, bool):
        if rate < 0:
            errors.append(
                fielderr.invalid("samplingRatePerMillion", rate, "sampling rate must be positive")
            )
        if rate > 1_000_000:
            errors.append(
                fielderr.invalid(
                    "samplingRatePerMillion",
                    rate,
                    "sampling rate per million must be less than or equal to one million",
                )
            )
    endpoint = body.get("endpoint")
    if isinstance(endpoint, str):
        shown = endpoint if "//" in endpoint else "dns://" + endpoint
        scheme = urlsplit(shown).scheme
        if scheme not in ("dns", "unix", "unix-abstract"):
            errors.append(
                fielderr.invalid(
                    "endpoint",
                    shown,
                    f"unsupported scheme: {scheme}.  Options are none, dns, unix, or unix-abstract."
                    "  See https://github.com/grpc/grpc/blob/master/doc/naming.md",
                )
            )
    return errors
