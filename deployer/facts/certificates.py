"""Judge the certificates and keys kube-apiserver's flags name: pure functions over PEM bytes.

Why here and pure: ``doctor`` and apply's TLS preflight ask the same questions of the same
files (does the key match, does it chain to the CA, does it cover the address, when does it
expire), and a restarted apiserver whose serving pair is wrong does not come back. The answers
are plain data, tested from PEM files the lab's PKI makes; the files are read by the callers.

Each problem is one sentence an operator can act on. Private keys are parsed in memory only;
no function returns or formats key material.
"""

from __future__ import annotations

import datetime
import enum
import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes, PublicKeyTypes

__all__ = [
    "EXPIRY_WARNING_DAYS",
    "CertificateFacts",
    "Finding",
    "PairCheck",
    "Problem",
    "Severity",
    "check_pair",
    "is_signed_by",
    "load_certificates",
    "names_cover",
    "public_keys",
]

#: Under this many days left, a certificate is a warning (kubeadm's ``certs check-expiration``
#: and most alerting rules warn a month ahead).
EXPIRY_WARNING_DAYS = 30


class Severity(enum.Enum):
    """How bad one finding is."""

    WARNING = "warning"
    ERROR = "error"


class Problem(enum.Enum):
    """What is wrong, so a caller can say what to do about it."""

    UNREADABLE = "unreadable"
    KEY_MISMATCH = "key-mismatch"
    NOT_SIGNED = "not-signed"
    NOT_YET_VALID = "not-yet-valid"
    EXPIRED = "expired"
    EXPIRING = "expiring"
    NAMES = "names"


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem with a file, as a sentence."""

    severity: Severity
    message: str
    problem: Problem = Problem.UNREADABLE


@dataclass(frozen=True, slots=True)
class CertificateFacts:
    """What a certificate says, for the report (no key material)."""

    subject: str
    issuer: str
    not_after: datetime.datetime
    dns_names: tuple[str, ...]
    ip_addresses: tuple[str, ...]

    def days_left(self, now: datetime.datetime) -> float:
        """Days until ``not_after`` (negative once expired)."""
        return (self.not_after - now).total_seconds() / 86400.0


@dataclass(frozen=True, slots=True)
class PairCheck:
    """The verdict on one certificate (and its key and CA, where given)."""

    facts: CertificateFacts | None
    findings: tuple[Finding, ...]

    @property
    def errors(self) -> tuple[str, ...]:
        """The findings that would stop an apiserver or its clients."""
        return tuple(f.message for f in self.findings if f.severity is Severity.ERROR)

    @property
    def warnings(self) -> tuple[str, ...]:
        """The findings worth an operator's eye."""
        return tuple(f.message for f in self.findings if f.severity is Severity.WARNING)

    @property
    def problems(self) -> tuple[Problem, ...]:
        """What kinds of problem were found, in order."""
        return tuple(f.problem for f in self.findings)


def load_certificates(pem: bytes) -> tuple[x509.Certificate, ...]:
    """Every certificate of a PEM bundle, in file order.

    Raises:
        ValueError: no certificate could be read.
    """
    certs = tuple(x509.load_pem_x509_certificates(pem))
    if not certs:
        raise ValueError("no PEM certificate in the file")
    return certs


def _facts(cert: x509.Certificate) -> CertificateFacts:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        dns = tuple(san.get_values_for_type(x509.DNSName))
        ips = tuple(str(ip) for ip in san.get_values_for_type(x509.IPAddress))
    except x509.ExtensionNotFound:
        dns, ips = (), ()
    return CertificateFacts(
        subject=cert.subject.rfc4514_string(),
        issuer=cert.issuer.rfc4514_string(),
        not_after=cert.not_valid_after_utc,
        dns_names=dns,
        ip_addresses=ips,
    )


def names_cover(facts: CertificateFacts, name: str) -> bool:
    """True when the certificate's SANs cover ``name`` (an IP address or a DNS name).

    Go's ``crypto/x509`` ignores the subject CN since 1.15, so only SANs count; a DNS name
    matches exactly or by one leading ``*.`` label.
    """
    try:
        wanted = ipaddress.ip_address(name.strip("[]"))
    except ValueError:
        lowered = name.lower().rstrip(".")
        for dns in facts.dns_names:
            pattern = dns.lower().rstrip(".")
            if pattern == lowered:
                return True
            if pattern.startswith("*.") and lowered.partition(".")[2] == pattern[2:]:
                return True
        return False
    return any(ipaddress.ip_address(ip) == wanted for ip in facts.ip_addresses)


def _public_bytes(key: PublicKeyTypes) -> bytes:
    return key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _load_key(key_pem: bytes) -> PrivateKeyTypes:
    return serialization.load_pem_private_key(key_pem, password=None)


def _chains(cert: x509.Certificate, cas: Sequence[x509.Certificate]) -> bool:
    for ca in cas:
        try:
            cert.verify_directly_issued_by(ca)
        except (ValueError, TypeError, InvalidSignature):
            continue
        return True
    return False


def is_signed_by(cert_pem: bytes, ca_pem: bytes) -> bool:
    """True when the first certificate of ``cert_pem`` is signed by a CA of ``ca_pem``."""
    try:
        return _chains(load_certificates(cert_pem)[0], load_certificates(ca_pem))
    except ValueError:
        return False


def check_pair(
    cert_pem: bytes,
    *,
    key_pem: bytes | None = None,
    ca_pem: bytes | None = None,
    cover: Sequence[str] = (),
    now: datetime.datetime | None = None,
    cert_name: str = "the certificate",
    key_name: str = "the key",
    ca_name: str = "the CA",
) -> PairCheck:
    """Check a certificate: readable, matches its key, chains to the CA, covers, not expired.

    ``cover`` are the addresses clients will use (the advertise address, the probe host);
    the ``*_name`` arguments are how the findings name the files (the flag and the path).
    """
    now = now or datetime.datetime.now(datetime.UTC)
    try:
        cert = load_certificates(cert_pem)[0]
    except ValueError as exc:
        return PairCheck(None, (Finding(Severity.ERROR, f"{cert_name} is unreadable: {exc}"),))
    facts = _facts(cert)
    findings: list[Finding] = []
    if key_pem is not None:
        try:
            key = _load_key(key_pem)
        except (ValueError, TypeError) as exc:
            findings.append(Finding(Severity.ERROR, f"{key_name} is unreadable: {exc}"))
        else:
            if _public_bytes(key.public_key()) != _public_bytes(cert.public_key()):
                findings.append(
                    Finding(
                        Severity.ERROR,
                        f"{key_name} does not match {cert_name}",
                        Problem.KEY_MISMATCH,
                    )
                )
    if ca_pem is not None:
        try:
            cas = load_certificates(ca_pem)
        except ValueError as exc:
            findings.append(Finding(Severity.ERROR, f"{ca_name} is unreadable: {exc}"))
        else:
            if not _chains(cert, cas):
                subjects = [c.subject.rfc4514_string() for c in cas]
                same = " with the same name but another key" if facts.issuer in subjects else ""
                findings.append(
                    Finding(
                        Severity.ERROR,
                        f"{cert_name} (issuer {facts.issuer}) is not signed by {ca_name}"
                        f" ({', '.join(subjects)}){same}",
                        Problem.NOT_SIGNED,
                    )
                )
    findings.extend(_validity(cert, facts, now, cert_name))
    missing = [name for name in dict.fromkeys(cover) if name and not names_cover(facts, name)]
    if missing:
        names = ", ".join([*facts.ip_addresses, *facts.dns_names]) or "no SANs"
        findings.append(
            Finding(
                Severity.ERROR,
                f"{cert_name} does not cover {', '.join(missing)} (it is valid for {names})",
                Problem.NAMES,
            )
        )
    return PairCheck(facts, tuple(findings))


def _validity(
    cert: x509.Certificate, facts: CertificateFacts, now: datetime.datetime, cert_name: str
) -> list[Finding]:
    if cert.not_valid_before_utc > now:
        return [
            Finding(
                Severity.ERROR,
                f"{cert_name} is not valid before {cert.not_valid_before_utc:%Y-%m-%d %H:%M} UTC",
                Problem.NOT_YET_VALID,
            )
        ]
    days = facts.days_left(now)
    when = f"{facts.not_after:%Y-%m-%d %H:%M} UTC"
    if days < 0:
        return [Finding(Severity.ERROR, f"{cert_name} expired on {when}", Problem.EXPIRED)]
    if days < EXPIRY_WARNING_DAYS:
        message = f"{cert_name} expires in {days:.0f} days ({when})"
        return [Finding(Severity.WARNING, message, Problem.EXPIRING)]
    return []


_PEM_BLOCK = re.compile(rb"-----BEGIN ([A-Z ]+)-----\r?\n.*?-----END \1-----", re.DOTALL)


def public_keys(pem: bytes) -> tuple[bytes, ...]:
    """The public keys (DER) of every PEM block: public keys, private keys, certificates.

    For ``--service-account-key-file``, which kube-apiserver reads in any of those forms, and
    whose keys must include the public half of ``--service-account-signing-key-file``.

    Raises:
        ValueError: no block is a key or a certificate, or one is malformed.
    """
    found: list[bytes] = []
    for match in _PEM_BLOCK.finditer(pem):
        kind, block = match.group(1), match.group(0)
        if kind == b"CERTIFICATE":
            found.append(_public_bytes(x509.load_pem_x509_certificate(block).public_key()))
        elif kind == b"PUBLIC KEY":
            found.append(_public_bytes(serialization.load_pem_public_key(block)))
        elif kind.endswith(b"PRIVATE KEY"):
            found.append(_public_bytes(_load_key(block).public_key()))
    if not found:
        raise ValueError("no PEM key or certificate in the file")
    return tuple(found)
