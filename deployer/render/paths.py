"""Which host files a kube-apiserver command line makes the container read or write.

Why a table: the apiserver runs in a container that sees only its hostPath mounts. A flag that
names a file outside every mount fails at start ("no such file or directory") on one host after
another during a rollout. The same table serves two checks: the rendered manifest mounts every
such path (:mod:`deployer.render.check`), and the apply preflight finds each file on the host.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from types import MappingProxyType

__all__ = ["PATH_FLAGS", "PathKind", "ReferencedFile", "referenced_files"]


class PathKind(enum.Enum):
    """How a flag's value names files."""

    #: The value is one file the apiserver reads.
    FILE = "file"
    #: The value is a file the apiserver writes (and rotates) in its folder: the folder is what
    #: must be mounted, writable.
    WRITTEN_FILE = "written_file"
    #: The value is a folder the apiserver writes into.
    WRITABLE_DIR = "writable_dir"
    #: ``cert,key`` or ``cert,key:name1,name2`` (``--tls-sni-cert-key``).
    CERT_KEY_PAIR = "cert_key_pair"


#: Flag name -> how its value names files. Flags absent from a version's flag set simply never
#: appear in a command line of that version, so one table serves 1.28-1.37 (1.34-1.37 added
#: no flag that names a file).
PATH_FLAGS: Mapping[str, PathKind] = MappingProxyType(
    {
        "admission-control-config-file": PathKind.FILE,
        "allow-metric-labels-manifest": PathKind.FILE,
        "audit-log-path": PathKind.WRITTEN_FILE,
        "audit-policy-file": PathKind.FILE,
        "audit-webhook-config-file": PathKind.FILE,
        "authentication-config": PathKind.FILE,
        "authentication-token-webhook-config-file": PathKind.FILE,
        "authorization-config": PathKind.FILE,
        "authorization-policy-file": PathKind.FILE,
        "authorization-webhook-config-file": PathKind.FILE,
        "cert-dir": PathKind.WRITABLE_DIR,
        "client-ca-file": PathKind.FILE,
        "cloud-config": PathKind.FILE,
        "debug-socket-path": PathKind.WRITTEN_FILE,
        "egress-selector-config-file": PathKind.FILE,
        "encryption-provider-config": PathKind.FILE,
        "etcd-cafile": PathKind.FILE,
        "etcd-certfile": PathKind.FILE,
        "etcd-keyfile": PathKind.FILE,
        "kubelet-certificate-authority": PathKind.FILE,
        "kubelet-client-certificate": PathKind.FILE,
        "kubelet-client-key": PathKind.FILE,
        "oidc-ca-file": PathKind.FILE,
        "peer-ca-file": PathKind.FILE,
        "proxy-client-cert-file": PathKind.FILE,
        "proxy-client-key-file": PathKind.FILE,
        "requestheader-client-ca-file": PathKind.FILE,
        "service-account-key-file": PathKind.FILE,
        "service-account-signing-endpoint": PathKind.FILE,
        "service-account-signing-key-file": PathKind.FILE,
        "tls-cert-file": PathKind.FILE,
        "tls-private-key-file": PathKind.FILE,
        "tls-sni-cert-key": PathKind.CERT_KEY_PAIR,
        "token-auth-file": PathKind.FILE,
        "tracing-config-file": PathKind.FILE,
    }
)

#: Values that name no file although the flag is set: ``-`` sends the audit log to stdout.
_NOT_A_PATH: Mapping[str, frozenset[str]] = MappingProxyType({"audit-log-path": frozenset({"-"})})


@dataclass(frozen=True, slots=True)
class ReferencedFile:
    """One host path a flag makes the container read or write (container path = host path)."""

    #: The flag, without dashes.
    flag: str
    #: The path as written on the command line (for a written file: its folder).
    path: PurePosixPath
    #: The container writes here: the covering mount must not be ``readOnly``.
    must_be_writable: bool
    #: ``path`` is a folder (a written file's folder, ``--cert-dir``), not a file.
    is_dir: bool
    #: The flag's value as written, for messages (``path`` may be its folder).
    value: str = ""

    @property
    def is_absolute(self) -> bool:
        """True when the path is absolute; a relative path depends on the image's work dir."""
        return self.path.is_absolute()


def _values(raw: str | Sequence[str]) -> list[str]:
    if isinstance(raw, str):
        return [raw]
    return [str(v) for v in raw]


def _sni_paths(value: str) -> list[str]:
    # component-base namedcertkey: "cert,key" or "cert,key:name1,name2" (names after the colon).
    pair = value.split(":", 1)[0]
    return [p.strip() for p in pair.split(",")[:2] if p.strip()]


def referenced_files(flags: Mapping[str, str | Sequence[str]]) -> list[ReferencedFile]:
    """List every host path the flags make kube-apiserver read or write, in flag order.

    ``flags`` maps flag names (no dashes) to their command-line text; a sequence stands for a
    flag given several times (``--service-account-key-file`` is a stringArray). Empty values
    name no file. ``--cert-dir`` counts only when no ``--tls-cert-file`` is given: the apiserver
    writes self-signed certificates there only then.

    >>> [str(f.path) for f in referenced_files({"audit-log-path": "/var/log/k/audit.log"})]
    ['/var/log/k']
    """
    found: list[ReferencedFile] = []
    for flag in sorted(flags):
        kind = PATH_FLAGS.get(flag)
        if kind is None:
            continue
        if flag == "cert-dir" and flags.get("tls-cert-file"):
            continue
        for value in _values(flags[flag]):
            if not value or value in _NOT_A_PATH.get(flag, frozenset()):
                continue
            if kind is PathKind.FILE:
                found.append(ReferencedFile(flag, PurePosixPath(value), False, False, value))
            elif kind is PathKind.WRITTEN_FILE:
                folder = PurePosixPath(value).parent
                found.append(ReferencedFile(flag, folder, True, True, value))
            elif kind is PathKind.WRITABLE_DIR:
                found.append(ReferencedFile(flag, PurePosixPath(value), True, True, value))
            else:
                found.extend(
                    ReferencedFile(flag, PurePosixPath(p), False, False, value)
                    for p in _sni_paths(value)
                )
    return found
