"""The lab PKI is kubeadm's file set: names, modes, subjects, SANs, chains, and it is idempotent."""

from __future__ import annotations

import base64
import ipaddress
from pathlib import Path

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from deployer.lab.pki import LabNodeAddress, create_lab_pki

NODES = [LabNodeAddress("lab-cp1", "127.0.10.1"), LabNodeAddress("lab-cp2", "127.0.10.2")]
NODE_FILES = [
    "ca.crt", "ca.key", "apiserver.crt", "apiserver.key",
    "apiserver-kubelet-client.crt", "apiserver-kubelet-client.key",
    "apiserver-etcd-client.crt", "apiserver-etcd-client.key",
    "front-proxy-ca.crt", "front-proxy-ca.key", "front-proxy-client.crt", "front-proxy-client.key",
    "sa.key", "sa.pub",
    "etcd/ca.crt", "etcd/ca.key", "etcd/server.crt", "etcd/server.key",
    "etcd/peer.crt", "etcd/peer.key", "etcd/healthcheck-client.crt", "etcd/healthcheck-client.key",
]  # fmt: skip


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("lab")
    create_lab_pki(root, NODES)
    return root


def load(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def sans(cert: x509.Certificate) -> tuple[set[str], set[str]]:
    ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return set(ext.get_values_for_type(x509.DNSName)), {
        str(ip) for ip in ext.get_values_for_type(x509.IPAddress)
    }


@pytest.mark.parametrize("name", NODE_FILES)
def test_every_node_has_kubeadms_files_and_keys_are_private(lab: Path, name: str) -> None:
    for node in NODES:
        path = lab / node.name / "etc/kubernetes/pki" / name
        assert path.is_file()
        if name.endswith(".key"):
            assert path.stat().st_mode & 0o777 == 0o600


def test_cas_are_shared_between_nodes(lab: Path) -> None:
    first = (lab / "lab-cp1/etc/kubernetes/pki/ca.crt").read_bytes()
    assert first == (lab / "lab-cp2/etc/kubernetes/pki/ca.crt").read_bytes()
    assert first == (lab / "pki/ca.crt").read_bytes()
    assert (lab / "pki/ca.key").stat().st_mode & 0o777 == 0o600


def test_apiserver_certificate_has_kubeadms_sans(lab: Path) -> None:
    cert = load(lab / "lab-cp2/etc/kubernetes/pki/apiserver.crt")
    dns, ips = sans(cert)
    assert dns == {
        "lab-cp2", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
        "kubernetes.default.svc.cluster.local",
    }  # fmt: skip
    assert ips == {"10.96.0.1", "127.0.10.2"}
    usage = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.SERVER_AUTH in usage
    cert.verify_directly_issued_by(load(lab / "pki/ca.crt"))


def test_etcd_server_certificate_is_signed_by_the_etcd_ca(lab: Path) -> None:
    cert = load(lab / "lab-cp1/etc/kubernetes/pki/etcd/server.crt")
    cert.verify_directly_issued_by(load(lab / "lab-cp1/etc/kubernetes/pki/etcd/ca.crt"))
    dns, ips = sans(cert)
    assert {"lab-cp1", "localhost"} <= dns
    assert "127.0.10.1" in ips
    assert ipaddress.ip_address("127.0.0.1") in {ipaddress.ip_address(i) for i in ips}
    client = load(lab / "lab-cp1/etc/kubernetes/pki/apiserver-etcd-client.crt")
    client.verify_directly_issued_by(load(lab / "pki/etcd-ca.crt"))


def test_admin_conf_is_an_embedded_kubeconfig_for_the_nodes_address(lab: Path) -> None:
    path = lab / "lab-cp1/etc/kubernetes/admin.conf"
    assert path.stat().st_mode & 0o777 == 0o600
    config = yaml.safe_load(path.read_text())
    assert config["clusters"][0]["cluster"]["server"] == "https://127.0.10.1:6443"
    assert config["current-context"] == "kubernetes-admin@kubernetes"
    user = config["users"][0]["user"]
    cert = x509.load_pem_x509_certificate(base64.b64decode(user["client-certificate-data"]))
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "kubernetes-admin"
    assert (
        cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "system:masters"
    )
    key = serialization.load_pem_private_key(base64.b64decode(user["client-key-data"]), None)
    assert key.public_key().public_numbers() == cert.public_key().public_numbers()  # type: ignore[union-attr]


def test_running_again_keeps_every_existing_file(lab: Path) -> None:
    before = {p: p.read_bytes() for p in lab.rglob("*") if p.is_file()}
    create_lab_pki(lab, NODES)
    after = {p: p.read_bytes() for p in lab.rglob("*") if p.is_file()}
    assert before == after


def test_a_new_node_joins_with_the_existing_cas(lab: Path) -> None:
    create_lab_pki(lab, [*NODES, LabNodeAddress("lab-cp3", "127.0.10.3")])
    cert = load(lab / "lab-cp3/etc/kubernetes/pki/apiserver.crt")
    cert.verify_directly_issued_by(load(lab / "lab-cp1/etc/kubernetes/pki/ca.crt"))
