"""Read kube-apiserver's ``/metrics``: the few figures doctor and verify report.

Why ``prometheus_client``'s parser: it is the exposition format's reference implementation in
Python (already a dependency for converge's metrics file), so the text is never picked apart
by regex. Metric names are kube-apiserver's own: ``apiserver_request_total`` [STABLE],
``etcd_request_duration_seconds``, ``apiserver_current_inflight_requests`` [STABLE],
``process_resident_memory_bytes``, ``process_start_time_seconds``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client.parser import text_string_to_metric_families

__all__ = ["MetricsSnapshot", "parse_metrics"]


@dataclass(frozen=True, slots=True)
class MetricsSnapshot:
    """The figures doctor and verify read from one scrape."""

    #: Sum of ``apiserver_request_total``; None when the metric is absent.
    requests_total: float | None
    #: The same, for codes 5xx.
    requests_5xx: float
    #: (verb, resource, code) -> count, for the table.
    by_request: dict[tuple[str, str, str], float] = field(default_factory=dict)
    #: Mean etcd request latency in seconds (``etcd_request_duration_seconds``), if served.
    etcd_mean_s: float | None = None
    etcd_requests: float = 0.0
    #: ``apiserver_current_inflight_requests`` by ``request_kind``.
    inflight: dict[str, float] = field(default_factory=dict)
    resident_bytes: float | None = None
    start_time_s: float | None = None


def parse_metrics(text: str) -> MetricsSnapshot:
    """Read the figures from the exposition text.

    Raises:
        ValueError: the text is not the Prometheus text format.
    """
    total: float | None = None
    errors = 0.0
    by_request: dict[tuple[str, str, str], float] = {}
    etcd_sum = 0.0
    etcd_count = 0.0
    has_etcd = False
    inflight: dict[str, float] = {}
    resident: float | None = None
    start: float | None = None
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            name, labels, value = sample.name, sample.labels, float(sample.value)
            if name == "apiserver_request_total":
                total = (total or 0.0) + value
                code = labels.get("code", "")
                if code.startswith("5"):
                    errors += value
                what = labels.get("resource") or labels.get("subresource", "")
                key = (labels.get("verb", ""), what, code)
                by_request[key] = by_request.get(key, 0.0) + value
            elif name == "etcd_request_duration_seconds_sum":
                etcd_sum += value
                has_etcd = True
            elif name == "etcd_request_duration_seconds_count":
                etcd_count += value
            elif name == "apiserver_current_inflight_requests":
                inflight[labels.get("request_kind", "")] = value
            elif name == "process_resident_memory_bytes":
                resident = value
            elif name == "process_start_time_seconds":
                start = value
    return MetricsSnapshot(
        requests_total=total,
        requests_5xx=errors,
        by_request=by_request,
        etcd_mean_s=etcd_sum / etcd_count if has_etcd and etcd_count else None,
        etcd_requests=etcd_count,
        inflight=inflight,
        resident_bytes=resident,
        start_time_s=start,
    )
