"""The encryption config controller's metrics, with the names, labels and help of each minor.

Why exact names: the tool waits for a reload by reading these series (issue 10: "verify waits
for the reload evidence"), and the names changed twice. Source: k8s.io/apiserver
``pkg/server/options/encryptionconfig/metrics/metrics.go`` at each tag:
- v0.28: ``apiserver_encryption_config_controller_automatic_reload_failures_total`` and
  ``..._automatic_reload_success_total`` without labels,
  ``..._automatic_reload_last_timestamp_seconds{status}``;
- v0.29: the same with ``apiserver_id_hash`` on each;
- v0.30: ``..._automatic_reloads_total{apiserver_id_hash,status}``; the two older counters are
  deprecated in 1.30.0 (still shown in 1.30, hidden from 1.31 as component-base hides a metric
  one minor after its deprecation), and removed in v0.34;
- v0.34: ``..._last_config_info{apiserver_id_hash,hash}`` (value 1), set at startup by
  ``pkg/server/options/etcd.go`` and after each successful reload.

``apiserver_id_hash`` is ``getHash``: ``sha256:`` and the hex SHA-256 of the apiserver ID;
the ID is ``pkg/server/config.go`` ``NewConfig``'s ``apiserver-`` + lowercase unpadded base32
of the first 16 bytes of SHA-256 over the length-prefixed hostname and ``kube-apiserver``.
A counter vector with no series prints nothing, as the Prometheus client does.
"""

from __future__ import annotations

import base64
import hashlib
import threading
import time

from deployer.schema.gofmt import go_format_float

__all__ = ["ConfigReloadMetrics", "ReloadMetrics", "apiserver_id", "id_hash"]

_PREFIX = "apiserver_encryption_config_controller_"


def apiserver_id(hostname: str) -> str:
    """The kube-apiserver identity of a host (``APIServerIdentity``, on since 1.26)."""
    data = b""
    for part in (hostname.encode(), b"kube-apiserver"):
        data += len(part).to_bytes(2, "big") + part
    digest = hashlib.sha256(data).digest()[:16]
    return "apiserver-" + base64.b32encode(digest).decode().rstrip("=").lower()


def id_hash(identity: str) -> str:
    """``getHash``: empty for an empty ID."""
    return f"sha256:{hashlib.sha256(identity.encode()).hexdigest()}" if identity else ""


class ReloadMetrics:
    """Counts of one process's encryption config reloads, rendered for its minor."""

    def __init__(self, minor: int, identity: str) -> None:
        self._minor = minor
        self._id_hash = id_hash(identity)
        self._lock = threading.Lock()
        self._counts = {"success": 0, "failure": 0}
        self._last: dict[str, float] = {}
        self._config_hash = ""

    def record(self, status: str, config_hash: str = "") -> None:
        """Count one reload outcome (``success`` or ``failure``) now."""
        with self._lock:
            self._counts[status] += 1
            self._last[status] = time.time()
            if status == "success" and config_hash:
                self._config_hash = config_hash

    def set_config(self, config_hash: str) -> None:
        """Record the configuration loaded at startup (``last_config_info``, 1.34+)."""
        with self._lock:
            self._config_hash = config_hash

    def counts(self) -> dict[str, int]:
        """Return the success and failure counts (for tests and the lab's status)."""
        with self._lock:
            return dict(self._counts)

    def render(self) -> list[str]:
        """Return the exposition lines of the minor's metric set."""
        with self._lock:
            counts = dict(self._counts)
            last = dict(self._last)
            config_hash = self._config_hash
        minor, ident = self._minor, self._id_hash
        lines: list[str] = []
        if minor >= 30:
            lines += _counter(
                "automatic_reloads_total",
                "Total number of reload successes and failures of encryption configuration split "
                "by apiserver identity.",
                [(f'apiserver_id_hash="{ident}",status="{s}"', counts[s]) for s in sorted(counts)],
            )
        if minor <= 30:
            deprecated = "(Deprecated since 1.30.0) " if minor == 30 else ""
            split = " split by apiserver identity" if minor >= 29 else ""
            labels = f'apiserver_id_hash="{ident}"' if minor >= 29 else ""
            for name, status, word in (
                ("automatic_reload_failures_total", "failure", "failed"),
                ("automatic_reload_success_total", "success", "successful"),
            ):
                lines += _counter(
                    name,
                    f"{deprecated}Total number of {word} automatic reloads of encryption "
                    f"configuration{split}.",
                    [(labels, counts[status])],
                )
        split = " split by apiserver identity" if minor >= 29 else ""
        stamps = [
            (
                f'apiserver_id_hash="{ident}",status="{s}"' if minor >= 29 else f'status="{s}"',
                last[s],
            )
            for s in sorted(last)
        ]
        if stamps:
            lines += [
                f"# HELP {_PREFIX}automatic_reload_last_timestamp_seconds [ALPHA] Timestamp of the "
                f"last successful or failed automatic reload of encryption configuration{split}.",
                f"# TYPE {_PREFIX}automatic_reload_last_timestamp_seconds gauge",
            ]
            lines += [
                f"{_PREFIX}automatic_reload_last_timestamp_seconds{{{labels}}} "
                + go_format_float(value)
                for labels, value in stamps
            ]
        if minor >= 34 and config_hash:
            lines += [
                f"# HELP {_PREFIX}last_config_info [ALPHA] Information about the last applied "
                "encryption configuration with hash as label, split by apiserver identity.",
                f"# TYPE {_PREFIX}last_config_info gauge",
                f'{_PREFIX}last_config_info{{apiserver_id_hash="{ident}",hash="{config_hash}"}} 1',
            ]
        return lines


def _counter(name: str, help_text: str, series: list[tuple[str, int]]) -> list[str]:
    # A vector's series appears with its first increment; a plain counter is always there.
    shown = [(labels, value) for labels, value in series if value or not labels]
    if not shown:
        return []
    lines = [f"# HELP {_PREFIX}{name} [ALPHA] {help_text}", f"# TYPE {_PREFIX}{name} counter"]
    for labels, value in shown:
        lines.append(
            f"{_PREFIX}{name}{{{labels}}} {value}" if labels else f"{_PREFIX}{name} {value}"
        )
    return lines


class ConfigReloadMetrics:
    """The authentication or authorization config controller's metrics (1.30+).

    Sources: k8s.io/apiserver ``pkg/server/options/authenticationconfig/metrics/metrics.go`` and
    ``.../authorizationconfig/metrics/metrics.go``: ``apiserver_<noun>_config_controller_``
    ``automatic_reloads_total{apiserver_id_hash,status}`` and
    ``..._automatic_reload_last_timestamp_seconds`` (ALPHA, BETA from v0.34), and from v0.34
    ``..._last_config_info{apiserver_id_hash,hash}``, the hash being ``sha256:`` and the hex
    SHA-256 of the file's content, set at startup and after each successful reload.

    Args:
        noun: ``authentication`` or ``authorization``.
        minor: the Kubernetes minor.
        identity: the apiserver ID.
    """

    def __init__(self, noun: str, minor: int, identity: str) -> None:
        self._noun = noun
        self._prefix = f"apiserver_{noun}_config_controller_"
        self._minor = minor
        self._id_hash = id_hash(identity)
        self._lock = threading.Lock()
        self._counts = {"success": 0, "failure": 0}
        self._last: dict[str, float] = {}
        self._data_hash = ""

    def record(self, status: str, data: bytes | None = None) -> None:
        """Count one reload outcome now; with ``data`` (1.34+) also its content hash."""
        with self._lock:
            self._counts[status] += 1
            self._last[status] = time.time()
            if data is not None:
                self._data_hash = _data_hash(data)

    def set_config(self, data: bytes) -> None:
        """Record the file loaded at startup."""
        with self._lock:
            self._data_hash = _data_hash(data)

    def counts(self) -> dict[str, int]:
        """Return the success and failure counts."""
        with self._lock:
            return dict(self._counts)

    def render(self) -> list[str]:
        """Return the exposition lines of the minor's metric set."""
        if self._minor < 30:
            return []
        level = "BETA" if self._minor >= 34 else "ALPHA"
        with self._lock:
            counts = dict(self._counts)
            last = dict(self._last)
            data_hash = self._data_hash
        ident, prefix, noun = self._id_hash, self._prefix, self._noun
        lines: list[str] = []
        series = [(s, counts[s]) for s in sorted(counts) if counts[s]]
        if series:
            lines += [
                f"# HELP {prefix}automatic_reloads_total [{level}] Total number of automatic "
                f"reloads of {noun} configuration split by status and apiserver identity.",
                f"# TYPE {prefix}automatic_reloads_total counter",
            ]
            lines += [
                f'{prefix}automatic_reloads_total{{apiserver_id_hash="{ident}",status="{s}"}} {n}'
                for s, n in series
            ]
        if last:
            lines += [
                f"# HELP {prefix}automatic_reload_last_timestamp_seconds [{level}] Timestamp of "
                f"the last automatic reload of {noun} configuration split by status and "
                "apiserver identity.",
                f"# TYPE {prefix}automatic_reload_last_timestamp_seconds gauge",
            ]
            lines += [
                f'{prefix}automatic_reload_last_timestamp_seconds{{apiserver_id_hash="{ident}",'
                f'status="{s}"}} ' + go_format_float(last[s])
                for s in sorted(last)
            ]
        if self._minor >= 34 and data_hash:
            lines += [
                f"# HELP {prefix}last_config_info [ALPHA] Information about the last applied "
                f"{noun} configuration with hash as label, split by apiserver identity.",
                f"# TYPE {prefix}last_config_info gauge",
                f'{prefix}last_config_info{{apiserver_id_hash="{ident}",hash="{data_hash}"}} 1',
            ]
        return lines


def _data_hash(data: bytes) -> str:
    return f"sha256:{hashlib.sha256(data).hexdigest()}" if data else ""
