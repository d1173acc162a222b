"""The metrics summary reads the lab apiserver's real exposition; klog lines are counted."""

from __future__ import annotations

import io
import json
import time

import pytest

from deployer.doctor.logs import audit_summary, klog_severities
from deployer.doctor.metrics import sparkline
from deployer.facts.metrics import parse_metrics
from deployer.lab.apiserver.klog import Klog
from deployer.lab.apiserver.metrics import RequestMetrics


def test_figures_from_the_lab_apiservers_metrics() -> None:
    metrics = RequestMetrics(time.time() - 60)
    for code in (200, 200, 200, 500):
        metrics.record_request("GET", "", "/readyz", code)
    metrics.record_request("LIST", "componentstatuses", "", 200)
    metrics.observe_etcd(0.002)
    metrics.observe_etcd(0.004)
    metrics.request_started("readOnly")

    snapshot = parse_metrics(metrics.render())

    assert snapshot.requests_total == 5
    assert snapshot.requests_5xx == 1
    assert snapshot.by_request[("GET", "/readyz", "500")] == 1
    assert snapshot.by_request[("LIST", "componentstatuses", "200")] == 1
    assert snapshot.etcd_mean_s == pytest.approx(0.003)
    assert snapshot.etcd_requests == 2
    assert snapshot.inflight == {"mutating": 0, "readOnly": 1}
    assert snapshot.start_time_s is not None and snapshot.resident_bytes is not None


def test_no_request_counter_is_told_apart_from_zero_requests() -> None:
    assert parse_metrics("# TYPE up gauge\nup 1\n").requests_total is None
    with pytest.raises(ValueError, match="could not convert"):
        parse_metrics("this is { not the text format\n")


def test_sparkline_scales_to_the_largest_value() -> None:
    assert sparkline([0, 1, 2, 4]) == "▁▂▄█"
    assert sparkline([0, 0]) == "▁▁"
    assert sparkline([]) == ""


def test_klog_severities_of_the_lab_apiservers_log() -> None:
    out = io.StringIO()
    log = Klog(out, verbosity=0)
    log.info("server.go:142", "Version: v1.31.13")
    log.error_s("run.go:72", "command failed", err="boom")
    lines = [*out.getvalue().splitlines(), "Error: unknown flag: --foo"]
    assert klog_severities(lines) == {"info": 1, "error": 1}


def test_audit_events_are_summarised_without_their_objects() -> None:
    event = {
        "kind": "Event",
        "apiVersion": "audit.k8s.io/v1",
        "level": "RequestResponse",
        "stage": "ResponseComplete",
        "requestURI": "/api/v1/namespaces/default/secrets/db?timeout=32s",
        "verb": "get",
        "user": {"username": "kubernetes-admin", "groups": ["system:masters"]},
        "responseStatus": {"metadata": {}, "code": 200},
        "responseObject": {"kind": "Secret", "data": {"password": "aHVudGVyMg=="}},
        "stageTimestamp": "2026-12-01T20:00:00.000000Z",
    }
    line = audit_summary(json.dumps(event))
    assert line == (
        "2026-12-01T20:00:00.000000Z get /api/v1/namespaces/default/secrets/db 200 "
        "by kubernetes-admin"
    )
    assert audit_summary("{not json") == "(not a JSON audit event)"
