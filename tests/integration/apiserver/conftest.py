"""Fixtures of the apiserver stand-in's integration tests (helpers: ``apiserver_procs``)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from apiserver_procs import ETCD, ApiServer, Etcd, Node, kubeadm_flags, launch, make_node, stop

from deployer.lab.pki import issue_client_certificate, kubeconfig_text


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Node:
    return make_node(tmp_path_factory.mktemp("apiserver-lab"), "lab-test1", "127.0.10.200")


@pytest.fixture(scope="module")
def etcd(node: Node) -> Iterator[Etcd]:
    if not os.access(ETCD, os.X_OK):
        pytest.skip("etcd is not installed (apt-get install etcd-server)")
    server = Etcd(node, 12379)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def apiserver(node: Node, etcd: Etcd) -> Iterator[ApiServer]:
    server = launch(node, [*kubeadm_flags(node, 16443, etcd.url), "-v=2"], port=16443)
    try:
        server.wait_ready()
        yield server
    finally:
        stop(server.process)


@pytest.fixture(scope="module")
def admin_cert(node: Node) -> tuple[Path, Path]:
    cert, key = issue_client_certificate(node.root.parent, "kubernetes-admin", ["system:masters"])
    (node.root / "admin.crt").write_bytes(cert)
    (node.root / "admin.key").write_bytes(key)
    return node.root / "admin.crt", node.root / "admin.key"


@pytest.fixture(scope="module")
def admin_kubeconfig(node: Node, admin_cert: tuple[Path, Path]) -> Path:
    path = node.root / "admin-16443.conf"
    path.write_text(
        kubeconfig_text(
            server=f"https://{node.ip}:16443",
            ca_pem=node.ca.read_bytes(),
            user="kubernetes-admin",
            cert_pem=admin_cert[0].read_bytes(),
            key_pem=admin_cert[1].read_bytes(),
        )
    )
    return path
