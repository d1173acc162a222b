"""Load ``--admission-control-config-file`` as kube-apiserver does, failing with its messages.

Sources:
- k8s.io/apiserver ``pkg/admission/config.go`` ``ReadAdmissionConfiguration``: ``unable to read
  admission control configuration from %q [%v]``; the universal decoder of the admission
  options' scheme (the group's internal types, v1alpha1 and v1), strict from v0.32; a file
  without kind/version or of an unregistered kind is still accepted when it is one of the two
  legacy unversioned plugin files (``imagePolicy``, ``podNodeSelectorPluginConfig``); another
  registered kind is ``unexpected type: %T``;
- k8s.io/apiserver ``pkg/server/options/admission.go`` ``ApplyTo``: ``failed to read plugin
  config: %v``;
- k8s.io/kubernetes: the caller's wrapper, ``failed to initialize admission: %w`` in
  ``cmd/kube-apiserver/app/server.go`` (seen in kubernetes/kubernetes#101521) and ``failed to
  apply admission: %w`` in ``pkg/controlplane/apiserver/config.go`` ``CreateConfig`` after the
  control plane code moved there (taken here as from 1.30).

Each plugin's own configuration (``path`` or ``configuration``) is not read.
"""

from __future__ import annotations

from deployer.lab.apiserver.companions.decode import (
    DecodeError,
    FieldTree,
    check_registered,
    parse,
    strict_error,
    unknown_fields,
)
from deployer.lab.apiserver.companions.kinds import registered

__all__ = ["admission_error"]

#: ``pkg/apis/apiserver/v1/types.go`` ``AdmissionConfiguration``.
FIELDS: FieldTree = {
    "apiVersion": None,
    "kind": None,
    "plugins": ({"name": None, "path": None, "configuration": None},),
}
_LEGACY_KEYS = ("imagePolicy", "podNodeSelectorPluginConfig")


def admission_error(path: str, data: bytes | None, minor: int) -> str | None:
    """Return the error for the file at container ``path`` (``data`` None: missing), or None."""
    outer = "failed to apply admission" if minor >= 30 else "failed to initialize admission"
    problem = _problem(path, data, minor)
    return f"{outer}: failed to read plugin config: {problem}" if problem else None


def _problem(path: str, data: bytes | None, minor: int) -> str | None:
    if data is None:
        return (
            f'unable to read admission control configuration from "{path}" '
            f"[open {path}: no such file or directory]"
        )
    text = data.decode("utf-8", errors="replace")
    try:
        doc = parse(data)
    except DecodeError as exc:
        return str(exc)
    try:
        check_registered(doc, text, "admission", minor, registered(minor, ("v1alpha1", "v1")))
    except DecodeError as exc:
        # Missing kind/version or an unknown kind: tolerated for the legacy plugin files.
        if isinstance(doc.body, dict) and any(key in doc.body for key in _LEGACY_KEYS):
            return None
        return str(exc)
    if doc.kind != "AdmissionConfiguration":
        return f"unexpected type: *apiserver.{doc.kind}"
    problems = unknown_fields(doc.body, FIELDS) if minor >= 32 else []
    return strict_error(problems) if problems else None
