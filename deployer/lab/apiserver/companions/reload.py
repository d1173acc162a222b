"""Re-read the encryption configuration while serving, as the real controller does.

Why: with ``--encryption-provider-config-automatic-reload=true`` kube-apiserver applies a new
``EncryptionConfiguration`` without a restart, so the tool writes the file and waits for the
reload metric instead of restarting the pod. The lab must reload (and count) the same way for
that path to be tested. Source: k8s.io/apiserver
``pkg/server/options/encryptionconfig/controller/controller.go``: on a timer the controller
hashes the file (``GetEncryptionConfigHash``); when the hash differs from the last loaded one
it loads the file with ``reload=true``; success swaps the transformers and records success
(and ``last_config_info``); an error keeps the old transformers, records a failure and logs
``error processing encryption config file %s: %v`` through ``utilruntime.HandleError``, and the
file is tried again.

Upstream polls every minute (``EncryptionConfigFileChangePollDuration``); the lab polls every
``DEPLOYER_LAB_RELOAD_POLL_S`` seconds (1 by default) so tests do not wait a minute.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from deployer.lab.apiserver.companions.encryption import config_hash, load_encryption
from deployer.lab.apiserver.companions.reload_metrics import ReloadMetrics
from deployer.lab.apiserver.klog import Klog

__all__ = ["EncryptionReloader"]


class EncryptionReloader:
    """Poll one encryption configuration file and reload it when it changes.

    Args:
        path: the file's container path (for messages).
        read: returns the file's bytes through the pod's mounts, ``None`` when missing.
        minor: the Kubernetes minor (texts and hash form).
        loaded_hash: the hash of the configuration loaded at startup.
        metrics: where outcomes are counted.
        log: the process's logger.
        kms_v1: the ``KMSv1`` feature gate.
    """

    def __init__(
        self,
        path: str,
        read: Callable[[str], bytes | None],
        minor: int,
        loaded_hash: str,
        metrics: ReloadMetrics,
        log: Klog,
        *,
        kms_v1: bool,
    ) -> None:
        self._path = path
        self._read = read
        self._minor = minor
        self._loaded = loaded_hash
        self._metrics = metrics
        self._log = log
        self._kms_v1 = kms_v1

    @property
    def loaded_hash(self) -> str:
        """The hash of the configuration in use."""
        return self._loaded

    def poll_once(self) -> str | None:
        """Check the file once; return ``"success"``, ``"failure"`` or ``None`` (unchanged)."""
        data = self._read(self._path)
        # GetEncryptionConfigHash: loadDataAndHash's errors, without LoadEncryptionConfig's wrap.
        if data is None:
            verb = "reading" if self._minor >= 30 else "opening"
            return self._failed(
                f'error {verb} encryption provider configuration file "{self._path}": '
                f"open {self._path}: no such file or directory"
            )
        if not data:
            return self._failed(f'encryption provider configuration file "{self._path}" is empty')
        if config_hash(data, self._minor) == self._loaded:
            return None
        problem, config = load_encryption(
            self._path, data, self._minor, reload=True, kms_v1=self._kms_v1
        )
        if problem or config is None:
            return self._failed(problem or "unknown error")
        self._loaded = config.hash
        self._metrics.record("success", config.hash)
        if self._log.v(2):
            self._log.info_s(
                "controller.go:216",
                "Loaded new kms encryption config content",
                name="kms-encryption-config",
            )
        return "success"

    def _failed(self, error: str) -> str:
        self._metrics.record("failure")
        self._log.error_s(
            "controller.go:182",
            "Unhandled Error",
            err=f"error processing encryption config file {self._path}: {error}",
            logger="UnhandledError",
        )
        return "failure"

    def run(self, stop: threading.Event, interval_s: float) -> None:
        """Poll until ``stop`` is set (the thread's body)."""
        while not stop.wait(interval_s):
            self.poll_once()
