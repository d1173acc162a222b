"""Read every companion file the flags name, in the real binary's order, through the pod's mounts.

Why one place: kube-apiserver reads these files at two moments. ``Validate()`` loads
``--authorization-config`` and checks that ``--egress-selector-config-file`` and
``--tracing-config-file`` exist, before any port is opened, and reports them in its aggregate.
The server config build then reads, in ``BuildGenericConfig`` order (k8s.io/kubernetes
``pkg/controlplane/apiserver/config.go``): the egress selector, tracing (when the
``APIServerTracing`` gate is on), the encryption configuration
(``Etcd.ApplyWithStorageFactoryTo``), the authentication configuration
(``Authentication.ApplyTo``), the audit policy (``Audit.ApplyTo``) and, in ``CreateConfig``,
the admission configuration. The first failure stops the binary.

The container sees a file only through a hostPath mount (:class:`MountTable`): a file on the
node that no volume mounts is missing, exactly as for real.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TextIO

from deployer.lab.apiserver.companions.admission import admission_error
from deployer.lab.apiserver.companions.audit import AuditPolicy, policy_error
from deployer.lab.apiserver.companions.auditlog import open_log
from deployer.lab.apiserver.companions.authentication import authentication_error
from deployer.lab.apiserver.companions.authorization import authorization_error
from deployer.lab.apiserver.companions.egress import egress_config_error, egress_missing
from deployer.lab.apiserver.companions.encryption import EncryptionConfig, load_encryption
from deployer.lab.apiserver.companions.tracing import tracing_error, tracing_missing
from deployer.lab.apiserver.flags import ParsedArgs
from deployer.lab.apiserver.mounts import MountTable

__all__ = ["LoadedCompanions", "gate_enabled", "load_companions", "minor_of", "validate_errors"]

#: klog's location of the lenient-decoding warning (``pkg/audit/policy/reader.go``).
AUDIT_WARNING_AT = "reader.go:81"


@dataclass(frozen=True, slots=True)
class LoadedCompanions:
    """What the config build read: the first error, or the loaded documents."""

    error: str | None = None
    encryption: EncryptionConfig | None = None
    audit: AuditPolicy | None = None
    #: ``W`` lines to log (location, text), in order.
    warnings: tuple[tuple[str, str], ...] = field(default=())
    #: Where audit events go (``--audit-log-path``), once opened.
    audit_stream: TextIO | None = None


def minor_of(version: str) -> int:
    """``1.31.13`` -> 31."""
    parts = version.split(".")
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 31


def gate_enabled(args: ParsedArgs, gate: str, default: bool) -> bool:
    """Return a feature gate's value for this command line (the schema's parser)."""
    from deployer.schema import FlagSchema, ParsedFlags
    from deployer.schema.gates import gate_values

    if not isinstance(args.raw, ParsedFlags) or not isinstance(args.schema, FlagSchema):
        return default
    values = gate_values(args.raw, args.schema)
    if gate in values.explicit:
        return values.explicit[gate]
    return default


def _reader(mounts: MountTable) -> Callable[[str], bytes | None]:
    def read(path: str) -> bytes | None:
        host = mounts.resolve(path)
        if host is None or not host.is_file():
            return None
        try:
            return host.read_bytes()
        except OSError:
            return None

    return read


def validate_errors(
    args: ParsedArgs, mounts: MountTable, version: str, flag_errors: list[str]
) -> list[str]:
    """Return the ``Validate()`` errors the companion files add (after the flag-value ones).

    Args:
        args: the parsed command line.
        mounts: the container's view of the node's files.
        version: the image version (``1.31.13``).
        flag_errors: the flag-value ``Validate()`` errors already found; upstream skips loading
            ``--authorization-config`` when it refused the flag itself (gate off, legacy flags).
    """
    minor = minor_of(version)
    read = _reader(mounts)
    errors: list[str] = []
    authz = args.text("authorization-config")
    if authz and not any("--authorization-config" in e for e in flag_errors):
        message = authorization_error(authz, read(authz), minor, lambda p: read(p) is not None)
        if message:
            errors.append(message)
    egress = args.text("egress-selector-config-file")
    if egress and read(egress) is None:
        errors.append(egress_missing(egress))
    tracing = args.text("tracing-config-file")
    if tracing and read(tracing) is None:
        errors.append(tracing_missing(tracing))
    return errors


def load_companions(args: ParsedArgs, mounts: MountTable, version: str) -> LoadedCompanions:
    """Read the files of the config build; stop at the first error as the binary does."""
    minor = minor_of(version)
    read = _reader(mounts)
    egress = args.text("egress-selector-config-file")
    data = read(egress) if egress else None
    if data is not None:
        problem = egress_config_error(data, minor)
        if problem:
            return LoadedCompanions(problem)
    tracing = args.text("tracing-config-file")
    data = read(tracing) if tracing else None
    if data is not None and gate_enabled(args, "APIServerTracing", True):
        problem = tracing_error(data, minor)
        if problem:
            return LoadedCompanions(problem)
    encryption = None
    path = args.text("encryption-provider-config")
    if path:
        problem, encryption = load_encryption(
            path,
            read(path),
            minor,
            reload=args.flag("encryption-provider-config-automatic-reload"),
            kms_v1=gate_enabled(args, "KMSv1", minor < 29),
        )
        if problem:
            return LoadedCompanions(problem)
    path = args.text("authentication-config")
    if path:
        problem = authentication_error(path, read(path), minor)
        if problem:
            return LoadedCompanions(problem, encryption)
    audit = None
    warnings: list[tuple[str, str]] = []
    path = args.text("audit-policy-file")
    if path:
        problem, audit = policy_error(path, read(path), minor)
        if problem:
            return LoadedCompanions(problem)
        if audit is not None and audit.warning:
            warnings.append((AUDIT_WARNING_AT, audit.warning))
    log_path = args.text("audit-log-path")
    audit_stream: TextIO | None = None
    if log_path == "-":
        audit_stream = sys.stdout
    elif log_path:
        mount = mounts.mount_of(log_path)
        host = mounts.resolve(log_path)
        audit_stream, problem = open_log(
            str(host) if host is not None else None, log_path, bool(mount and mount.read_only)
        )
        if problem:
            return LoadedCompanions(problem, encryption, audit, tuple(warnings))
    path = args.text("admission-control-config-file")
    if path:
        problem = admission_error(path, read(path), minor)
        if problem:
            return LoadedCompanions(problem, warnings=tuple(warnings))
    return LoadedCompanions(None, encryption, audit, tuple(warnings), audit_stream)
