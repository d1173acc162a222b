"""The kube-apiserver stand-in as a real process: TLS, auth, health, kubectl, exits, signals."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest
from apiserver_procs import (
    KUBECTL,
    PKI,
    START_TIMEOUT_S,
    ApiServer,
    Etcd,
    Node,
    kubeadm_flags,
    launch,
    make_node,
    run_to_exit,
    stop,
    wait_until,
)

from deployer.lab.kubelet.records import (
    CONTAINER_RUNNING,
    SANDBOX_READY,
    ContainerRecord,
    KubeletState,
    SandboxRecord,
    save_state,
)

pytestmark = pytest.mark.integration

KLOG_FAILED = re.compile(
    r'^E\d{4} \d\d:\d\d:\d\d\.\d{6} +\d+ run\.go:72\] "command failed" err="(.*)"$'
)


def command_failed(stderr: str) -> str:
    """Return the err="..." text of the klog "command failed" line (unquoted)."""
    for line in stderr.splitlines():
        match = KLOG_FAILED.match(line)
        if match:
            return match.group(1).replace('\\"', '"')
    raise AssertionError(f"no command failed line in:\n{stderr}")


def test_readyz_verbose_lists_the_real_checks_in_order(apiserver: ApiServer) -> None:
    answer = apiserver.get("/readyz?verbose")
    assert answer.status == 200
    lines = answer.text.splitlines()
    assert lines[:5] == [
        "[+]ping ok",
        "[+]log ok",
        "[+]etcd ok",
        "[+]etcd-readiness ok",
        "[+]informer-sync ok",
    ]
    assert "[+]poststarthook/rbac/bootstrap-roles ok" in lines
    assert lines[-2:] == ["[+]shutdown ok", "readyz check passed"]
    assert answer.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert answer.headers["X-Content-Type-Options"] == "nosniff"


def test_livez_and_healthz_answer_a_bare_ok(apiserver: ApiServer) -> None:
    for path in ("/livez", "/healthz", "/readyz"):
        answer = apiserver.get(path)
        assert (answer.status, answer.text) == (200, "ok")


def test_exclude_marks_the_check_and_warns_about_unknown_names(apiserver: ApiServer) -> None:
    lines = apiserver.get("/readyz?verbose&exclude=etcd&exclude=nosuch").text.splitlines()
    assert "[+]etcd excluded: ok" in lines
    assert "[+]etcd-readiness ok" in lines
    assert lines[-2] == 'warn: some health checks cannot be excluded: no matches for "nosuch"'


def test_anonymous_is_forbidden_outside_public_info(apiserver: ApiServer) -> None:
    answer = apiserver.get("/api")
    assert answer.status == 403
    assert answer.json() == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": 'forbidden: User "system:anonymous" cannot get path "/api"',
        "reason": "Forbidden",
        "details": {},
        "code": 403,
    }
    assert apiserver.get("/readyz/etcd").status == 403


def test_admin_certificate_reads_single_checks_metrics_and_componentstatuses(
    apiserver: ApiServer, admin_cert: tuple[Path, Path]
) -> None:
    assert apiserver.get("/readyz/etcd", client_cert=admin_cert).text == "ok"
    metrics = apiserver.get("/metrics", client_cert=admin_cert).text
    assert "# TYPE apiserver_request_total counter" in metrics
    assert "process_start_time_seconds " in metrics
    answer = apiserver.get("/api/v1/componentstatuses", client_cert=admin_cert)
    assert answer.status == 200
    assert answer.headers["Warning"] == '299 - "v1 ComponentStatus is deprecated in v1.19+"'
    document = answer.json()
    assert isinstance(document, dict)
    items = {item["metadata"]["name"]: item["conditions"][0] for item in document["items"]}
    assert items["etcd-0"] == {"type": "Healthy", "status": "True", "message": "ok"}
    scheduler = items["scheduler"]
    if scheduler["status"] == "False":  # nothing listens on 10259 on this machine
        assert scheduler["message"] == (
            'Get "https://127.0.0.1:10259/healthz": '
            "dial tcp 127.0.0.1:10259: connect: connection refused"
        )


def test_version_reports_the_image_version(apiserver: ApiServer) -> None:
    document = apiserver.get("/version").json()
    assert isinstance(document, dict)
    assert document["gitVersion"] == "v1.31.13"
    assert document["minor"] == "31"


def test_flag_dump_and_serving_lines_are_logged_in_klog_format(apiserver: ApiServer) -> None:
    stderr = apiserver.stderr
    assert re.search(
        r'^I\d{4} [\d:.]+ +\d+ flags\.go:64\] FLAG: --secure-port="16443"$', stderr, re.M
    )
    assert 'FLAG: --advertise-address="127.0.10.200"' in stderr
    assert 'FLAG: --authorization-mode="[Node,RBAC]"' in stderr
    assert "Serving securely on 127.0.10.200:16443" in stderr
    assert "Version: v1.31.13" in stderr


def test_tokens_and_disabled_anonymous_access(
    node: Node, etcd: Etcd, admin_cert: tuple[Path, Path]
) -> None:
    auth_dir = node.root / "etc/kubernetes/auth"
    auth_dir.mkdir(parents=True, exist_ok=True)
    (auth_dir / "tokens.csv").write_text('admintoken,ops,100,"system:masters"\nbobtoken,bob,101\n')
    mounts = [
        {"mountPath": PKI, "hostPath": str(node.pki), "readOnly": True},
        {"mountPath": "/etc/kubernetes/auth", "hostPath": str(auth_dir), "readOnly": True},
    ]
    flags = [
        *kubeadm_flags(node, 16444, etcd.url),
        "--token-auth-file=/etc/kubernetes/auth/tokens.csv",
        "--anonymous-auth=false",
    ]
    server = launch(node, flags, port=16444, mounts=mounts)
    try:
        wait_until(lambda: _ready_for(server, admin_cert), START_TIMEOUT_S, "the token server")
        anonymous = server.get("/readyz")
        assert anonymous.status == 401
        assert anonymous.json() == {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": "Unauthorized",
            "reason": "Unauthorized",
            "code": 401,
        }
        assert server.get("/readyz", token="wrong").status == 401
        assert server.get("/api", token="bobtoken").status == 200
        denied = server.get("/api/v1/componentstatuses", token="bobtoken")
        assert denied.status == 403
        assert denied.json()["message"] == (  # type: ignore[index]
            'componentstatuses is forbidden: User "bob" cannot list resource "componentstatuses" '
            'in API group "" at the cluster scope'
        )
        assert server.get("/api/v1/componentstatuses", token="admintoken").status == 200
        assert server.get("/readyz?verbose", client_cert=admin_cert).status == 200
    finally:
        assert stop(server.process) == 0


def _ready_for(server: ApiServer, cert: tuple[Path, Path]) -> bool:
    assert server.process.poll() is None, server.stderr
    try:
        return server.get("/readyz", client_cert=cert).status == 200
    except OSError:
        return False


def _answers(server: ApiServer) -> bool:
    assert server.process.poll() is None, server.stderr
    try:
        server.get("/livez")
    except OSError:
        return False
    return True


@pytest.mark.skipif(not os.access(KUBECTL, os.X_OK), reason="kubectl is not installed")
def test_kubectl_get_raw_readyz(apiserver: ApiServer, admin_kubeconfig: Path) -> None:
    result = _kubectl(admin_kubeconfig, "get", "--raw", "/readyz?verbose")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "readyz check passed"


@pytest.mark.skipif(not os.access(KUBECTL, os.X_OK), reason="kubectl is not installed")
def test_kubectl_get_componentstatuses(apiserver: ApiServer, admin_kubeconfig: Path) -> None:
    result = _kubectl(admin_kubeconfig, "get", "componentstatuses")
    assert result.returncode == 0, result.stderr
    assert "v1 ComponentStatus is deprecated in v1.19+" in result.stderr
    assert result.stdout.splitlines()[0].split() == ["NAME", "STATUS", "MESSAGE", "ERROR"]
    rows = {line.split()[0]: line.split()[1] for line in result.stdout.splitlines()[1:]}
    assert rows["etcd-0"] == "Healthy"
    assert set(rows) == {"etcd-0", "scheduler", "controller-manager"}
    short = _kubectl(admin_kubeconfig, "get", "cs", "etcd-0", "-o", "json")
    assert short.returncode == 0, short.stderr
    assert json.loads(short.stdout)["conditions"][0]["message"] == "ok"


@pytest.mark.skipif(not os.access(KUBECTL, os.X_OK), reason="kubectl is not installed")
def test_kubectl_version(apiserver: ApiServer, admin_kubeconfig: Path) -> None:
    result = _kubectl(admin_kubeconfig, "version", "-o", "json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["serverVersion"]["gitVersion"] == "v1.31.13"


@pytest.mark.skipif(not os.access(KUBECTL, os.X_OK), reason="kubectl is not installed")
def test_kubectl_reads_the_mirror_pod_from_kubelets_state(
    node: Node, apiserver: ApiServer, admin_kubeconfig: Path
) -> None:
    config_hash = "0123456789abcdef0123456789abcdef"
    write_kubelet_state(node, config_hash)
    name = f"kube-apiserver-{node.name}"
    table = _kubectl(admin_kubeconfig, "get", "pods", "-n", "kube-system")
    assert table.returncode == 0, table.stderr
    header, row = table.stdout.splitlines()
    assert header.split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert row.split()[:4] == [name, "1/1", "Running", "0"]
    annotation = _kubectl(
        admin_kubeconfig,
        "get",
        "pod",
        "-n",
        "kube-system",
        name,
        "-o",
        r"jsonpath={.metadata.annotations.kubernetes\.io/config\.hash}",
    )
    assert annotation.stdout == config_hash


def write_kubelet_state(node: Node, config_hash: str) -> None:
    """Write the kubelet stand-in's state as it does (its own records and writer)."""
    now = time.time_ns()
    sandbox = SandboxRecord(
        id="c" * 64,
        uid=config_hash,
        name=f"kube-apiserver-{node.name}",
        namespace="kube-system",
        attempt=0,
        state=SANDBOX_READY,
        created_at_ns=now,
        labels={"component": "kube-apiserver", "tier": "control-plane"},
        annotations={
            "kubernetes.io/config.hash": config_hash,
            "kubernetes.io/config.source": "file",
        },
        source="/etc/kubernetes/manifests/kube-apiserver.yaml",
    )
    running = ContainerRecord(
        id="d" * 64,
        sandbox_id=sandbox.id,
        pod_uid=config_hash,
        pod_name=sandbox.name,
        namespace="kube-system",
        name="kube-apiserver",
        attempt=0,
        image="registry.k8s.io/kube-apiserver:v1.31.13",
        command=("kube-apiserver",),
        args=(),
        envs=(),
        mounts=(),
        state=CONTAINER_RUNNING,
        created_at_ns=now,
        started_at_ns=now,
        finished_at_ns=0,
        exit_code=0,
        reason="",
        message="",
        pid=0,
        pid_start_time=0,
        log_path="/var/log/pods/x/kube-apiserver/0.log",
        labels={},
        annotations={},
    )
    save_state(
        node.root / "var/lib/kubelet/state.json",
        KubeletState(sandboxes=[sandbox], containers=[running]),
    )


def _kubectl(kubeconfig: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(kubeconfig.parent)}
    return subprocess.run(
        [KUBECTL, "--kubeconfig", str(kubeconfig), "--request-timeout=10s", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )


def test_unknown_flag_prints_error_and_exits_1(node: Node) -> None:
    status, stderr = run_to_exit(node, ["--foo"])
    assert status == 1
    assert stderr == "Error: unknown flag: --foo\n"


def test_missing_value_prints_pflags_error(node: Node) -> None:
    status, stderr = run_to_exit(node, ["--secure-port"])
    assert status == 1
    assert stderr == "Error: flag needs an argument: --secure-port\n"


def test_validation_error_is_the_klog_command_failed_line(node: Node) -> None:
    flags = [f for f in kubeadm_flags(node, 16447, "x") if not f.startswith("--etcd-servers")]
    status, stderr = run_to_exit(node, flags)
    assert status == 1
    assert command_failed(stderr) == "--etcd-servers must be specified"


def test_file_outside_every_mount_exits_1_with_the_real_text(node: Node, etcd: Etcd) -> None:
    flags = [
        *kubeadm_flags(node, 16447, etcd.url),
        "--audit-policy-file=/etc/kubernetes/audit/policy.yaml",
    ]
    status, stderr = run_to_exit(node, flags)
    assert status == 1
    assert command_failed(stderr) == (
        'loading audit policy file: failed to read file path "/etc/kubernetes/audit/policy.yaml": '
        "open /etc/kubernetes/audit/policy.yaml: no such file or directory"
    )


def test_port_in_use_fails_like_the_real_listener(
    node: Node, apiserver: ApiServer, etcd: Etcd
) -> None:
    status, stderr = run_to_exit(node, kubeadm_flags(node, 16443, etcd.url))
    assert status == 1
    assert command_failed(stderr) == (
        "failed to create listener: failed to listen on 127.0.10.200:16443: "
        "listen tcp 127.0.10.200:16443: bind: address already in use"
    )


def test_crash_fault_exits_1_at_start(node: Node, etcd: Etcd, tmp_path: Path) -> None:
    faults = tmp_path / "faults.json"
    faults.write_text(json.dumps({"apiserver-crash": True}))
    status, stderr = run_to_exit(
        node, kubeadm_flags(node, 16447, etcd.url), env={"DEPLOYER_LAB_FAULTS": str(faults)}
    )
    assert status == 1
    assert command_failed(stderr)


def test_startup_window_livez_passes_while_readyz_waits_for_hooks(node: Node, etcd: Etcd) -> None:
    server = launch(
        node,
        kubeadm_flags(node, 16448, etcd.url),
        port=16448,
        env={"DEPLOYER_LAB_READY_DELAY_S": "3.5"},
    )
    try:
        wait_until(lambda: _answers(server), START_TIMEOUT_S, "the listener")
        assert server.get("/livez").status == 200
        readyz = server.get("/readyz")
        assert readyz.status == 500
        assert "[-]poststarthook/rbac/bootstrap-roles failed: reason withheld\n" in readyz.text
        server.wait_ready()
    finally:
        stop(server.process)


def test_sigterm_fails_readyz_first_then_exits_0(node: Node, etcd: Etcd) -> None:
    server = launch(
        node,
        kubeadm_flags(node, 16445, etcd.url),
        port=16445,
        env={"DEPLOYER_LAB_SHUTDOWN_DELAY_S": "3"},
    )
    try:
        server.wait_ready()
        os.kill(server.process.pid, signal.SIGTERM)

        def shutting_down() -> bool:
            answer = server.get("/readyz")  # the listener stays open for the whole delay
            return answer.status == 500 and "[-]shutdown failed: reason withheld\n" in answer.text

        wait_until(shutting_down, 5, "/readyz to fail the shutdown check")
        assert server.get("/livez").status == 200
        assert server.process.wait(10) == 0
        assert "[graceful-termination] apiserver is exiting" in server.stderr
    finally:
        stop(server.process)


def test_stopped_etcd_fails_readyz(tmp_path_factory: pytest.TempPathFactory) -> None:
    own = make_node(tmp_path_factory.mktemp("etcd-stop"), "lab-test2", "127.0.10.201")
    etcd = Etcd(own, 12389)
    etcd.start()
    server = launch(own, kubeadm_flags(own, 16446, etcd.url), port=16446)
    try:
        server.wait_ready()
        etcd.stop()

        def etcd_failed() -> bool:
            answer = server.get("/readyz")
            return answer.status == 500 and "[-]etcd failed: reason withheld\n" in answer.text

        wait_until(etcd_failed, 10, "/readyz to report etcd failed")
        assert "[-]etcd-readiness failed: reason withheld" in server.get("/readyz?verbose").text
    finally:
        stop(server.process)
        etcd.stop()


def test_slow_start_and_failing_readiness_faults(node: Node, etcd: Etcd, tmp_path: Path) -> None:
    faults = tmp_path / "faults.json"
    faults.write_text(json.dumps({"apiserver-slow": True}))
    server = launch(
        node,
        kubeadm_flags(node, 16449, etcd.url),
        port=16449,
        env={"DEPLOYER_LAB_FAULTS": str(faults), "DEPLOYER_LAB_SLOW_S": "3"},
    )
    try:
        wait_until(lambda: _answers(server), START_TIMEOUT_S, "the listener")
        started = time.monotonic()
        assert server.get("/readyz").status == 500
        server.wait_ready()
        assert time.monotonic() - started > 1.5
        faults.write_text(json.dumps({"apiserver-slow": True, "readyz-fail": True}))
        failing = server.get("/readyz")
        assert failing.status == 500
        assert "[-]informer-sync failed: reason withheld\n" in failing.text
        assert server.get("/livez").status == 200
    finally:
        stop(server.process)


def test_idle_memory_fits_the_lab_node_budget(apiserver: ApiServer) -> None:
    for _ in range(50):
        apiserver.get("/readyz?verbose")
    status = Path(f"/proc/{apiserver.process.pid}/status").read_text()
    rss_kib = int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS")))
    # Measured at about 28 MiB; the whole lab node (etcd, kubelet, sshd, this) has 60 MB.
    assert rss_kib < 40 * 1024
