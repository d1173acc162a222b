"""``EgressSelectorConfiguration``: the checks of ``--egress-selector-config-file`` at startup.

Follows k8s.io/apiserver ``pkg/server/egressselector/config.go``
(``ValidateEgressSelectorConfiguration``, v0.28.0..v0.37.0-beta.0; three texts reworded in
v0.34.0, in ``loaders.json``), including its
paths: every protocol error is reported under ``service.connection`` whatever the entry, and the
duplicate check under ``service.connection[i]``. The file-existence checks of ``tlsConfig``
(``caBundle``, ``clientCert``, ``clientKey`` must exist on the node) are left to the host; the
"must be set" checks are made here.
"""

from __future__ import annotations

from deployer.companions.document import Context, Node
from deployer.companions.fielderrors import (
    FieldError,
    FieldPath,
    duplicate,
    invalid,
    not_supported,
    required,
)

__all__ = ["NAMES", "validate_egress"]

#: ``validEgressSelectorNames``.
NAMES = ("cluster", "controlplane", "etcd")
_PATH = FieldPath(("service", "connection"))


def _tls(tls: Node | None) -> list[FieldError]:
    if tls is None:
        return [required(_PATH.child("tlsConfig"), "TLSConfig must be present when using HTTPS")]
    errs = []
    if not tls.text("clientCert"):
        errs.append(
            invalid(_PATH.child("tlsConfig", "clientCert"), "nil", "Using TLS requires clientCert")
        )
    if not tls.text("clientKey"):
        errs.append(
            invalid(
                _PATH.child("tlsConfig", "clientKey"),
                "nil",
                "Using TLS requires requires clientKey",
            )
        )
    return errs


def _tcp(tcp: Node, ctx: Context) -> list[FieldError]:
    url = tcp.text("url")
    if url.startswith("http://"):
        if tcp.has("tlsConfig"):
            return [invalid(_PATH.child("tlsConfig"), "nil", ctx.message("egress_http_tls"))]
        return []
    if url.startswith("https://"):
        return _tls(tcp.node("tlsConfig") if tcp.has("tlsConfig") else None)
    return [
        invalid(_PATH.child("url"), url, "supported connection protocols are http:// and https://")
    ]


def _uds(uds: Node, ctx: Context) -> list[FieldError]:
    if not uds.text("udsName"):
        return [invalid(_PATH.child("udsName"), "nil", ctx.message("egress_uds_name"))]
    return []


def _connection(connection: Node, ctx: Context) -> list[FieldError]:
    protocol = connection.text("proxyProtocol")
    transport = connection.node("transport") if connection.has("transport") else None
    if protocol == "Direct":
        if transport is not None:
            return [
                invalid(_PATH.child("transport"), "direct", ctx.message("egress_direct_transport"))
            ]
        return []
    if protocol == "HTTPConnect":
        if transport is None:
            return [required(_PATH.child("transport"), "transport must be set for HTTPConnect")]
        if transport.has("tcp") and transport.has("uds"):
            return [
                invalid(
                    _PATH.child("tcp"),
                    dict(transport.node("tcp").data),
                    "TCP and UDS cannot both be set",
                )
            ]
        if not transport.has("tcp") and not transport.has("uds"):
            return [required(_PATH.child("tcp"), "One of TCP or UDS must be set")]
        return (
            _tcp(transport.node("tcp"), ctx)
            if transport.has("tcp")
            else _uds(transport.node("uds"), ctx)
        )
    if protocol == "GRPC":
        if transport is None:
            return [required(_PATH.child("transport"), "transport must be set for GRPC")]
        if transport.has("uds"):
            return _uds(transport.node("uds"), ctx)
        return [required(_PATH.child("uds"), "UDS must be set with GRPC")]
    return [not_supported(_PATH.child("protocol"), protocol, ("Direct", "HTTPConnect", "GRPC"))]


def validate_egress(doc: Node, ctx: Context) -> list[FieldError]:
    """Return ``ValidateEgressSelectorConfiguration``'s errors (texts of ``ctx.minor``)."""
    selections = doc.nodes("egressSelections")
    errs: list[FieldError] = []
    for selection in selections:
        errs += _connection(selection.node("connection"), ctx)
    seen: set[str] = set()
    for i, selection in enumerate(selections):
        name = selection.text("name").lower()
        if name in seen:
            errs.append(duplicate(_PATH.index(i), name))
            continue
        seen.add(name)
        if name not in NAMES:
            errs.append(not_supported(_PATH, name, NAMES))
    return errs
