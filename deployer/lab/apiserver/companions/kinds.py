"""Which kinds the ``apiserver.config.k8s.io`` versions register, per minor.

Why: most loaders decode with a scheme holding every type of the group (``install.Install``), so
a file of another registered kind decodes and is refused by a type check (``expected
AuthorizationConfiguration, got *apiserver.TracingConfiguration``), while an unregistered kind
fails in the decoder (``no kind ... is registered``). The two texts differ, so the lab needs the
table. Read from k8s.io/apiserver ``pkg/apis/apiserver/{v1alpha1,v1beta1,v1}/register.go`` at
the tags v0.28.0..v0.36.0 and v0.37.0-beta.0; ``EncryptionConfiguration`` lived in
``pkg/apis/config/v1`` (its own scheme) up to v0.29.
"""

from __future__ import annotations

__all__ = ["GROUP", "registered"]

GROUP = "apiserver.config.k8s.io"

#: (kind, version, first minor).
_TABLE = (
    ("AdmissionConfiguration", "v1alpha1", 28),
    ("EgressSelectorConfiguration", "v1alpha1", 28),
    ("TracingConfiguration", "v1alpha1", 28),
    ("AuthenticationConfiguration", "v1alpha1", 29),
    ("AuthorizationConfiguration", "v1alpha1", 29),
    ("EgressSelectorConfiguration", "v1beta1", 28),
    ("TracingConfiguration", "v1beta1", 28),
    ("AuthenticationConfiguration", "v1beta1", 30),
    ("AuthorizationConfiguration", "v1beta1", 30),
    ("AdmissionConfiguration", "v1", 28),
    ("EncryptionConfiguration", "v1", 30),
    ("AuthorizationConfiguration", "v1", 32),
    ("AuthenticationConfiguration", "v1", 34),
    ("TracingConfiguration", "v1", 34),
)


def registered(
    minor: int, versions: tuple[str, ...] = ("v1alpha1", "v1beta1", "v1")
) -> dict[str, frozenset[str]]:
    """Return apiVersion -> kinds registered at ``minor`` in ``versions`` of the group."""
    out: dict[str, set[str]] = {}
    for kind, version, first in _TABLE:
        if version in versions and minor >= first:
            out.setdefault(f"{GROUP}/{version}", set()).add(kind)
    return {key: frozenset(kinds) for key, kinds in out.items()}
