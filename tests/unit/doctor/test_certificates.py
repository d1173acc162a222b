"""Certificate findings on PEM files made by the lab's PKI (kubeadm's layout)."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest

from deployer.facts.certificates import check_pair, names_cover, public_keys
from deployer.lab.pki import LabNodeAddress, create_ca, create_lab_pki, issue_serving_certificate

NODE = LabNodeAddress("cp1", "127.0.90.1")


@pytest.fixture(scope="module")
def lab_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("pki")
    create_lab_pki(root, [NODE])
    return root


def _pki(lab_dir: Path) -> Path:
    return lab_dir / "cp1" / "etc" / "kubernetes" / "pki"


def test_kubeadm_serving_pair_passes(lab_dir: Path) -> None:
    pki = _pki(lab_dir)
    result = check_pair(
        (pki / "apiserver.crt").read_bytes(),
        key_pem=(pki / "apiserver.key").read_bytes(),
        ca_pem=(pki / "ca.crt").read_bytes(),
        cover=(NODE.ip, "kubernetes.default.svc"),
    )
    assert result.findings == ()
    assert result.facts is not None
    assert 364 < result.facts.days_left(datetime.datetime.now(datetime.UTC)) <= 365


def test_key_of_another_certificate_does_not_match(lab_dir: Path) -> None:
    pki = _pki(lab_dir)
    result = check_pair(
        (pki / "apiserver.crt").read_bytes(),
        key_pem=(pki / "apiserver-kubelet-client.key").read_bytes(),
        cert_name="--tls-cert-file=a.crt",
        key_name="--tls-private-key-file=b.key",
    )
    assert result.errors == ("--tls-private-key-file=b.key does not match --tls-cert-file=a.crt",)


def test_certificate_of_another_ca_with_the_same_name_does_not_chain(lab_dir: Path) -> None:
    pki = _pki(lab_dir)
    other = create_ca(lab_dir / "other", "etcd-ca", "etcd-ca")
    result = check_pair((pki / "apiserver-etcd-client.crt").read_bytes(), ca_pem=other.read_bytes())
    assert len(result.errors) == 1
    assert (
        "is not signed by the CA (CN=etcd-ca) with the same name but another key"
        in (result.errors[0])
    )
    signed = check_pair(
        (pki / "apiserver-etcd-client.crt").read_bytes(),
        ca_pem=(pki / "etcd" / "ca.crt").read_bytes(),
    )
    assert signed.errors == ()


def test_expired_and_expiring_certificates(lab_dir: Path) -> None:
    key = (_pki(lab_dir) / "apiserver.key").read_bytes()
    expired, _ = issue_serving_certificate(lab_dir, NODE, key_pem=key, valid_days=-2)
    result = check_pair(expired, key_pem=key)
    assert len(result.errors) == 1 and "expired on" in result.errors[0]
    soon, _ = issue_serving_certificate(lab_dir, NODE, key_pem=key, valid_days=10)
    warned = check_pair(soon, key_pem=key)
    assert warned.errors == ()
    assert len(warned.warnings) == 1 and "expires in 10 days" in warned.warnings[0]


def test_sans_must_cover_the_advertise_address(lab_dir: Path) -> None:
    cert, _ = issue_serving_certificate(lab_dir, NODE, ip_addresses=("10.96.0.1",))
    result = check_pair(cert, cover=(NODE.ip, "cp1"))
    assert result.errors == (
        "the certificate does not cover 127.0.90.1 (it is valid for 10.96.0.1, cp1, kubernetes, "
        "kubernetes.default, kubernetes.default.svc, kubernetes.default.svc.cluster.local)",
    )


def test_wildcard_and_ip_matching(lab_dir: Path) -> None:
    cert = (_pki(lab_dir) / "apiserver.crt").read_bytes()
    facts = check_pair(cert).facts
    assert facts is not None
    assert names_cover(facts, "127.0.90.1") and names_cover(facts, "KUBERNETES.default")
    assert not names_cover(facts, "127.0.90.2") and not names_cover(facts, "default")


def test_service_account_public_keys_match_the_signing_key(lab_dir: Path) -> None:
    pki = _pki(lab_dir)
    (public,) = public_keys((pki / "sa.pub").read_bytes())
    assert public_keys((pki / "sa.key").read_bytes()) == (public,)
    bundle = (pki / "apiserver.crt").read_bytes() + (pki / "sa.pub").read_bytes()
    assert public_keys(bundle)[1] == public
    with pytest.raises(ValueError, match="no PEM key"):
        public_keys(b"not a key")


def test_unreadable_certificate_is_one_finding() -> None:
    result = check_pair(b"garbage", cert_name="--tls-cert-file=x.crt")
    assert result.facts is None
    assert len(result.errors) == 1
    assert result.errors[0].startswith("--tls-cert-file=x.crt is unreadable")
