"""``deployer doctor`` against the lab: every failing check is met through a real fault.

One lab for the module; each test breaks one node with a lab fault switch (etcd stopped, a
wrong etcd CA, an expired or mismatched serving certificate made with the lab PKI, readyz
failing, a crash-looping container, sshd stopped) or a manifest edit (``--etcd-servers``
pointing elsewhere), and mends it before the next.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import signal
from pathlib import Path

import jsonschema
import pytest
import yaml
from doctor_support import run_doctor, set_flag, write_manifest

from deployer.cli.main import main
from deployer.lab.health import etcd_health
from deployer.lab.testing import LabHandle, poll_until
from deployer.report.json_report import schema_path

pytestmark = pytest.mark.integration

FIRST_ADDRESS = "127.0.160.1"
CP1, CP2 = "lab-cp1", "lab-cp2"


def _restore_manifest(lab: LabHandle, node: str, content: bytes) -> None:
    old = lab.running_apiserver(node)
    write_manifest(lab.manifest(node), content)
    poll_until(
        lambda: (lab.running_apiserver(node) or {}).get("id") != (old or {}).get("id"),
        timeout_s=30,
        what=f"{node} restarted on its old manifest",
    )
    lab.wait_ready(node, timeout_s=30)


def test_healthy_lab_passes_every_check_and_exits_0(lab: LabHandle, tmp_path: Path) -> None:
    run = run_doctor(lab, tmp_path)

    assert run.code == 0, run.report
    schema = json.loads(schema_path().read_text())
    jsonschema.Draft202012Validator(schema).validate(run.report)
    assert run.report["command"] == "doctor"
    for host in (CP1, CP2):
        checks = run.checks(host)
        assert run.failed(host) == set()
        groups = {key.split("/")[0] for key in checks}
        assert groups == {"apiserver", "etcd", "certificates", "logs", "metrics", "manifest"}
        assert checks["etcd/etcd-0"]["verdict"] == "ok"
        assert checks["certificates/serving"]["figures"]["days_left"] > 300
        figures = checks["metrics/metrics"]["figures"]
        assert figures["requests_total"] > 0
        assert figures["requests_per_s"] > 0, "doctor's own scrapes are requests"
        assert "etcd_mean_ms" in figures and "inflight_readOnly" in figures


def test_readyz_failing_names_the_failed_check(lab: LabHandle, tmp_path: Path) -> None:
    lab.fault(CP1, "readyz-fail")
    try:
        run = run_doctor(lab, tmp_path, "--limit", CP1)
    finally:
        lab.fault(CP1, "readyz-fail", clear=True)

    assert run.code == 3
    assert run.failed(CP1) == {"apiserver/readyz"}
    assert "informer-sync" in str(run.checks(CP1)["apiserver/readyz"]["detail"])
    assert list(run.report["hosts"]) == [CP1]


def test_etcd_stopped_is_cannot_reach(lab: LabHandle, tmp_path: Path) -> None:
    lab.fault(CP2, "etcd-stop")
    try:
        poll_until(
            lambda: "[-]etcd failed" in lab.readyz(CP2, verbose=True).detail,
            timeout_s=15,
            what="the etcd readyz check failing",
        )
        run = run_doctor(lab, tmp_path)
    finally:
        lab.fault(CP2, "etcd-stop", clear=True)
    poll_until(lambda: etcd_health(lab.node(CP2)).ok, timeout_s=15, what="etcd back")
    lab.wait_ready(CP2, timeout_s=20)

    assert run.code == 3
    etcd = run.checks(CP2)["etcd/etcd-0"]
    assert etcd["verdict"] == "fail"
    assert "cannot reach" in str(etcd["detail"])
    assert "--etcd-servers" in str(etcd["hint"])
    assert {"apiserver/readyz", "apiserver/componentstatuses"} <= run.failed(CP2)
    assert run.failed(CP1) == set(), "the other node is untouched"


def test_wrong_etcd_ca_is_wrong_certificate(lab: LabHandle, tmp_path: Path) -> None:
    lab.fault(CP1, "etcd-wrong-ca")
    try:
        run = run_doctor(lab, tmp_path, "--limit", CP1)
    finally:
        lab.fault(CP1, "etcd-wrong-ca", clear=True)

    assert run.code == 3
    etcd = run.checks(CP1)["etcd/etcd-0"]
    assert "wrong certificate" in str(etcd["detail"])
    assert "--etcd-cafile" in str(etcd["hint"])
    client = run.checks(CP1)["certificates/etcd-client"]
    assert "is not signed by --etcd-cafile=/etc/kubernetes/pki/etcd/ca.crt (CN=kubernetes)" in str(
        client["detail"]
    )
    # The running apiserver loaded etcd's real CA at start: the file is the time bomb.
    assert run.verdict(CP1, "apiserver/readyz") == "ok"
    assert "disagree" in str(client["hint"])


def test_etcd_servers_pointing_elsewhere_is_wrong_address(lab: LabHandle, tmp_path: Path) -> None:
    node = lab.node(CP2)
    old = set_flag(lab, CP2, "etcd-servers", f"https://{node.ip}:6443")
    try:
        poll_until(
            lambda: "[-]etcd failed" in lab.readyz(CP2, verbose=True).detail,
            timeout_s=30,
            what="the apiserver talking to its own port as etcd",
        )
        run = run_doctor(lab, tmp_path, "--limit", CP2)
    finally:
        _restore_manifest(lab, CP2, old)

    assert run.code == 3
    etcd = run.checks(CP2)["etcd/etcd-0"]
    assert f"https://{node.ip}:6443: wrong address" in str(etcd["detail"])
    assert "--etcd-servers" in str(etcd["hint"])
    assert run.verdict(CP2, "certificates/etcd-client") == "ok", "the etcd files agree"
    assert run.verdict(CP2, "manifest/plan") == "warn", "the live manifest drifted"


@pytest.mark.parametrize(
    ("fault", "expected"),
    [("cert-expired", "expired on"), ("cert-mismatch", "does not match")],
)
def test_bad_serving_certificate_is_named_with_its_flag(
    lab: LabHandle, tmp_path: Path, fault: str, expected: str
) -> None:
    original = lab.node(CP2).path("/etc/kubernetes/pki/apiserver.crt").read_bytes()
    lab.fault(CP2, fault)
    try:
        run = run_doctor(lab, tmp_path, "--limit", CP2)
    finally:
        lab.fault(CP2, fault, clear=True)
    assert lab.node(CP2).path("/etc/kubernetes/pki/apiserver.crt").read_bytes() == original

    assert run.code == 3
    serving = run.checks(CP2)["certificates/serving"]
    assert serving["verdict"] == "fail"
    assert expected in str(serving["detail"])
    assert "--tls-cert-file=/etc/kubernetes/pki/apiserver.crt" in str(serving["detail"])
    assert "kubeadm certs renew apiserver" in str(serving["hint"])
    # The running apiserver loaded the good pair at start: only the file is wrong so far.
    assert run.verdict(CP2, "apiserver/readyz") == "ok"


def test_crash_looping_container_shows_its_last_error(lab: LabHandle, tmp_path: Path) -> None:
    running = lab.running_apiserver(CP1)
    assert running is not None
    lab.fault(CP1, "apiserver-crash")
    try:
        info = json.loads(lab.crictl(CP1, "inspect", str(running["id"])).stdout)["info"]
        os.kill(int(info["pid"]), signal.SIGKILL)
        poll_until(
            lambda: (
                lab.running_apiserver(CP1) is None
                and any(
                    c["state"] == "CONTAINER_EXITED" and c["id"] != running["id"]
                    for c in lab.containers(CP1)
                )
            ),
            timeout_s=20,
            what="a crashed apiserver start",
        )
        run = run_doctor(lab, tmp_path, "--limit", CP1)
    finally:
        lab.fault(CP1, "apiserver-crash", clear=True)
    lab.wait_ready(CP1, timeout_s=30)

    assert run.code == 3
    checks = run.checks(CP1)
    assert "crash-looping" in str(checks["apiserver/container"]["detail"])
    assert checks["apiserver/readyz"]["verdict"] == "skip"
    log = checks["logs/container-log"]
    assert log["figures"]["error"] >= 1
    assert any("command failed" in line for line in log["lines"])


def test_unreachable_host_exits_5(lab: LabHandle, tmp_path: Path) -> None:
    lab.fault(CP2, "sshd-stop")
    try:
        run = run_doctor(lab, tmp_path)
    finally:
        lab.fault(CP2, "sshd-stop", clear=True)

    assert run.code == 5
    hosts = run.report["hosts"]
    assert isinstance(hosts, dict)
    assert hosts[CP2]["outcome"] == "unreachable"
    assert run.failed(CP1) == set()


def test_verify_reads_metrics_after_readyz_and_records_the_figures(
    lab: LabHandle, tmp_path: Path
) -> None:
    report = tmp_path / "verify.json"
    assert main(["verify", "-i", str(lab.inventory), "--json", str(report)]) == 0

    hosts = json.loads(report.read_text())["hosts"]
    for host in (CP1, CP2):
        checks = hosts[host]["verify"]
        names = [c["check"] for c in checks]
        assert names[:2] == ["readyz", "metrics"]
        metrics = checks[1]
        assert metrics["ok"] is True
        assert metrics["figures"]["requests_total"] > 0
        assert 0 <= metrics["figures"]["share_5xx"] < 1
        assert metrics["figures"]["inflight_readOnly"] >= 1, "the scrape itself is in flight"


def test_vvv_logs_every_request_and_command_without_a_secret(
    lab: LabHandle, capsys: pytest.CaptureFixture[str]
) -> None:
    node = lab.node(CP1)
    try:
        assert main(["verify", "-i", str(lab.inventory), "--limit", CP1, "-vvv"]) == 0
        err = capsys.readouterr().err
    finally:
        # -vvv pointed logging (paramiko's threads included) at the captured stderr; put it back.
        logging.basicConfig(level=logging.WARNING, force=True)
        logging.getLogger("paramiko").setLevel(logging.CRITICAL)
        logging.getLogger("deployer.requests").setLevel(logging.WARNING)

    assert f"deployer.requests: GET https://{node.ip}:6443/readyz?verbose\n" in err
    assert "deployer.requests: Request Headers:\n" in err
    assert "deployer.requests:     User-Agent: deployer\n" in err
    assert "(TLS client certificate: CN=kubernetes-admin,O=system:masters)" in err
    assert "deployer.requests: Response Status: 200 OK in " in err
    assert "deployer.requests:     Content-Type: text/plain" in err
    assert " [truncated " in err, "the /metrics body is cut at 1024 characters"
    assert f"deployer.requests: [{CP1}] run " in err and " -> exit 0 in " in err
    assert f"deployer.requests: [{CP1}] sftp read " in err and "admin.conf: " in err
    admin = yaml.safe_load(node.admin_conf.read_text())
    key_data = admin["users"][0]["user"]["client-key-data"]
    key_pem = base64.b64decode(key_data).decode()
    key_body = key_pem.splitlines()[1]
    assert key_data not in err and key_body not in err and "PRIVATE KEY" not in err


def test_stopped_kubelet_fails_the_manifest_group(lab: LabHandle, tmp_path: Path) -> None:
    lab.fault(CP2, "kubelet-stop")
    try:
        run = run_doctor(lab, tmp_path, "--limit", CP2)
    finally:
        lab.fault(CP2, "kubelet-stop", clear=True)
    lab.wait_ready(CP2, timeout_s=30)

    assert run.code == 3
    kubelet = run.checks(CP2)["manifest/kubelet"]
    assert kubelet["verdict"] == "fail" and "kubelet is not running" in str(kubelet["detail"])
    assert "systemctl start kubelet" in str(kubelet["hint"])
    assert run.verdict(CP2, "apiserver/readyz") == "ok", "its containers keep running"
