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

The authentication configuration is watched the same way (1.30+, k8s.io/kubernetes
``pkg/kubeapiserver/options/authentication.go`` ``ApplyTo``), with its own texts and rules: a
read error is logged (``failed to read authentication config file``), counted and retried; a
file that does not decode or validate is logged (``failed to load authentication config``,
``failed to validate authentication config``), counted once and not retried until it changes.

The authorization configuration (1.30+, k8s.io/kubernetes ``pkg/kubeapiserver/authorizer/
reload.go`` ``runReload``/``checkFile``): a success is recorded when the watch starts; then a
read error is logged (``reloading authorization config``), counted and retried; new bytes are
logged (``found new authorization config data``) and loaded with the non-webhook types the
server started with required; an error is counted once for those bytes; a configuration equal
to the loaded one is no reload.

Upstream polls every minute (``EncryptionConfigFileChangePollDuration``, and ``WatchUntil``'s
minute for authentication); the lab polls every ``DEPLOYER_LAB_RELOAD_POLL_S`` seconds (1 by
default) so tests do not wait a minute.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from deployer.lab.apiserver.companions.authentication import load_problem, validate
from deployer.lab.apiserver.companions.authorization import load_and_validate, non_webhook_types
from deployer.lab.apiserver.companions.decode import parse
from deployer.lab.apiserver.companions.encryption import config_hash, load_encryption
from deployer.lab.apiserver.companions.fielderr import aggregate
from deployer.lab.apiserver.companions.reload_metrics import (
    ConfigReloadMetrics,
    ReloadMetrics,
)
from deployer.lab.apiserver.klog import Klog

__all__ = ["AuthenticationReloader", "AuthorizationReloader", "EncryptionReloader"]


class _Poller:
    """The controllers' loop: check the file on a timer until the server stops.

    Upstream's controllers requeue on a fixed interval (a minute); the lab polls faster.
    """

    def poll_once(self) -> str | None:
        """Check the file once; return ``"success"``, ``"failure"`` or ``None`` (unchanged)."""
        raise NotImplementedError

    def run(self, stop: threading.Event, interval_s: float) -> None:
        """Poll until ``stop`` is set (the thread's body)."""
        while not stop.wait(interval_s):
            self.poll_once()


class EncryptionReloader(_Poller):
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


class _ConfigPoller(_Poller):
    """What the authentication and authorization config controllers share.

    A file, how to read it through the pod's mounts, the minor, the outcome counters, the log.
    """

    def __init__(
        self,
        path: str,
        read: Callable[[str], bytes | None],
        minor: int,
        metrics: ConfigReloadMetrics,
        log: Klog,
    ) -> None:
        self._path = path
        self._read = read
        self._minor = minor
        self._metrics = metrics
        self._log = log

    def _fail(self, at: str, message: str, err: str) -> str:
        """Log upstream's error line and count a failed reload."""
        self._log.error_s(at, message, err=err)
        self._metrics.record("failure")
        return "failure"


class AuthenticationReloader(_ConfigPoller):
    """Poll the authentication configuration file and reload it when its content changes.

    Args:
        path: the file's container path.
        read: returns the file's bytes through the pod's mounts, ``None`` when missing.
        minor: the Kubernetes minor.
        loaded: the content loaded at startup.
        metrics: where outcomes are counted.
        log: the process's logger.
    """

    def __init__(
        self,
        path: str,
        read: Callable[[str], bytes | None],
        minor: int,
        loaded: bytes,
        metrics: ConfigReloadMetrics,
        log: Klog,
    ) -> None:
        super().__init__(path, read, minor, metrics, log)
        self._tracked = loaded

    def poll_once(self) -> str | None:
        """Check the file once; return ``"success"``, ``"failure"`` or ``None`` (unchanged)."""
        data = self._read(self._path)
        if data is None:
            return self._fail(
                "authentication.go:750",
                "failed to read authentication config file",
                f"open {self._path}: no such file or directory",
            )
        if data == self._tracked:
            return None
        self._tracked = data  # a bad file is not retried until it changes, as upstream
        problem = load_problem(data, self._minor)
        if problem:
            return self._fail(
                "authentication.go:764", "failed to load authentication config", problem
            )
        errors = validate(parse(data).body, self._minor)
        if errors:
            return self._fail(
                "authentication.go:776",
                "failed to validate authentication config",
                aggregate(errors, self._minor),
            )
        self._log.info_s("authentication.go:793", "reloaded authentication config")
        self._metrics.record("success", data)
        return "success"


class AuthorizationReloader(_ConfigPoller):
    """Poll the authorization configuration file and reload it when its content changes.

    Args:
        path: the file's container path.
        read: returns the file's bytes through the pod's mounts, ``None`` when missing.
        minor: the Kubernetes minor.
        loaded: the content loaded at startup.
        metrics: where outcomes are counted (the watch's start is counted as a success).
        log: the process's logger.
    """

    def __init__(
        self,
        path: str,
        read: Callable[[str], bytes | None],
        minor: int,
        loaded: bytes,
        metrics: ConfigReloadMetrics,
        log: Klog,
    ) -> None:
        super().__init__(path, read, minor, metrics, log)
        self._last_read = loaded
        self._loaded = parse(loaded).body if loaded else {}
        self._required = non_webhook_types(loaded)
        metrics.record("success", loaded if minor >= 34 else None)

    def poll_once(self) -> str | None:
        """Check the file once; return ``"success"``, ``"failure"`` or ``None`` (unchanged)."""
        data = self._read(self._path)
        if data is None:
            return self._fail(
                "reload.go:255",
                "reloading authorization config",
                f"open {self._path}: no such file or directory",
            )
        if data == self._last_read:
            return None
        self._log.info_s("reload.go:262", "found new authorization config data")
        self._last_read = data
        problem = load_and_validate(
            data, self._minor, lambda p: self._read(p) is not None, self._required
        )
        if problem:
            return self._fail("reload.go:267", "reloading authorization config", problem)
        body = parse(data).body if data else {}
        if body == self._loaded:
            return None
        self._log.info_s("reload.go:276", "found new authorization config")
        self._loaded = body
        self._metrics.record("success", data if self._minor >= 34 else None)
        return "success"
