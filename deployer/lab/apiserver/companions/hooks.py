"""The few calls ``main`` makes into the companion files: validate, load, start reloading.

Why a module of its own: ``main.py`` stays a sequence of the binary's startup steps; what each
step does with the companion files (and the reload thread's wiring) lives here.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Mapping, Sequence

from deployer.lab.apiserver.companions.auditlog import AuditLog
from deployer.lab.apiserver.companions.record import RequestRecord
from deployer.lab.apiserver.companions.reload import (
    AuthenticationReloader,
    AuthorizationReloader,
    EncryptionReloader,
)
from deployer.lab.apiserver.companions.reload_metrics import (
    ConfigReloadMetrics,
    ReloadMetrics,
    apiserver_id,
)
from deployer.lab.apiserver.companions.startup import (
    LoadedCompanions,
    gate_enabled,
    load_companions,
    minor_of,
    validate_errors,
)
from deployer.lab.apiserver.flags import ParsedArgs, Stage, StartupProblem
from deployer.lab.apiserver.klog import Klog
from deployer.lab.apiserver.metrics import RequestMetrics
from deployer.lab.apiserver.mounts import MountTable

__all__ = [
    "LoadedCompanions",
    "audit_observers",
    "companion_problems",
    "load_companions",
    "start_reloads",
]


def companion_problems(
    args: ParsedArgs, mounts: MountTable, version: str, problems: Sequence[StartupProblem]
) -> list[StartupProblem]:
    """The ``Validate()`` problems the companion files add, after the flag-value ones."""
    flag_errors = [p.message for p in problems if p.stage is Stage.VALIDATE]
    return [
        StartupProblem(Stage.VALIDATE, message, None)
        for message in validate_errors(args, mounts, version, flag_errors)
    ]


def audit_observers(companions: LoadedCompanions) -> list[Callable[[RequestRecord], None]]:
    """The audit log backend's request observer, when a policy and a log path are set."""
    if companions.audit is None or companions.audit_stream is None:
        return []
    return [AuditLog(companions.audit, companions.audit_stream).record]


def start_reloads(
    args: ParsedArgs,
    mounts: MountTable,
    version: str,
    companions: LoadedCompanions,
    metrics: RequestMetrics,
    log: Klog,
    stop: threading.Event,
    env: Mapping[str, str],
) -> None:
    """Expose the reload metrics and start the pollers the flags turn on."""
    minor = minor_of(version)
    identity = apiserver_id(env.get("DEPLOYER_LAB_NODE_NAME") or socket.gethostname())
    try:
        interval = max(float(env.get("DEPLOYER_LAB_RELOAD_POLL_S", "1")), 0.05)
    except ValueError:
        interval = 1.0

    def read(path: str) -> bytes | None:
        host = mounts.resolve(path)
        try:
            return host.read_bytes() if host is not None and host.is_file() else None
        except OSError:
            return None

    def start(target: Callable[[threading.Event, float], None], name: str) -> None:
        thread = threading.Thread(target=target, args=(stop, interval), name=name, daemon=True)
        thread.start()

    if companions.encryption is not None:
        encryption_metrics = ReloadMetrics(minor, identity)
        encryption_metrics.set_config(companions.encryption.hash)
        metrics.add_section(encryption_metrics.render)
        if args.flag("encryption-provider-config-automatic-reload"):
            encryption = EncryptionReloader(
                args.text("encryption-provider-config"),
                read,
                minor,
                companions.encryption.hash,
                encryption_metrics,
                log,
                kms_v1=gate_enabled(args, "KMSv1", minor < 29),
            )
            start(encryption.run, "encryption-reload")
    path = args.text("authentication-config")
    loaded = read(path) if path else None
    if loaded is not None and minor >= 30:
        authn_metrics = ConfigReloadMetrics("authentication", minor, identity)
        authn_metrics.set_config(loaded)
        metrics.add_section(authn_metrics.render)
        authentication = AuthenticationReloader(path, read, minor, loaded, authn_metrics, log)
        start(authentication.run, "authentication-reload")
    path = args.text("authorization-config")
    loaded = read(path) if path else None
    if loaded is not None and minor >= 30:
        authz_metrics = ConfigReloadMetrics("authorization", minor, identity)
        metrics.add_section(authz_metrics.render)
        authorization = AuthorizationReloader(path, read, minor, loaded, authz_metrics, log)
        start(authorization.run, "authorization-reload")
