"""Count requests and render ``/metrics`` in the Prometheus text format, with real metric names.

Why: the tool's converge runs and operators' dashboards read apiserver metrics by name
(``apiserver_request_total``, ``process_start_time_seconds``); the lab answers with those names,
labels and HELP texts so a scrape configuration can be tried against it.
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter

__all__ = ["RequestMetrics"]

_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


class RequestMetrics:
    """Thread-safe request counters of one server process.

    Args:
        start_time_s: the process start (Unix time), for ``process_start_time_seconds``.
    """

    def __init__(self, start_time_s: float) -> None:
        self._start_time_s = start_time_s
        self._lock = threading.Lock()
        self._requests: Counter[tuple[str, str, str, str]] = Counter()
        self._health: dict[tuple[str, str], bool] = {}

    def record_request(self, verb: str, resource: str, subresource: str, code: int) -> None:
        """Count one answered request (``apiserver_request_total``)."""
        with self._lock:
            self._requests[(verb, resource, subresource, str(code))] += 1

    def record_health(self, endpoint: str, name: str, ok: bool) -> None:
        """Remember a health check's last result (``kubernetes_healthcheck``)."""
        with self._lock:
            self._health[(endpoint, name)] = ok

    def render(self) -> str:
        """Return the exposition text."""
        lines = [
            "# HELP apiserver_request_total [STABLE] Counter of apiserver requests broken out for"
            " each verb, dry run value, group, version, resource, scope, component, and HTTP"
            " response code.",
            "# TYPE apiserver_request_total counter",
        ]
        with self._lock:
            requests = sorted(self._requests.items())
            health = sorted(self._health.items())
        for (verb, resource, subresource, code), count in requests:
            scope = "cluster" if resource else ""
            version = "v1" if resource else ""
            lines.append(
                f'apiserver_request_total{{code="{code}",component="apiserver",dry_run="",'
                f'group="",resource="{resource}",scope="{scope}",subresource="{subresource}",'
                f'verb="{verb}",version="{version}"}} {count}'
            )
        lines += [
            "# HELP kubernetes_healthcheck [STABLE] This metric records the result of a single"
            " healthcheck.",
            "# TYPE kubernetes_healthcheck gauge",
        ]
        for (endpoint, name), ok in health:
            lines.append(
                f'kubernetes_healthcheck{{name="{name}",type="{endpoint}"}} {1 if ok else 0}'
            )
        lines += [
            "# HELP process_resident_memory_bytes [ALPHA] Resident memory size in bytes.",
            "# TYPE process_resident_memory_bytes gauge",
            f"process_resident_memory_bytes {_resident_bytes()}",
            "# HELP process_start_time_seconds [ALPHA] Start time of the process since unix epoch"
            " in seconds.",
            "# TYPE process_start_time_seconds gauge",
            f"process_start_time_seconds {self._start_time_s:.2f}",
            "# HELP process_cpu_seconds_total [ALPHA] Total user and system CPU time spent in"
            " seconds.",
            "# TYPE process_cpu_seconds_total counter",
            f"process_cpu_seconds_total {time.process_time():.2f}",
        ]
        return "\n".join(lines) + "\n"


def _resident_bytes() -> int:
    """Read this process's resident set size from ``/proc`` (0 where unavailable)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as handle:
            return int(handle.read().split()[1]) * _PAGE_SIZE
    except (OSError, ValueError, IndexError):
        return 0
