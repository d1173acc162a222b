"""The stand-in's audit log backend: upstream's rule matching and the v1 Event lines."""

from __future__ import annotations

import datetime
import io
import json
from pathlib import Path

from deployer.lab.apiserver.app import classify
from deployer.lab.apiserver.auth import Identity
from deployer.lab.apiserver.companions.audit import load_policy
from deployer.lab.apiserver.companions.auditlog import AuditLog, level_for, open_log
from deployer.lab.apiserver.companions.record import RequestRecord

POLICY = b"""apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
- level: None
  users: [system:kube-proxy]
- level: None
  nonResourceURLs: [/healthz*, /readyz, /livez]
- level: RequestResponse
  resources:
  - group: ""
    resources: [configmaps]
    resourceNames: [kubeadm-config]
  namespaces: [kube-system]
- level: Request
  verbs: [list]
  resources: [{group: "", resources: ["pods/*"]}]
- level: Metadata
"""
ADMIN = Identity("kubernetes-admin", ("kubeadm:cluster-admins", "system:authenticated"))


def test_first_matching_rule_gives_the_level() -> None:
    policy = load_policy(POLICY, 31)
    cases = {
        ("GET", "/readyz", ADMIN): "None",
        ("GET", "/healthz/etcd", ADMIN): "None",
        ("GET", "/version", Identity("system:kube-proxy", ())): "None",
        ("GET", "/api/v1/namespaces/kube-system/configmaps/kubeadm-config", ADMIN): (
            "RequestResponse"
        ),
        ("GET", "/api/v1/namespaces/default/configmaps/kubeadm-config", ADMIN): "Metadata",
        ("GET", "/api/v1/namespaces/kube-system/pods", ADMIN): "Request",
        ("GET", "/version", ADMIN): "Metadata",
    }
    for (method, path, who), level in cases.items():
        got, omit = level_for(policy, classify(method, path), who)
        assert got == level, path
        assert omit == frozenset({"RequestReceived"})


def test_events_are_v1_json_lines_without_omitted_stages() -> None:
    stream = io.StringIO()
    log = AuditLog(load_policy(POLICY, 31), stream)
    received = datetime.datetime(2026, 12, 1, 23, 0, 0, 123456, tzinfo=datetime.UTC)
    path = "/api/v1/namespaces/kube-system/configmaps/kubeadm-config"
    request = classify("GET", path)
    log.record(
        RequestRecord("GET", path, request, ADMIN, 200, "kubectl/v1.31", "127.0.0.1", received)
    )
    log.record(
        RequestRecord("GET", "/readyz", classify("GET", "/readyz"), ADMIN, 200, "", "::1", received)
    )
    (line,) = stream.getvalue().splitlines()
    event = json.loads(line)
    assert list(event)[:5] == ["kind", "apiVersion", "level", "auditID", "stage"]
    assert event["stage"] == "ResponseComplete"
    assert event["level"] == "RequestResponse"
    assert event["verb"] == "get"
    assert event["objectRef"] == {
        "resource": "configmaps",
        "namespace": "kube-system",
        "name": "kubeadm-config",
        "apiVersion": "v1",
    }
    assert event["responseStatus"] == {"metadata": {}, "code": 200}
    assert event["requestReceivedTimestamp"] == "2026-12-01T23:00:00.123456Z"


def test_log_file_is_created_0600_and_a_read_only_mount_fails_the_start(tmp_path: Path) -> None:
    target = tmp_path / "audit" / "audit.log"
    stream, error = open_log(str(target), "/var/log/kubernetes/audit/audit.log", False)
    assert error is None and stream is not None
    stream.close()
    assert target.stat().st_mode & 0o777 == 0o600
    assert open_log(str(target), "/var/log/kubernetes/audit/audit.log", True) == (
        None,
        "ensureLogFile: open /var/log/kubernetes/audit/audit.log: read-only file system",
    )
