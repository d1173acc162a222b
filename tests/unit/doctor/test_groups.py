"""Doctor's groups against a scripted host: the verdicts and hints each situation gets."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path, PurePosixPath

import pytest

from deployer.desired import desired_state
from deployer.doctor.apiserver import check_apiserver
from deployer.doctor.certificates import check_certificates
from deployer.doctor.manifest import check_manifest
from deployer.doctor.metrics import check_metrics
from deployer.doctor.model import Verdict
from deployer.doctor.subject import Subject, live_flags
from deployer.errors import TransportError
from deployer.facts.crictl import ContainerInfo
from deployer.facts.kubeconfig import KubeconfigCredentials
from deployer.facts.observe import DirEntry, HostObservation
from deployer.lab.pki import LabNodeAddress, create_lab_pki
from deployer.model.events import NullReporter, SystemClock
from deployer.model.host import Host
from deployer.model.manifest import Manifest
from deployer.phases.context import HostContext
from deployer.rollout.plan import plan_host
from deployer.testing import ExpectHttps, FakeTransport

ADDRESS = "10.0.0.1"
MANIFEST = b"""apiVersion: v1
kind: Pod
metadata: {name: kube-apiserver, namespace: kube-system}
spec:
  containers:
  - name: kube-apiserver
    image: registry.k8s.io/kube-apiserver:v1.31.13
    command: [kube-apiserver, --advertise-address=10.0.0.1, --etcd-servers=https://10.0.0.1:2379]
"""
READY = b"[+]ping ok\n[+]etcd ok\nreadyz check passed\n"
ETCD_FAILED = b"[+]ping ok\n[-]etcd failed: reason withheld\nreadyz check failed\n"


def _container(state: str, restarts: int, attempt: int = 0) -> ContainerInfo:
    return ContainerInfo(
        id=f"{state[:1]}{restarts}".ljust(64, "0"),
        name="kube-apiserver",
        state=state,
        created_at_ns=1_700_000_000_000_000_000,
        pod_name="kube-apiserver-cp1",
        pod_uid="u" * 32,
        attempt=attempt,
        restart_count=restarts,
    )


def _subject(
    transport: FakeTransport,
    *,
    containers: tuple[ContainerInfo, ...],
    listing: tuple[DirEntry, ...] = (DirEntry("kube-apiserver.yaml", "f"),),
    kubelet_rc: int | None = 0,
    authenticated: bool = True,
) -> Subject:
    state, problems = desired_state(transport.host)
    assert problems == []
    observed = HostObservation(
        manifest=MANIFEST,
        listing=listing,
        containers=containers,
        running_args=None,
        kubelet_rc=kubelet_rc,
        ca_pem=b"CA",
    )
    desired = Manifest.from_content(PurePosixPath(state.manifest_path), MANIFEST)
    plan = plan_host(state, desired, observed)
    ctx = HostContext(state, transport, SystemClock(), NullReporter(), "run")
    creds = KubeconfigCredentials(f"https://{ADDRESS}:6443", b"CA", None, None, None)
    return Subject(ctx, plan, live_flags(plan), creds if authenticated else None, "no kubeconfig")


def _answers(*pairs: tuple[str, int, bytes]) -> list[ExpectHttps]:
    return [ExpectHttps(ADDRESS, 6443, path, status, body) for path, status, body in pairs]


def _healthy_api() -> list[ExpectHttps]:
    components = {
        "kind": "ComponentStatusList",
        "items": [
            {
                "metadata": {"name": "etcd-0"},
                "conditions": [{"type": "Healthy", "status": "True", "message": "ok"}],
            }
        ],
    }
    return _answers(
        ("/livez?verbose", 200, b"[+]ping ok\nlivez check passed\n"),
        ("/readyz?verbose", 200, READY),
        ("/version", 200, json.dumps({"gitVersion": "v1.31.13"}).encode()),
        ("/api/v1/componentstatuses", 200, json.dumps(components).encode()),
        ("/api", 200, b'{"versions": ["v1"]}'),
        ("/apis", 200, b'{"groups": [{"name": "apps"}]}'),
        ("/api/v1", 200, b'{"resources": [{"name": "componentstatuses"}]}'),
    )


def _verdicts(checks: tuple[object, ...]) -> dict[str, str]:
    return {c.name: c.verdict.value for c in checks}  # type: ignore[attr-defined]


def test_healthy_apiserver_passes_every_check() -> None:
    transport = FakeTransport(Host("cp1", ADDRESS), https=_healthy_api())
    checks = check_apiserver(_subject(transport, containers=(_container("CONTAINER_RUNNING", 0),)))
    assert set(_verdicts(checks).values()) == {"ok"}
    assert [c.name for c in checks] == [
        "container",
        "livez",
        "readyz",
        "version",
        "componentstatuses",
        "discovery",
    ]
    transport.assert_all_used()


def test_failed_readyz_check_is_named_and_points_at_the_etcd_flags() -> None:
    answers = _healthy_api()
    answers[1] = ExpectHttps(ADDRESS, 6443, "/readyz?verbose", 500, ETCD_FAILED)
    transport = FakeTransport(Host("cp1", ADDRESS), https=answers)
    checks = check_apiserver(_subject(transport, containers=(_container("CONTAINER_RUNNING", 0),)))
    readyz = next(c for c in checks if c.name == "readyz")
    assert readyz.verdict is Verdict.FAIL
    assert readyz.detail == "500: failed etcd failed: reason withheld"
    assert "--etcd-servers" in readyz.hint and "--etcd-cafile" in readyz.hint


@pytest.mark.parametrize(
    ("containers", "verdict", "words"),
    [
        ((_container("CONTAINER_RUNNING", 2),), Verdict.FAIL, "crash-looping: running"),
        (
            (_container("CONTAINER_EXITED", 0, attempt=4), _container("CONTAINER_EXITED", 0, 3)),
            Verdict.FAIL,
            "crash-looping (5 starts",
        ),
        ((), Verdict.FAIL, "no kube-apiserver container"),
    ],
)
def test_an_apiserver_that_does_not_answer_is_explained_by_its_container(
    containers: tuple[ContainerInfo, ...], verdict: Verdict, words: str
) -> None:
    refused = TransportError(
        "cannot connect to 10.0.0.1:6443 from the host: Connect failed", host="cp1"
    )
    transport = FakeTransport(
        Host("cp1", ADDRESS), https=[ExpectHttps(ADDRESS, 6443, "/livez?verbose", error=refused)]
    )
    checks = check_apiserver(_subject(transport, containers=containers))
    container = checks[0]
    assert container.verdict is verdict
    assert words in container.detail
    assert _verdicts(checks)["readyz"] == "skip", "one cause, not six consequences"


def test_restarts_of_an_answering_apiserver_are_a_warning() -> None:
    transport = FakeTransport(Host("cp1", ADDRESS), https=_healthy_api())
    checks = check_apiserver(_subject(transport, containers=(_container("CONTAINER_RUNNING", 3),)))
    assert checks[0].verdict is Verdict.WARN and "3 restarts" in checks[0].detail


def test_without_credentials_the_authenticated_checks_are_skipped() -> None:
    transport = FakeTransport(Host("cp1", ADDRESS), https=_healthy_api()[:2])
    subject = _subject(
        transport, containers=(_container("CONTAINER_RUNNING", 0),), authenticated=False
    )
    verdicts = _verdicts(check_apiserver(subject))
    assert verdicts == {
        "container": "ok",
        "livez": "ok",
        "readyz": "ok",
        "version": "skip",
        "componentstatuses": "skip",
        "discovery": "skip",
    }


def test_strays_and_a_stopped_kubelet_fail_the_manifest_group() -> None:
    transport = FakeTransport(Host("cp1", ADDRESS))
    subject = _subject(
        transport,
        containers=(_container("CONTAINER_RUNNING", 0),),
        listing=(DirEntry("kube-apiserver.yaml", "f"), DirEntry("kube-apiserver.yaml.bak", "f")),
        kubelet_rc=3,
    )
    checks = {c.name: c for c in check_manifest(subject)}
    assert checks["strays"].verdict is Verdict.FAIL
    assert "kube-apiserver.yaml.bak" in checks["strays"].detail
    assert checks["kubelet"].verdict is Verdict.FAIL and "exited 3" in checks["kubelet"].detail
    assert checks["plan"].verdict is Verdict.OK


def test_version_other_than_the_image_and_failing_discovery_fail() -> None:
    answers = _healthy_api()
    answers[2] = ExpectHttps(ADDRESS, 6443, "/version", 200, b'{"gitVersion": "v1.30.4"}')
    answers[4] = ExpectHttps(ADDRESS, 6443, "/api", 404, b"{}")
    transport = FakeTransport(Host("cp1", ADDRESS), https=answers[:5])
    checks = {
        c.name: c
        for c in check_apiserver(
            _subject(transport, containers=(_container("CONTAINER_RUNNING", 0),))
        )
    }
    assert checks["version"].verdict is Verdict.FAIL
    assert checks["version"].detail == (
        "serves v1.30.4, the manifest's image is registry.k8s.io/kube-apiserver:v1.31.13"
    )
    assert checks["discovery"].verdict is Verdict.FAIL
    assert checks["discovery"].detail == "/api answered HTTP 404"
    transport.assert_all_used()


def test_metrics_without_the_request_counter_fail() -> None:
    text = b"# TYPE process_start_time_seconds gauge\nprocess_start_time_seconds 1\n"
    transport = FakeTransport(
        Host("cp1", ADDRESS),
        https=[ExpectHttps(ADDRESS, 6443, "/metrics", 200, text) for _ in range(2)],
    )
    subject = _subject(transport, containers=(_container("CONTAINER_RUNNING", 0),))
    (check,) = check_metrics(subject, samples=2, interval_s=0.0)
    assert check.verdict is Verdict.FAIL
    assert check.detail == "/metrics has no apiserver_request_total"


def test_metrics_rate_and_share_come_from_the_scrapes() -> None:
    counter = 'apiserver_request_total{{code="{}",verb="GET"}} {}\n'
    first = (counter.format(200, 10) + counter.format(500, 0)).encode()
    second = (counter.format(200, 12) + counter.format(500, 2)).encode()
    transport = FakeTransport(
        Host("cp1", ADDRESS),
        https=[
            ExpectHttps(ADDRESS, 6443, "/metrics", 200, first),
            ExpectHttps(ADDRESS, 6443, "/metrics", 200, second),
        ],
    )
    subject = _subject(transport, containers=(_container("CONTAINER_RUNNING", 0),))
    (check,) = check_metrics(subject, samples=2, interval_s=0.0)
    assert check.verdict is Verdict.WARN, "half of the requests while watching were 5xx"
    assert check.figures["share_5xx"] == 0.5
    assert check.figures["requests_total"] == 14


@pytest.fixture(scope="module")
def lab_pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("pki")
    create_lab_pki(root, [LabNodeAddress("cp1", ADDRESS)])
    return root / "cp1" / "etc" / "kubernetes" / "pki"


def _pki_files(pki: Path) -> dict[str, bytes]:
    return {
        f"/etc/kubernetes/pki/{p.relative_to(pki)}": p.read_bytes()
        for p in pki.rglob("*")
        if p.is_file()
    }


def test_service_account_signing_key_must_have_its_public_half_listed(lab_pki: Path) -> None:
    files = _pki_files(lab_pki)
    files["/etc/kubernetes/pki/sa.pub"] = files["/etc/kubernetes/pki/front-proxy-ca.crt"]
    transport = FakeTransport(Host("cp1", ADDRESS), files=files)
    subject = _subject(transport, containers=(_container("CONTAINER_RUNNING", 0),))
    subject = dataclasses.replace(
        subject,
        flags={
            "service-account-key-file": "/etc/kubernetes/pki/sa.pub",
            "service-account-signing-key-file": "/etc/kubernetes/pki/sa.key",
            "tls-cert-file": "/etc/kubernetes/pki/apiserver.crt",
            "tls-private-key-file": "/etc/kubernetes/pki/apiserver.key",
            "advertise-address": ADDRESS,
        },
    )
    checks = {c.name: c for c in check_certificates(subject)}
    assert checks["serving"].verdict is Verdict.OK
    account = checks["service-account"]
    assert account.verdict is Verdict.FAIL
    assert "has no public half in --service-account-key-file=/etc/kubernetes/pki/sa.pub" in (
        account.detail
    )
