"""Real processes for the apiserver stand-in's integration tests: PKI, etcd, the stand-in.

Everything runs on 127.0.10.200+ with high ports, so a running lab (127.0.10.1.., 6443/2379) is
never touched. Every process is stopped by its pid, and every wait polls with a deadline.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from deployer.lab.pki import (
    LabNodeAddress,
    create_lab_pki,
)

ETCD = shutil.which("etcd") or "/usr/bin/etcd"
KUBECTL = shutil.which("kubectl") or "/usr/bin/kubectl"
PKI = "/etc/kubernetes/pki"
START_TIMEOUT_S = 20.0


def wait_until(predicate: Callable[[], bool], timeout_s: float, what: str) -> None:
    """Poll ``predicate`` until it holds; fail the test with ``what`` after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")


def stop(process: subprocess.Popen[bytes], timeout_s: float = 10.0) -> int:
    """Stop one process we started, by its pid: SIGTERM, then SIGKILL after the timeout."""
    if process.poll() is None:
        os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout_s)
    return process.returncode


@dataclass(frozen=True)
class Node:
    """A test node: its folder (its ``/``), name and address."""

    root: Path
    name: str
    ip: str

    @property
    def pki(self) -> Path:
        return self.root / "etc/kubernetes/pki"

    @property
    def ca(self) -> Path:
        return self.pki / "ca.crt"


@dataclass
class Response:
    status: int
    headers: Mapping[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode()

    def json(self) -> object:
        return json.loads(self.body)


def https_get(
    node: Node,
    port: int,
    path: str,
    *,
    client_cert: tuple[Path, Path] | None = None,
    token: str | None = None,
    timeout_s: float = 5.0,
) -> Response:
    """GET over TLS verified against the node's cluster CA (what the tool does)."""
    context = ssl.create_default_context(cafile=str(node.ca))
    if client_cert is not None:
        context.load_cert_chain(str(client_cert[0]), str(client_cert[1]))
    connection = http.client.HTTPSConnection(node.ip, port, context=context, timeout=timeout_s)
    try:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        connection.request("GET", path, headers=headers)
        answer = connection.getresponse()
        return Response(answer.status, dict(answer.getheaders()), answer.read())
    finally:
        connection.close()


def make_node(root: Path, name: str, ip: str) -> Node:
    create_lab_pki(root, [LabNodeAddress(name, ip)])
    return Node(root / name, name, ip)


@dataclass
class Etcd:
    node: Node
    client_port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"https://{self.node.ip}:{self.client_port}"

    def start(self) -> None:
        pki = self.node.pki / "etcd"
        peer = f"https://{self.node.ip}:{self.client_port + 1}"
        log = (self.node.root / "etcd.log").open("ab")
        self.process = subprocess.Popen(
            [
                ETCD,
                f"--name={self.node.name}",
                f"--data-dir={self.node.root / 'var/lib/etcd'}",
                f"--listen-client-urls={self.url}",
                f"--advertise-client-urls={self.url}",
                f"--listen-peer-urls={peer}",
                f"--initial-advertise-peer-urls={peer}",
                f"--initial-cluster={self.node.name}={peer}",
                f"--listen-metrics-urls=http://{self.node.ip}:{self.client_port + 2}",
                f"--cert-file={pki / 'server.crt'}",
                f"--key-file={pki / 'server.key'}",
                "--client-cert-auth=true",
                f"--trusted-ca-file={pki / 'ca.crt'}",
                f"--peer-cert-file={pki / 'peer.crt'}",
                f"--peer-key-file={pki / 'peer.key'}",
                "--peer-client-cert-auth=true",
                f"--peer-trusted-ca-file={pki / 'ca.crt'}",
                "--snapshot-count=10000",
            ],
            stdout=log,
            stderr=log,
        )
        log.close()
        wait_until(self.healthy, START_TIMEOUT_S, f"etcd on {self.url}")

    def healthy(self) -> bool:
        pki = self.node.pki
        context = ssl.create_default_context(cafile=str(pki / "etcd/ca.crt"))
        context.load_cert_chain(
            str(pki / "apiserver-etcd-client.crt"), str(pki / "apiserver-etcd-client.key")
        )
        connection = http.client.HTTPSConnection(
            self.node.ip, self.client_port, context=context, timeout=1
        )
        try:
            connection.request("GET", "/health")
            return bool(json.loads(connection.getresponse().read()).get("health") == "true")
        except (OSError, ValueError, http.client.HTTPException):
            return False
        finally:
            connection.close()

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process)
            self.process = None


def kubeadm_flags(node: Node, port: int, etcd_url: str) -> list[str]:
    """The flags kubeadm 1.31 writes into kube-apiserver.yaml, for this node."""
    return [
        f"--advertise-address={node.ip}",
        "--allow-privileged=true",
        "--authorization-mode=Node,RBAC",
        f"--client-ca-file={PKI}/ca.crt",
        "--enable-admission-plugins=NodeRestriction",
        "--enable-bootstrap-token-auth=true",
        f"--etcd-cafile={PKI}/etcd/ca.crt",
        f"--etcd-certfile={PKI}/apiserver-etcd-client.crt",
        f"--etcd-keyfile={PKI}/apiserver-etcd-client.key",
        f"--etcd-servers={etcd_url}",
        f"--kubelet-client-certificate={PKI}/apiserver-kubelet-client.crt",
        f"--kubelet-client-key={PKI}/apiserver-kubelet-client.key",
        "--kubelet-preferred-address-types=InternalIP,ExternalIP,Hostname",
        f"--proxy-client-cert-file={PKI}/front-proxy-client.crt",
        f"--proxy-client-key-file={PKI}/front-proxy-client.key",
        "--requestheader-allowed-names=front-proxy-client",
        f"--requestheader-client-ca-file={PKI}/front-proxy-ca.crt",
        "--requestheader-extra-headers-prefix=X-Remote-Extra-",
        "--requestheader-group-headers=X-Remote-Group",
        "--requestheader-username-headers=X-Remote-User",
        f"--secure-port={port}",
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
        f"--service-account-key-file={PKI}/sa.pub",
        f"--service-account-signing-key-file={PKI}/sa.key",
        "--service-cluster-ip-range=10.96.0.0/12",
        f"--tls-cert-file={PKI}/apiserver.crt",
        f"--tls-private-key-file={PKI}/apiserver.key",
    ]


@dataclass
class ApiServer:
    """One stand-in process, started as the kubelet stand-in starts it."""

    node: Node
    port: int
    process: subprocess.Popen[bytes]
    stderr_path: Path

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text()

    def get(self, path: str, **kwargs: object) -> Response:
        return https_get(self.node, self.port, path, **kwargs)  # type: ignore[arg-type]

    def wait_ready(self, timeout_s: float = START_TIMEOUT_S) -> None:
        def ready() -> bool:
            assert self.process.poll() is None, f"stand-in exited:\n{self.stderr}"
            try:
                return self.get("/readyz").status == 200
            except OSError:
                return False

        wait_until(ready, timeout_s, f"/readyz of {self.node.ip}:{self.port}")


def launch(
    node: Node,
    args: Sequence[str],
    *,
    port: int,
    env: Mapping[str, str] | None = None,
    mounts: Sequence[Mapping[str, object]] | None = None,
) -> ApiServer:
    """Start ``python -m deployer.lab.apiserver ARGS`` as kubelet's stand-in does."""
    table = (
        list(mounts)
        if mounts is not None
        else [
            {"mountPath": PKI, "hostPath": str(node.pki), "readOnly": True},
        ]
    )
    environment = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "DEPLOYER_LAB_NODE_ROOT": str(node.root),
        "DEPLOYER_LAB_NODE_NAME": node.name,
        "DEPLOYER_LAB_MOUNTS": json.dumps(table),
        "DEPLOYER_LAB_VERSION": "1.31.13",
        "DEPLOYER_LAB_FAULTS": str(node.root / "lab/faults.json"),
        "DEPLOYER_LAB_READY_DELAY_S": "0.2",
        **(env or {}),
    }
    stderr_path = node.root / f"apiserver-{time.monotonic_ns()}.log"
    with stderr_path.open("wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "deployer.lab.apiserver", *args],
            cwd=node.root,
            env=environment,
            stdout=stderr,
            stderr=stderr,
            start_new_session=True,
        )
    return ApiServer(node, port, process, stderr_path)


def run_to_exit(node: Node, args: Sequence[str], **kwargs: object) -> tuple[int, str]:
    """Run a stand-in that is expected to exit by itself; return (status, stderr)."""
    server = launch(node, args, port=0, **kwargs)  # type: ignore[arg-type]
    try:
        status = server.process.wait(START_TIMEOUT_S)
    finally:
        stop(server.process)
    return status, server.stderr
