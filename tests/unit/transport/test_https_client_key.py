"""The probe's client key is loaded from memory: no file on the workstation ever holds it."""

from __future__ import annotations

import datetime
import tempfile
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from deployer.transport.https import _make_context


def _pair() -> tuple[bytes, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kubernetes-admin")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def test_client_key_never_reaches_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cert, key = _pair()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    context = _make_context(cert, cert, key)
    assert context.verify_mode.name == "CERT_REQUIRED"
    assert list(tmp_path.iterdir()) == [], "nothing was written to the temporary folder"
