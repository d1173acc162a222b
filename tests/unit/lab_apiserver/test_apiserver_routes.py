"""Routes of the stand-in, driven without sockets: status codes, bodies, headers, life cycle."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from deployer.lab.apiserver.app import ApiServerApp, AppConfig, Reply
from deployer.lab.apiserver.auth import ANONYMOUS, Identity
from deployer.lab.apiserver.klog import Klog
from deployer.lab.apiserver.lifecycle import Lifecycle
from deployer.lab.apiserver.metrics import RequestMetrics
from deployer.lab.apiserver.probes import ComponentProbe, ProbeResult

ADMIN = Identity("kubernetes-admin", ("system:masters", "system:authenticated"))
SERVERS = ("https://127.0.10.1:2379",)


class ScriptedEtcd:
    """etcd health as a test sets it (unit tests open no sockets; integration tests use etcd)."""

    def __init__(self, reason: str | None = None) -> None:
        self.reason = reason
        self.calls = 0

    @property
    def servers(self) -> tuple[str, ...]:
        return SERVERS

    def check(self) -> str | None:
        self.calls += 1
        return self.reason

    def check_server(self, url: str) -> str | None:
        assert url in SERVERS
        return self.reason


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def refused(probe: ComponentProbe) -> ProbeResult:
    port = probe.url.split(":")[2].split("/")[0]
    return ProbeResult(
        False, f'Get "{probe.url}": dial tcp 127.0.0.1:{port}: connect: connection refused'
    )


def make_app(
    tmp_path: Path, etcd: ScriptedEtcd, clock: Clock, *, ready_after_s: float = 0.0
) -> tuple[ApiServerApp, Lifecycle, io.StringIO]:
    lifecycle = Lifecycle(ready_after_s, clock=clock)
    log_stream = io.StringIO()
    config = AppConfig(
        version="1.31.13",
        authorization_modes=("Node", "RBAC"),
        server_address="127.0.10.1:6443",
        faults_file=tmp_path / "faults.json",
    )
    app = ApiServerApp(
        config, etcd, lifecycle, RequestMetrics(1.0), Klog(log_stream, verbosity=2), refused
    )
    return app, lifecycle, log_stream


def header(reply: Reply, name: str) -> str | None:
    return next((value for key, value in reply.headers if key == name), None)


def test_startup_window_livez_ok_readyz_fails_hooks_not_finished(tmp_path: Path) -> None:
    clock = Clock()
    app, _, log = make_app(tmp_path, ScriptedEtcd(), clock, ready_after_s=5.0)
    assert app.handle("GET", "/livez", {}, ANONYMOUS).status == 200
    readyz = app.handle("GET", "/readyz", {"verbose": [""]}, ANONYMOUS)
    body = readyz.body.decode()
    assert readyz.status == 500
    assert "[-]poststarthook/rbac/bootstrap-roles failed: reason withheld\n" in body
    assert "[+]poststarthook/start-apiserver-admission-initializer ok\n" in body
    assert body.endswith("readyz check failed\n")
    assert (
        "check failed: readyz\n[-]poststarthook/start-apiextensions-controllers failed: "
        "not finished" in log.getvalue()
    )
    clock.now += 5.0
    assert app.handle("GET", "/readyz", {}, ANONYMOUS).body == b"ok"


def test_etcd_down_fails_readyz_and_livez_with_reason_withheld(tmp_path: Path) -> None:
    app, _, _ = make_app(tmp_path, ScriptedEtcd("error getting data from etcd: refused"), Clock())
    for endpoint in ("/readyz", "/livez"):
        reply = app.handle("GET", endpoint, {}, ANONYMOUS)
        assert reply.status == 500
        assert b"[-]etcd failed: reason withheld\n" in reply.body
    excluded = app.handle("GET", "/readyz", {"exclude": ["etcd", "etcd-readiness"]}, ANONYMOUS)
    assert excluded.status == 200


def test_shutdown_fails_only_readyz(tmp_path: Path) -> None:
    app, lifecycle, _ = make_app(tmp_path, ScriptedEtcd(), Clock())
    lifecycle.begin_shutdown()
    readyz = app.handle("GET", "/readyz", {}, ANONYMOUS)
    assert readyz.status == 500
    assert b"[-]shutdown failed: reason withheld\n" in readyz.body
    assert app.handle("GET", "/livez", {}, ANONYMOUS).status == 200


def test_readyz_fail_fault_is_read_on_each_request(tmp_path: Path) -> None:
    app, _, _ = make_app(tmp_path, ScriptedEtcd(), Clock())
    assert app.handle("GET", "/readyz", {}, ANONYMOUS).status == 200
    (tmp_path / "faults.json").write_text(json.dumps({"readyz-fail": True}))
    reply = app.handle("GET", "/readyz", {}, ANONYMOUS)
    assert reply.status == 500
    assert b"[-]informer-sync failed: reason withheld\n" in reply.body
    assert app.handle("GET", "/livez", {}, ANONYMOUS).status == 200


def test_health_answers_are_plain_text_with_nosniff(tmp_path: Path) -> None:
    app, _, _ = make_app(tmp_path, ScriptedEtcd(), Clock())
    reply = app.handle("GET", "/healthz", {}, ANONYMOUS)
    assert header(reply, "Content-Type") == "text/plain; charset=utf-8"
    assert header(reply, "X-Content-Type-Options") == "nosniff"


def test_anonymous_gets_403_status_json_on_api(tmp_path: Path) -> None:
    app, _, _ = make_app(tmp_path, ScriptedEtcd(), Clock())
    reply = app.handle("GET", "/api", {}, ANONYMOUS)
    assert reply.status == 403
    assert json.loads(reply.body) == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": 'forbidden: User "system:anonymous" cannot get path "/api"',
        "reason": "Forbidden",
        "details": {},
        "code": 403,
    }


def test_unauthorized_body(tmp_path: Path) -> None:
    app, _, _ = make_app(tmp_path, ScriptedEtcd(), Clock())
    reply = app.unauthorized()
    assert reply.status == 401
    assert json.loads(reply.body)["reason"] == "Unauthorized"


def test_version_is_indented_json_with_the_image_version(tmp_path: Path) -> None:
    app, _, _ = make_app(tmp_path, ScriptedEtcd(), Clock())
    reply = app.handle("GET", "/version", {}, ANONYMOUS)
    document = json.loads(reply.body)
    assert document["gitVersion"] == "v1.31.13"
    assert (document["major"], document["minor"]) == ("1", "31")
    assert list(document) == [
        "major",
        "minor",
        "gitVersion",
        "gitCommit",
        "gitTreeState",
        "buildDate",
        "goVersion",
        "compiler",
        "platform",
    ]
    assert reply.body.startswith(b'{\n  "major": "1",')


def test_discovery_documents(tmp_path: Path) -> None:
    app, _, _ = make_app(tmp_path, ScriptedEtcd(), Clock())
    api = json.loads(app.handle("GET", "/api", {}, ADMIN).body)
    assert api["versions"] == ["v1"]
    assert api["serverAddressByClientCIDRs"][0]["serverAddress"] == "127.0.10.1:6443"
    assert json.loads(app.handle("GET", "/apis", {}, ADMIN).body)["kind"] == "APIGroupList"
    resources = json.loads(app.handle("GET", "/api/v1", {}, ADMIN).body)["resources"]
    by_name = {resource["name"]: resource for resource in resources}
    assert by_name["componentstatuses"]["shortNames"] == ["cs"]
    assert by_name["componentstatuses"]["namespaced"] is False
    assert by_name["pods"]["namespaced"] is True


def test_componentstatuses_list_shape_and_deprecation_warning(tmp_path: Path) -> None:
    app, _, _ = make_app(tmp_path, ScriptedEtcd(), Clock())
    reply = app.handle("GET", "/api/v1/componentstatuses", {}, ADMIN)
    assert reply.status == 200
    assert header(reply, "Warning") == '299 - "v1 ComponentStatus is deprecated in v1.19+"'
    document = json.loads(reply.body)
    assert document["kind"] == "ComponentStatusList"
    items = {item["metadata"]["name"]: item for item in document["items"]}
    assert sorted(items) == ["controller-manager", "etcd-0", "scheduler"]
    assert "kind" not in items["etcd-0"]
    assert items["etcd-0"]["conditions"] == [{"type": "Healthy", "status": "True", "message": "ok"}]
    assert items["scheduler"]["conditions"] == [
        {
            "type": "Healthy",
            "status": "False",
            "message": 'Get "https://127.0.0.1:10259/healthz": dial tcp 127.0.0.1:10259: '
            "connect: connection refused",
        }
    ]


def test_componentstatus_by_name_and_unknown_name(tmp_path: Path) -> None:
    app, _, _ = make_app(tmp_path, ScriptedEtcd("down"), Clock())
    one = json.loads(app.handle("GET", "/api/v1/componentstatuses/etcd-0", {}, ADMIN).body)
    assert one["kind"] == "ComponentStatus"
    assert one["conditions"][0]["status"] == "False"
    assert (
        one["conditions"][0]["error"] == "error getting data from etcd: context deadline exceeded"
    )
    missing = app.handle("GET", "/api/v1/componentstatuses/nope", {}, ADMIN)
    assert missing.status == 500
    assert json.loads(missing.body)["message"] == "Component not found: nope"


@pytest.mark.parametrize(
    ("path", "status", "body_start"),
    [("/nothing", 404, b"404 page not found"), ("/api/v1/services", 404, b'{"kind":"Status"')],
)
def test_not_found(tmp_path: Path, path: str, status: int, body_start: bytes) -> None:
    app, _, _ = make_app(tmp_path, ScriptedEtcd(), Clock())
    reply = app.handle("GET", path, {}, ADMIN)
    assert reply.status == status
    assert reply.body.startswith(body_start)


def test_metrics_count_requests(tmp_path: Path) -> None:
    app, _, _ = make_app(tmp_path, ScriptedEtcd(), Clock())
    app.handle("GET", "/readyz", {}, ANONYMOUS)
    text = app.handle("GET", "/metrics", {}, ADMIN).body.decode()
    assert "# TYPE apiserver_request_total counter" in text
    assert 'subresource="/readyz",verb="GET",version=""} 1' in text
    assert "process_start_time_seconds 1.00" in text
