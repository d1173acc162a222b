"""Load the files the flags name, in the order and with the error texts of the real binary.

Why: a flag whose file is missing from the container (no hostPath volume, or a typo) is the most
common way a manifest change kills kube-apiserver, and the tool must see the same failure in the
lab: exit 1 and ``"command failed" err="<text>"``. Each wrapper text is the one kube-apiserver
adds around Go's ``open <path>: no such file or directory``.
"""

from __future__ import annotations

from collections.abc import Callable

from deployer.lab.apiserver.flags import ParsedArgs
from deployer.lab.apiserver.mounts import MountTable, no_such_file

__all__ = ["complete_file_error", "config_file_error", "serving_file_error"]

#: File flags checked while the server config is built, with the wrapper of their error. The
#: companion files (audit policy, encryption, authentication, authorization, admission, egress,
#: tracing) are
#: read and validated by ``deployer.lab.apiserver.companions`` instead.
_CONFIG_FILES: tuple[tuple[str, Callable[[str, str], str]], ...] = (
    ("client-ca-file", lambda path, err: f"unable to load client CA file: {err}"),
    (
        "requestheader-client-ca-file",
        lambda path, err: f"unable to load request-header client CA file: {err}",
    ),
    ("token-auth-file", lambda path, err: err),
    ("service-account-key-file", lambda path, err: f'failed to parse key file "{path}": {err}'),
    ("authorization-policy-file", lambda path, err: err),
    ("authorization-webhook-config-file", lambda path, err: err),
    ("authentication-token-webhook-config-file", lambda path, err: err),
    ("oidc-ca-file", lambda path, err: err),
    ("proxy-client-cert-file", lambda path, err: err),
    ("proxy-client-key-file", lambda path, err: err),
    ("kubelet-client-certificate", lambda path, err: err),
    ("kubelet-client-key", lambda path, err: err),
    ("kubelet-certificate-authority", lambda path, err: err),
)


def complete_file_error(args: ParsedArgs, mounts: MountTable) -> str | None:
    """Check what ``Complete()`` reads: serving certificates exist, the signing key is readable.

    Without ``--tls-cert-file`` the real binary writes a self-signed pair to ``--cert-dir``
    (``/var/run/kubernetes``); the lab has no such folder, so it fails as an unwritable one does.
    """
    if not args.text("tls-cert-file") or not args.text("tls-private-key-file"):
        cert_dir = args.text("cert-dir", "/var/run/kubernetes")
        return f"error creating self-signed certificates: mkdir {cert_dir}: permission denied"
    path = args.text("service-account-signing-key-file")
    if path and not _exists(mounts, path):
        return f"failed to parse service-account-issuer-key-file: {no_such_file(path)}"
    return None


def serving_file_error(args: ParsedArgs, mounts: MountTable) -> str | None:
    """Check the serving pair (the first files the config build reads, after the listener)."""
    for flag in ("tls-cert-file", "tls-private-key-file"):
        path = args.text(flag)
        if path and not _exists(mounts, path):
            return no_such_file(path)
    return None


def config_file_error(args: ParsedArgs, mounts: MountTable) -> str | None:
    """Return the first error of the other files the config build reads, or ``None``."""
    for flag, wrap in _CONFIG_FILES:
        for path in args.items(flag) if flag == "service-account-key-file" else (args.text(flag),):
            if path and not _exists(mounts, path):
                return wrap(path, no_such_file(path))
    return None


def _exists(mounts: MountTable, path: str) -> bool:
    host = mounts.resolve(path)
    return host is not None and host.is_file()
