"""Companion files of kube-apiserver: offline validation, secret references, masked diffs.

The files the apiserver reads at startup besides its manifest (audit policy, encryption,
authentication, authorization, admission, egress selector and tracing configurations) are checked
here per Kubernetes minor, the way the binary checks them, before any host is touched.

The names below are loaded on first use (PEP 562): ``deployer plan`` imports
:mod:`deployer.companions.facts` through the render checks on every run, and must not pay for
the validators (and ``cryptography.x509``, about 20 ms) an inventory without companions never
calls.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from deployer.lazy_exports import lazy_getattr

if TYPE_CHECKING:
    from deployer.companions.diff import masked_diff, render_document
    from deployer.companions.facts import KINDS, supported_minors
    from deployer.companions.secrets import clear_text_secrets, resolve_secrets
    from deployer.companions.validate import Options, check_companion, validate_companion

__all__ = [
    "KINDS",
    "Options",
    "check_companion",
    "clear_text_secrets",
    "masked_diff",
    "render_document",
    "resolve_secrets",
    "supported_minors",
    "validate_companion",
]

#: Public name -> the submodule that defines it.
_HOMES = {
    "masked_diff": "diff",
    "render_document": "diff",
    "KINDS": "facts",
    "supported_minors": "facts",
    "clear_text_secrets": "secrets",
    "resolve_secrets": "secrets",
    "Options": "validate",
    "check_companion": "validate",
    "validate_companion": "validate",
}


__getattr__ = lazy_getattr(__name__, _HOMES, globals())
