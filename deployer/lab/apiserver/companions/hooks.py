"""The few calls ``main`` makes into the companion files: validate, load, start reloading.

Why a module of its own: ``main.py`` stays a sequence of the binary's startup steps; what each
step does with the companion files (and the reload thread's wiring) lives here.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Mapping, Sequence

from deployer.lab.apiserver.companions.reload import EncryptionReloader
from deployer.lab.apiserver.companions.reload_metrics import ReloadMetrics, apiserver_id
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

__all__ = ["LoadedCompanions", "companion_problems", "load_companions", "start_reloads"]


def companion_problems(
    args: ParsedArgs, mounts: MountTable, version: str, problems: Sequence[StartupProblem]
) -> list[StartupProblem]:
    """The ``Validate()`` problems the companion files add, after the flag-value ones."""
    flag_errors = [p.message for p in problems if p.stage is Stage.VALIDATE]
    return [
        StartupProblem(Stage.VALIDATE, message, None)
        for message in validate_errors(args, mounts, version, flag_errors)
    ]


def start_reloads(
    args: ParsedArgs,
    mounts: MountTable,
    version: str,
    companions: LoadedCompanions,
    metrics: RequestMetrics,
    log: Klog,
    stop: threading.Event,
    env: Mapping[str, str],
) -> EncryptionReloader | None:
    """Expose the encryption metrics and, with automatic reload on, start the poller."""
    if companions.encryption is None:
        return None
    minor = minor_of(version)
    hostname = env.get("DEPLOYER_LAB_NODE_NAME") or socket.gethostname()
    reload_metrics = ReloadMetrics(minor, apiserver_id(hostname))
    reload_metrics.set_config(companions.encryption.hash)
    metrics.add_section(reload_metrics.render)
    if not args.flag("encryption-provider-config-automatic-reload"):
        return None

    def read(path: str) -> bytes | None:
        host = mounts.resolve(path)
        try:
            return host.read_bytes() if host is not None and host.is_file() else None
        except OSError:
            return None

    reloader = EncryptionReloader(
        args.text("encryption-provider-config"),
        read,
        minor,
        companions.encryption.hash,
        reload_metrics,
        log,
        kms_v1=gate_enabled(args, "KMSv1", minor < 29),
    )
    try:
        interval = float(env.get("DEPLOYER_LAB_RELOAD_POLL_S", "1"))
    except ValueError:
        interval = 1.0
    thread = threading.Thread(
        target=reloader.run, args=(stop, max(interval, 0.05)), name="encryption-reload", daemon=True
    )
    thread.start()
    return reloader
