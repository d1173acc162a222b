"""Read the credentials deployer needs from a kubeconfig (kubeadm's ``admin.conf``).

Why here and not a Kubernetes client library: deployer needs three PEM blobs and a URL, from a
file it reads over SSH; the key stays in memory as a :class:`Secret` and is never logged.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass

import yaml

from deployer.model.host import Secret

__all__ = ["KubeconfigCredentials", "KubeconfigError", "parse_kubeconfig"]


class KubeconfigError(ValueError):
    """The kubeconfig lacks what deployer needs; the message says what."""


@dataclass(frozen=True, slots=True)
class KubeconfigCredentials:
    """The current context's server, CA and client certificate."""

    server: str
    ca_pem: bytes
    client_cert_pem: bytes | None
    client_key_pem: Secret | None
    token: Secret | None


def _named(items: object, name: str, field: str) -> Mapping[str, object]:
    if isinstance(items, list):
        for item in items:
            if isinstance(item, Mapping) and item.get("name") == name:
                value = item.get(field)
                if isinstance(value, Mapping):
                    return value
    raise KubeconfigError(f"kubeconfig has no {field} named {name!r}")


def _data(section: Mapping[str, object], key: str) -> bytes | None:
    value = section.get(f"{key}-data")
    if value is None:
        return None
    try:
        return base64.b64decode(str(value), validate=True)
    except binascii.Error as exc:
        raise KubeconfigError(f"{key}-data is not base64") from exc


def parse_kubeconfig(content: bytes) -> KubeconfigCredentials:
    """Return the current context's credentials; embedded ``*-data`` fields only.

    Raises:
        KubeconfigError: not a kubeconfig, or no embedded CA (kubeadm always embeds it).
    """
    try:
        doc = yaml.safe_load(content)
    except yaml.YAMLError as exc:
        raise KubeconfigError(f"not YAML: {exc}") from exc
    if not isinstance(doc, Mapping):
        raise KubeconfigError("not a kubeconfig (no mapping at the top)")
    context_name = doc.get("current-context")
    contexts = doc.get("contexts")
    if not context_name and isinstance(contexts, list) and contexts:
        context_name = contexts[0].get("name") if isinstance(contexts[0], Mapping) else None
    context = _named(contexts, str(context_name), "context")
    cluster = _named(doc.get("clusters"), str(context.get("cluster")), "cluster")
    user = _named(doc.get("users"), str(context.get("user")), "user")
    ca = _data(cluster, "certificate-authority")
    if ca is None:
        raise KubeconfigError("the cluster has no certificate-authority-data")
    key = _data(user, "client-key")
    token = user.get("token")
    return KubeconfigCredentials(
        server=str(cluster.get("server", "")),
        ca_pem=ca,
        client_cert_pem=_data(user, "client-certificate"),
        client_key_pem=Secret(key.decode()) if key else None,
        token=Secret(str(token)) if token else None,
    )
