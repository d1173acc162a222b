"""Authenticate and authorize requests the way a kubeadm-configured kube-apiserver does.

Why: the tool verifies a host with real credentials (the cluster CA, a client certificate or a
token) and anonymously for the probes kubelet uses. The lab must answer 401 to bad or missing
credentials when ``--anonymous-auth=false``, and 403 with the real ``Status`` body when an
identity lacks the right, e.g. ``forbidden: User "system:anonymous" cannot get path "/api"``.

Authentication: a verified client certificate (CN = user, O = groups), else a bearer token from
``--token-auth-file`` (an unknown token is a 401 even when anonymous access is on), else
``system:anonymous`` when ``--anonymous-auth`` is true. Authorization follows the modes of
``--authorization-mode``; RBAC is modelled by the bootstrap roles that matter here:
``system:masters`` (and kubeadm's ``kubeadm:cluster-admins`` binding) may do anything,
``system:public-info-viewer`` gives everyone ``/healthz``, ``/livez``, ``/readyz``, ``/version``,
and ``system:discovery`` gives authenticated users the discovery paths.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

__all__ = [
    "ANONYMOUS",
    "Decision",
    "Identity",
    "Request",
    "authorize",
    "identity_from_certificate",
    "parse_token_file",
]

_PUBLIC_INFO_PATHS = frozenset({"/healthz", "/livez", "/readyz", "/version", "/version/"})
_DISCOVERY_PATHS = frozenset({"/api", "/apis", "/openapi"})
_DISCOVERY_PREFIXES = ("/api/", "/apis/", "/openapi/")
_ADMIN_GROUPS = frozenset({"system:masters", "kubeadm:cluster-admins"})


@dataclass(frozen=True, slots=True)
class Identity:
    """Who made a request."""

    user: str
    groups: tuple[str, ...]

    @property
    def is_anonymous(self) -> bool:
        """Whether this is the anonymous user."""
        return self.user == "system:anonymous"


#: The identity of a request without credentials when ``--anonymous-auth`` is on.
ANONYMOUS = Identity("system:anonymous", ("system:unauthenticated",))


@dataclass(frozen=True, slots=True)
class Request:
    """What is asked: a non-resource path, or a verb on a (cluster-scoped, core) resource."""

    path: str
    verb: str = "get"
    resource: str | None = None
    name: str | None = None
    namespace: str | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    """An authorization decision and, when denied, the real ``Forbidden`` message."""

    allowed: bool
    message: str = ""


def identity_from_certificate(peer: Mapping[str, object] | None) -> Identity | None:
    """Return the user of a verified client certificate (``ssl.getpeercert()``), if any.

    kube-apiserver maps the subject's CommonName to the user and each Organization to a group,
    and adds ``system:authenticated``.
    """
    if not peer:
        return None
    subject = peer.get("subject", ())
    user = ""
    groups: list[str] = []
    if isinstance(subject, tuple):
        for rdn in subject:
            for key, value in rdn:
                if key == "commonName":
                    user = str(value)
                elif key == "organizationName":
                    groups.append(str(value))
    if not user:
        return None
    return Identity(user, (*groups, "system:authenticated"))


def parse_token_file(text: str) -> dict[str, Identity]:
    """Parse a ``--token-auth-file`` (CSV: ``token,user,uid,"group1,group2"``).

    Raises:
        ValueError: a line has fewer than three columns (the real loader's rule).
    """
    tokens: dict[str, Identity] = {}
    for number, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        if len(row) < 3:
            raise ValueError(f"token file is not valid: line {number} has fewer than 3 columns")
        groups = [group.strip() for group in row[3].split(",")] if len(row) > 3 else []
        tokens[row[0]] = Identity(row[1], (*[g for g in groups if g], "system:authenticated"))
    return tokens


def authorize(identity: Identity, request: Request, modes: Sequence[str]) -> Decision:
    """Decide like the union of ``--authorization-mode`` authorizers (first allow wins).

    ``Node``, ``ABAC`` and ``Webhook`` never allow anything the lab serves (no node identities,
    no policy, no webhook), so they are skipped; ``AlwaysDeny`` and an empty result deny.
    """
    for mode in modes:
        if mode == "AlwaysAllow":
            return Decision(True)
        if mode == "RBAC" and _rbac_allows(identity, request):
            return Decision(True)
    return Decision(False, forbidden_message(identity, request))


def forbidden_message(identity: Identity, request: Request) -> str:
    """Return the apiserver's ``Forbidden`` text for this identity and request."""
    if request.resource is None:
        return f'forbidden: User "{identity.user}" cannot {request.verb} path "{request.path}"'
    target = request.resource if request.name is None else f'{request.resource} "{request.name}"'
    scope = (
        "at the cluster scope"
        if request.namespace is None
        else f'in the namespace "{request.namespace}"'
    )
    return (
        f'{target} is forbidden: User "{identity.user}" cannot {request.verb} resource '
        f'"{request.resource}" in API group "" {scope}'
    )


def _rbac_allows(identity: Identity, request: Request) -> bool:
    """Model the bootstrap RBAC policy (cluster-admin, public-info-viewer, discovery)."""
    if _ADMIN_GROUPS.intersection(identity.groups):
        return True
    if request.resource is not None or request.verb != "get":
        return False
    if request.path in _PUBLIC_INFO_PATHS:
        return True
    if "system:authenticated" not in identity.groups:
        return False
    return request.path in _DISCOVERY_PATHS or request.path.startswith(_DISCOVERY_PREFIXES)
