"""Companion files of kube-apiserver: offline validation, secret references, masked diffs.

The files the apiserver reads at startup besides its manifest (audit policy, encryption,
authentication, authorization, admission, egress selector and tracing configurations) are checked
here per Kubernetes minor, the way the binary checks them, before any host is touched.
"""

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
