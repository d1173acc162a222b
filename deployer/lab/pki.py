"""Create the lab's PKI: kubeadm's certificate set for every simulated control-plane node.

Why kubeadm's exact file names, subjects and SANs: the manifests the tool renders keep kubeadm's
real paths (``/etc/kubernetes/pki/apiserver.crt`` ...), the apiserver stand-in serves with these
files and checks client certificates against ``ca.crt``, and a real ``kubectl`` and a real etcd
verify them. Anything that differs from a kubeadm node would hide a bug the tool has against real
clusters.

The CAs (cluster, etcd, front-proxy) and the service-account key pair are shared by all nodes, as
in a kubeadm cluster where ``kubeadm join --control-plane`` copies them. They are made once in
``<lab>/pki/`` and copied into each node's ``etc/kubernetes/pki/``. Keys are ECDSA P-256 (cheap to
make; kubeadm supports them through ``encryptionAlgorithm: ECDSA-P256``). Every function is
idempotent: a file that exists is kept, so ``lab up`` twice does not invalidate trust.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime
import ipaddress
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = [
    "ADMIN_USER",
    "CLUSTER_NAME",
    "LabNodeAddress",
    "create_ca",
    "create_lab_pki",
    "issue_serving_certificate",
    "issue_client_certificate",
    "kubeconfig_text",
]

#: kubeadm's default cluster name, used in every kubeconfig it writes.
CLUSTER_NAME = "kubernetes"
#: The user kubeadm puts in admin.conf.
ADMIN_USER = "kubernetes-admin"
#: First address of kubeadm's default service CIDR 10.96.0.0/12: the ``kubernetes`` service.
_SERVICE_IP = "10.96.0.1"
_CA_DAYS = 3650  # kubeadm: CAs are valid ten years
_LEAF_DAYS = 365  # kubeadm: leaf certificates one year
_BACKDATE = datetime.timedelta(minutes=5)  # tolerate small clock differences, as kubeadm does
_ZERO = datetime.timedelta(0)


@dataclass(frozen=True, slots=True)
class LabNodeAddress:
    """One lab node: its name (``lab-cp1``) and loopback address (``127.0.10.1``)."""

    name: str
    ip: str


@dataclass(frozen=True, slots=True)
class _Leaf:
    """What one leaf certificate says: file stem, subject, SANs and usages."""

    stem: str
    common_name: str
    organizations: tuple[str, ...] = ()
    dns_names: tuple[str, ...] = ()
    ip_addresses: tuple[str, ...] = ()
    is_server: bool = False
    is_client: bool = False


@dataclass(frozen=True, slots=True)
class _Ca:
    """A loaded CA: its certificate and key, to sign leaves."""

    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey


def create_lab_pki(lab_dir: Path, nodes: Sequence[LabNodeAddress]) -> None:
    """Create the shared CAs and, for every node, kubeadm's PKI file set and ``admin.conf``.

    Args:
        lab_dir: the lab folder; CAs go to ``lab_dir/pki``, node files under
            ``lab_dir/<node>/etc/kubernetes/``.
        nodes: the lab's nodes.
    """
    shared = lab_dir / "pki"
    cluster_ca = _ensure_ca(shared, "ca", "kubernetes")
    etcd_ca = _ensure_ca(shared, "etcd-ca", "etcd-ca")
    proxy_ca = _ensure_ca(shared, "front-proxy-ca", "front-proxy-ca")
    _ensure_service_account_keys(shared)
    for node in nodes:
        kube_dir = lab_dir / node.name / "etc" / "kubernetes"
        pki = kube_dir / "pki"
        _copy_if_absent(shared / "ca.crt", pki / "ca.crt")
        _copy_if_absent(shared / "ca.key", pki / "ca.key")
        _copy_if_absent(shared / "front-proxy-ca.crt", pki / "front-proxy-ca.crt")
        _copy_if_absent(shared / "front-proxy-ca.key", pki / "front-proxy-ca.key")
        _copy_if_absent(shared / "etcd-ca.crt", pki / "etcd" / "ca.crt")
        _copy_if_absent(shared / "etcd-ca.key", pki / "etcd" / "ca.key")
        _copy_if_absent(shared / "sa.key", pki / "sa.key")
        _copy_if_absent(shared / "sa.pub", pki / "sa.pub")
        for leaf in _cluster_leaves(node):
            _ensure_leaf(pki, leaf, cluster_ca)
        _ensure_leaf(
            pki, _Leaf("front-proxy-client", "front-proxy-client", is_client=True), proxy_ca
        )
        for leaf in _etcd_leaves(node):
            _ensure_leaf(pki / "etcd", leaf, etcd_ca)
        _ensure_leaf(
            pki,
            _Leaf("apiserver-etcd-client", "kube-apiserver-etcd-client", is_client=True),
            etcd_ca,
        )
        admin_conf = kube_dir / "admin.conf"
        if not admin_conf.exists():
            cert_pem, key_pem = issue_client_certificate(lab_dir, ADMIN_USER, ("system:masters",))
            text = kubeconfig_text(
                server=f"https://{node.ip}:6443",
                ca_pem=(shared / "ca.crt").read_bytes(),
                user=ADMIN_USER,
                cert_pem=cert_pem,
                key_pem=key_pem,
            )
            _write(admin_conf, text.encode(), 0o600)


def issue_client_certificate(
    lab_dir: Path, common_name: str, organizations: Sequence[str]
) -> tuple[bytes, bytes]:
    """Sign a client certificate with the lab's cluster CA (for kubeconfigs and tests).

    Args:
        lab_dir: the lab folder whose ``pki/ca.{crt,key}`` exist (see :func:`create_lab_pki`).
        common_name: the user name the apiserver will see.
        organizations: the user's groups.

    Returns:
        ``(certificate PEM, private key PEM)``.
    """
    ca = _load_ca(lab_dir / "pki", "ca")
    leaf = _Leaf("client", common_name, tuple(organizations), is_client=True)
    return _sign(leaf, ca)


def issue_serving_certificate(
    lab_dir: Path,
    node: LabNodeAddress,
    *,
    key_pem: bytes | None = None,
    valid_days: float = _LEAF_DAYS,
    ip_addresses: Sequence[str] | None = None,
) -> tuple[bytes, bytes]:
    """Sign an apiserver serving certificate with the cluster CA, for fault tests.

    Args:
        lab_dir: the lab folder (see :func:`create_lab_pki`).
        node: whose serving certificate it stands for (name and address in the SANs).
        key_pem: reuse this key (a fresh one is made otherwise: a pair that does not match
            the node's ``apiserver.key``).
        valid_days: negative for a certificate that has expired.
        ip_addresses: the IP SANs (kubeadm's by default: the service IP and the node's).

    Returns:
        ``(certificate PEM, private key PEM)``.
    """
    ca = _load_ca(lab_dir / "pki", "ca")
    leaf = _cluster_leaves(node)[0]
    if ip_addresses is not None:
        leaf = dataclasses.replace(leaf, ip_addresses=tuple(ip_addresses))
    key = None
    if key_pem is not None:
        loaded = serialization.load_pem_private_key(key_pem, password=None)
        if not isinstance(loaded, ec.EllipticCurvePrivateKey):
            raise TypeError("the lab's keys are ECDSA keys")
        key = loaded
    return _sign(leaf, ca, key=key, valid_days=valid_days)


def create_ca(folder: Path, stem: str, common_name: str) -> Path:
    """Create a CA ``folder/stem.{crt,key}`` that nothing in the lab trusts; return the .crt.

    For fault tests: a flag pointed at it names "a wrong CA".
    """
    _ensure_ca(folder, stem, common_name)
    return folder / f"{stem}.crt"


def kubeconfig_text(
    *, server: str, ca_pem: bytes, user: str, cert_pem: bytes, key_pem: bytes
) -> str:
    """Render a kubeconfig the way kubeadm writes ``admin.conf`` (embedded, base64 data)."""

    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode("ascii")

    context = f"{user}@{CLUSTER_NAME}"
    return (
        "apiVersion: v1\n"
        "clusters:\n"
        "- cluster:\n"
        f"    certificate-authority-data: {b64(ca_pem)}\n"
        f"    server: {server}\n"
        f"  name: {CLUSTER_NAME}\n"
        "contexts:\n"
        "- context:\n"
        f"    cluster: {CLUSTER_NAME}\n"
        f"    user: {user}\n"
        f"  name: {context}\n"
        f"current-context: {context}\n"
        "kind: Config\n"
        "preferences: {}\n"
        "users:\n"
        f"- name: {user}\n"
        "  user:\n"
        f"    client-certificate-data: {b64(cert_pem)}\n"
        f"    client-key-data: {b64(key_pem)}\n"
    )


def _cluster_leaves(node: LabNodeAddress) -> tuple[_Leaf, ...]:
    """The leaves kubeadm signs with the cluster CA (``kubeadm init phase certs``)."""
    return (
        _Leaf(
            "apiserver",
            "kube-apiserver",
            dns_names=(
                node.name,
                "kubernetes",
                "kubernetes.default",
                "kubernetes.default.svc",
                "kubernetes.default.svc.cluster.local",
            ),
            ip_addresses=(_SERVICE_IP, node.ip),
            is_server=True,
        ),
        # kubeadm 1.29+ puts this identity in kubeadm:cluster-admins (system:masters before).
        _Leaf(
            "apiserver-kubelet-client",
            "kube-apiserver-kubelet-client",
            ("kubeadm:cluster-admins",),
            is_client=True,
        ),
    )


def _etcd_leaves(node: LabNodeAddress) -> tuple[_Leaf, ...]:
    """The leaves kubeadm signs with the etcd CA, with kubeadm's SANs (name, localhost, IPs)."""
    dns = (node.name, "localhost")
    ips = (node.ip, "127.0.0.1", "::1")
    return (
        _Leaf("server", node.name, (), dns, ips, is_server=True, is_client=True),
        _Leaf("peer", node.name, (), dns, ips, is_server=True, is_client=True),
        _Leaf("healthcheck-client", "kube-etcd-healthcheck-client", is_client=True),
    )


def _ensure_ca(folder: Path, stem: str, common_name: str) -> _Ca:
    """Load the CA ``folder/stem.{crt,key}``, creating it first when absent."""
    if not (folder / f"{stem}.crt").exists():
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
        now = datetime.datetime.now(datetime.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - _BACKDATE)
            .not_valid_after(now + datetime.timedelta(days=_CA_DAYS))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(_key_usage(is_ca=True), critical=True)
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
            )
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(common_name)]), critical=False)
            .sign(key, hashes.SHA256())
        )
        _write(folder / f"{stem}.key", _key_pem(key), 0o600)
        _write(folder / f"{stem}.crt", cert.public_bytes(serialization.Encoding.PEM), 0o644)
    return _load_ca(folder, stem)


def _load_ca(folder: Path, stem: str) -> _Ca:
    """Read a CA written by :func:`_ensure_ca`."""
    cert = x509.load_pem_x509_certificate((folder / f"{stem}.crt").read_bytes())
    key = serialization.load_pem_private_key((folder / f"{stem}.key").read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise TypeError(f"{folder / stem}.key is not an ECDSA key")
    return _Ca(cert, key)


def _ensure_service_account_keys(folder: Path) -> None:
    """Create the shared service-account signing key pair ``sa.key``/``sa.pub``."""
    if (folder / "sa.key").exists():
        return
    key = ec.generate_private_key(ec.SECP256R1())
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    _write(folder / "sa.key", _key_pem(key), 0o600)
    _write(folder / "sa.pub", public, 0o644)


def _ensure_leaf(folder: Path, leaf: _Leaf, ca: _Ca) -> None:
    """Write ``folder/<stem>.crt`` and ``.key`` signed by ``ca`` unless the certificate exists."""
    if (folder / f"{leaf.stem}.crt").exists():
        return
    cert_pem, key_pem = _sign(leaf, ca)
    _write(folder / f"{leaf.stem}.key", key_pem, 0o600)
    _write(folder / f"{leaf.stem}.crt", cert_pem, 0o644)


def _sign(
    leaf: _Leaf,
    ca: _Ca,
    *,
    key: ec.EllipticCurvePrivateKey | None = None,
    valid_days: float = _LEAF_DAYS,
) -> tuple[bytes, bytes]:
    """Make a key (unless given) and a certificate for ``leaf`` signed by ``ca``, as PEM.

    A negative ``valid_days`` makes a certificate that expired that many days ago.
    """
    key = key or ec.generate_private_key(ec.SECP256R1())
    attributes = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, org) for org in leaf.organizations]
    attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, leaf.common_name))
    now = datetime.datetime.now(datetime.UTC)
    usages = []
    if leaf.is_server:
        usages.append(ExtendedKeyUsageOID.SERVER_AUTH)
    if leaf.is_client:
        usages.append(ExtendedKeyUsageOID.CLIENT_AUTH)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name(attributes))
        .issuer_name(ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _BACKDATE + min(datetime.timedelta(days=valid_days * 2), _ZERO))
        .not_valid_after(now + datetime.timedelta(days=valid_days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(is_ca=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()), critical=False
        )
    )
    names: list[x509.GeneralName] = [x509.DNSName(name) for name in leaf.dns_names]
    names += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in leaf.ip_addresses]
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    cert = builder.sign(ca.key, hashes.SHA256())
    return cert.public_bytes(serialization.Encoding.PEM), _key_pem(key)


def _key_usage(*, is_ca: bool) -> x509.KeyUsage:
    """Return kubeadm's key usages: CAs sign certificates, leaves sign handshakes."""
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=not is_ca,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=is_ca,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    """Serialize a key as kubeadm writes it (``EC PRIVATE KEY``, unencrypted)."""
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )


def _copy_if_absent(source: Path, target: Path) -> None:
    """Copy a shared file into a node folder, keeping the source's mode."""
    if target.exists():
        return
    _write(target, source.read_bytes(), source.stat().st_mode & 0o777)


def _write(path: Path, data: bytes, mode: int) -> None:
    """Write ``data`` with ``mode`` from the start (a key is never world-readable, even briefly)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.chmod(path, mode)
