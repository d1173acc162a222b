"""Load ``--egress-selector-config-file`` as kube-apiserver does, failing with its messages.

Sources (k8s.io/apiserver):
- ``pkg/server/options/egress_selector.go``: ``Validate`` refuses a path that does not exist
  (``egress-selector-config-file %s does not exist``, in the ``Validate()`` aggregate);
  ``ApplyTo`` wraps ``failed to read egress selector config: %v`` and ``failed to validate egress
  selector configuration: %v``;
- ``pkg/server/egressselector/config.go`` ``ReadEgressSelectorConfiguration``: up to v0.31 a
  lenient ``sigs.k8s.io/yaml`` unmarshal (``error converting YAML to JSON: ...``) and a kind
  check (``invalid service configuration object %q``); from v0.32 the strict universal decoder
  of the group's scheme (``unexpected config type: %v`` for another kind);
  ``ValidateEgressSelectorConfiguration``: the proxy protocol of each selection and its name
  (``controlplane``, ``cluster``, ``etcd``; duplicates refused). The transport checks, whose
  texts changed in v0.34, are left out.
"""

from __future__ import annotations

from collections.abc import Mapping

from deployer.lab.apiserver.companions import fielderr
from deployer.lab.apiserver.companions.decode import (
    DecodeError,
    FieldTree,
    check_registered,
    parse,
    strict_error,
    unknown_fields,
)
from deployer.lab.apiserver.companions.fielderr import FieldError
from deployer.lab.apiserver.companions.kinds import GROUP, registered

__all__ = ["egress_config_error", "egress_missing"]

_PROTOCOLS = ("Direct", "HTTPConnect", "GRPC")
_NAMES = ("cluster", "controlplane", "etcd")  # sets.String.List() is sorted
_TLS: FieldTree = {"caBundle": None, "clientKey": None, "clientCert": None}
_TRANSPORT: FieldTree = {"tcp": {"url": None, "tlsConfig": _TLS}, "uds": {"udsName": None}}
#: ``pkg/apis/apiserver/v1beta1/types.go`` ``EgressSelectorConfiguration``.
FIELDS: FieldTree = {
    "apiVersion": None,
    "kind": None,
    "egressSelections": (
        {"name": None, "connection": {"proxyProtocol": None, "transport": _TRANSPORT}},
    ),
}


def egress_missing(path: str) -> str:
    """The ``Validate()`` error for a path the container does not see."""
    return f"egress-selector-config-file {path} does not exist"


def egress_config_error(data: bytes, minor: int) -> str | None:
    """Return the config-build error for an existing file, or ``None``."""
    text = data.decode("utf-8", errors="replace")
    try:
        doc = parse(data)
        if minor >= 32:
            check_registered(doc, text, "egress", minor, registered(minor))
    except DecodeError as exc:
        lenient = minor < 32 and str(exc).startswith("yaml:")
        shown = f"error converting YAML to JSON: {exc}" if lenient else str(exc)
        return f"failed to read egress selector config: {shown}"
    if doc.kind != "EgressSelectorConfiguration":
        if minor < 32:
            problem = f'invalid service configuration object "{doc.kind}"'
        else:
            problem = f"unexpected config type: {doc.api_version or GROUP}, Kind={doc.kind}"
        return f"failed to read egress selector config: {problem}"
    if minor >= 32:
        problems = unknown_fields(doc.body, FIELDS)
        if problems:
            return f"failed to read egress selector config: {strict_error(problems)}"
    body = doc.body if isinstance(doc.body, dict) else {}
    errors = validate(body)
    if errors:
        return (
            f"failed to validate egress selector configuration: {fielderr.aggregate(errors, minor)}"
        )
    return None


def validate(body: Mapping[str, object]) -> list[FieldError]:
    """``ValidateEgressSelectorConfiguration``: protocols first, then the names."""
    raw = body.get("egressSelections")
    selections = [s if isinstance(s, dict) else {} for s in raw] if isinstance(raw, list) else []
    errors: list[FieldError] = []
    for selection in selections:
        connection = selection.get("connection")
        protocol = (
            str(connection.get("proxyProtocol") or "") if isinstance(connection, dict) else ""
        )
        if protocol not in _PROTOCOLS:
            errors.append(
                fielderr.not_supported("service.connection.protocol", protocol, _PROTOCOLS)
            )
    seen: set[str] = set()
    for index, selection in enumerate(selections):
        name = str(selection.get("name") or "").lower()
        if name in seen:
            errors.append(fielderr.duplicate(f"service.connection[{index}]", name))
            continue
        seen.add(name)
        if name not in _NAMES:
            errors.append(fielderr.not_supported("service.connection", name, _NAMES))
    return errors
