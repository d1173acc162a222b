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
from collections.abc import Callable

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
        self._inflight: Counter[str] = Counter()
        self._etcd_s: list[float] = []
        self._sections: list[Callable[[], list[str]]] = []

    def add_section(self, render: Callable[[], list[str]]) -> None:
        """Add exposition lines another part of the server owns (the reload controllers)."""
        with self._lock:
            self._sections.append(render)

    def record_request(self, verb: str, resource: str, subresource: str, code: int) -> None:
        """Count one answered request (``apiserver_request_total``)."""
        with self._lock:
            self._requests[(verb, resource, subresource, str(code))] += 1

    def request_started(self, kind: str) -> None:
        """A request of ``kind`` (``readOnly`` or ``mutating``) is being served."""
        with self._lock:
            self._inflight[kind] += 1

    def request_finished(self, kind: str) -> None:
        """The request counted by :meth:`request_started` was answered."""
        with self._lock:
            self._inflight[kind] -= 1

    def observe_etcd(self, seconds: float) -> None:
        """Time one request to etcd (``etcd_request_duration_seconds``)."""
        with self._lock:
            self._etcd_s.append(seconds)

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
            inflight = {kind: self._inflight[kind] for kind in ("mutating", "readOnly")}
            etcd_s = list(self._etcd_s)
            sections = list(self._sections)
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
            "# HELP apiserver_current_inflight_requests [STABLE] Maximal number of currently"
            " used inflight request limit of this apiserver per request kind in last second.",
            "# TYPE apiserver_current_inflight_requests gauge",
        ]
        lines += [
            f'apiserver_current_inflight_requests{{request_kind="{kind}"}} {count}'
            for kind, count in inflight.items()
        ]
        lines += _etcd_histogram(etcd_s)
        for section in sections:
            lines += section()
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


#: The buckets kube-apiserver uses for etcd_request_duration_seconds (1.31).
_ETCD_BUCKETS = (0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2, 3, 4, 5, 6, 8, 10)


def _etcd_histogram(samples: list[float]) -> list[str]:
    """Render the etcd latency histogram; the lab's only etcd requests are health probes."""
    labels = 'operation="get",type="health"'
    lines = [
        "# HELP etcd_request_duration_seconds [ALPHA] Etcd request latency in seconds for each"
        " operation and object type.",
        "# TYPE etcd_request_duration_seconds histogram",
    ]
    for bound in _ETCD_BUCKETS:
        count = sum(1 for s in samples if s <= bound)
        lines.append(f'etcd_request_duration_seconds_bucket{{{labels},le="{bound}"}} {count}')
    lines += [
        f'etcd_request_duration_seconds_bucket{{{labels},le="+Inf"}} {len(samples)}',
        f"etcd_request_duration_seconds_sum{{{labels}}} {sum(samples)}",
        f"etcd_request_duration_seconds_count{{{labels}}} {len(samples)}",
    ]
    return lines


def _resident_bytes() -> int:
    """Read this process's resident set size from ``/proc`` (0 where unavailable)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as handle:
            return int(handle.read().split()[1]) * _PAGE_SIZE
    except (OSError, ValueError, IndexError):
        return 0
