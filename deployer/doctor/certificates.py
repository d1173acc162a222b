"""The certificates and keys the live flags name: readable, matching, chained, covering, valid.

Why each pair with its own CA: kube-apiserver serves with ``--tls-cert-file`` (clients verify it
with the cluster CA of their kubeconfig), authenticates to kubelets with
``--kubelet-client-certificate`` (kubelets trust the cluster CA, kubeadm's ``ca.crt``), to etcd
with ``--etcd-certfile`` (etcd trusts ``--etcd-cafile``'s CA in kubeadm's layout), to aggregated
APIs with ``--proxy-client-cert-file`` (``--requestheader-client-ca-file``), and signs service
account tokens with ``--service-account-signing-key-file`` whose public half must be among
``--service-account-key-file``. A wrong file in any pair fails at start or on first use.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass

from deployer.doctor.model import Check, Verdict
from deployer.doctor.subject import Subject
from deployer.errors import DeployerError
from deployer.facts.certificates import Problem, check_pair, public_keys

__all__ = ["PAIRS", "check_certificates"]

_GROUP = "certificates"


@dataclass(frozen=True, slots=True)
class Pair:
    """A certificate flag, its key flag, and the flag (or variable) that names its CA."""

    name: str
    cert_flag: str
    key_flag: str
    #: A flag naming the CA bundle; "" = the cluster CA (the `cluster_ca_file` variable).
    ca_flag: str
    #: Whether the certificate must cover the advertise address and the probe host.
    is_serving: bool = False


#: The pairs checked, in the order shown.
PAIRS: tuple[Pair, ...] = (
    Pair("serving", "tls-cert-file", "tls-private-key-file", "", is_serving=True),
    Pair("kubelet-client", "kubelet-client-certificate", "kubelet-client-key", "client-ca-file"),
    Pair("etcd-client", "etcd-certfile", "etcd-keyfile", "etcd-cafile"),
    Pair(
        "front-proxy-client",
        "proxy-client-cert-file",
        "proxy-client-key-file",
        "requestheader-client-ca-file",
    ),
)


def _read(subject: Subject, path: str) -> tuple[bytes | None, str]:
    try:
        data = subject.read(path)
    except DeployerError as exc:
        return None, f"{path} is unreadable: {exc.message}"
    return data, "" if data is not None else f"{path} does not exist on the host"


def _pair(subject: Subject, pair: Pair) -> Check | None:
    cert_path = subject.flag(pair.cert_flag)
    if not cert_path:
        return None
    key_path = subject.flag(pair.key_flag)
    ca_path = subject.flag(pair.ca_flag) if pair.ca_flag else str(subject.ctx.state.cluster_ca_file)
    ca_name = f"--{pair.ca_flag}={ca_path}" if pair.ca_flag else f"the cluster CA {ca_path}"
    cert, why = _read(subject, cert_path)
    if cert is None:
        return Check(_GROUP, pair.name, Verdict.FAIL, why, f"fix --{pair.cert_flag}")
    key: bytes | None = None
    if key_path:
        key, why = _read(subject, key_path)
        if key is None:
            return Check(_GROUP, pair.name, Verdict.FAIL, why, f"fix --{pair.key_flag}")
    ca, _ = _read(subject, ca_path) if ca_path else (None, "")
    cover: Sequence[str] = (
        (subject.address, subject.ctx.state.probe_address) if pair.is_serving else ()
    )
    result = check_pair(
        cert,
        key_pem=key,
        ca_pem=ca,
        cover=cover,
        cert_name=f"--{pair.cert_flag}={cert_path}",
        key_name=f"--{pair.key_flag}={key_path}",
        ca_name=ca_name,
    )
    figures: dict[str, float] = {}
    detail = ""
    if result.facts is not None:
        days = result.facts.days_left(datetime.datetime.now(datetime.UTC))
        figures["days_left"] = round(days, 1)
        detail = f"{result.facts.subject}, {days:.0f} days left"
    if result.errors:
        return Check(
            _GROUP,
            pair.name,
            Verdict.FAIL,
            "; ".join(result.errors),
            _hint(pair, cert_path, ca_name, result.problems),
            figures=figures,
        )
    if result.warnings:
        return Check(
            _GROUP,
            pair.name,
            Verdict.WARN,
            "; ".join(result.warnings),
            f"renew {cert_path} before it expires (kubeadm certs renew)",
            figures=figures,
        )
    return Check(_GROUP, pair.name, Verdict.OK, detail, figures=figures)


def _hint(pair: Pair, cert_path: str, ca_name: str, problems: Sequence[Problem]) -> str:
    """What to do, for the first problem found (the one a restart would meet first)."""
    first = next((p for p in problems if p is not Problem.EXPIRING), Problem.UNREADABLE)
    renew = f"kubeadm certs renew {_KUBEADM_NAMES.get(pair.name, 'all')}"
    if first is Problem.KEY_MISMATCH:
        return (
            f"--{pair.cert_flag} and --{pair.key_flag} must be one pair: restore the key that "
            f"belongs to {cert_path}, or reissue both ({renew})"
        )
    if first is Problem.NOT_SIGNED:
        flag = f"--{pair.ca_flag}" if pair.ca_flag else "the cluster CA (`cluster_ca_file`)"
        return (
            f"{flag} and --{pair.cert_flag} disagree: point {flag} at the CA that signed "
            f"{cert_path}, or reissue it from {ca_name}"
        )
    if first in (Problem.EXPIRED, Problem.NOT_YET_VALID):
        return f"renew {cert_path} ({renew}) and check the node's clock"
    if first is Problem.NAMES:
        return (
            f"reissue {cert_path} with the missing addresses in its SANs (kubeadm: "
            "apiServer.certSANs, then kubeadm init phase certs apiserver), or fix "
            "--advertise-address"
        )
    return f"fix --{pair.cert_flag}/--{pair.key_flag}: the files must be PEM"


#: doctor's pair name -> kubeadm's certificate name for ``kubeadm certs renew``.
_KUBEADM_NAMES = {
    "serving": "apiserver",
    "kubelet-client": "apiserver-kubelet-client",
    "etcd-client": "apiserver-etcd-client",
    "front-proxy-client": "front-proxy-client",
}


def _client_ca(subject: Subject) -> Check | None:
    path = subject.flag("client-ca-file")
    if not path:
        return None
    data, why = _read(subject, path)
    if data is None:
        return Check(_GROUP, "client-ca", Verdict.FAIL, why, "fix --client-ca-file")
    result = check_pair(data, cert_name=f"--client-ca-file={path}")
    if result.errors:
        return Check(_GROUP, "client-ca", Verdict.FAIL, "; ".join(result.errors))
    if result.warnings:
        return Check(
            _GROUP, "client-ca", Verdict.WARN, "; ".join(result.warnings), "rotate the cluster CA"
        )
    return Check(_GROUP, "client-ca", Verdict.OK, result.facts.subject if result.facts else "")


def _service_account(subject: Subject) -> Check | None:
    key_files = [p for p in subject.flag("service-account-key-file").split(",") if p]
    signing = subject.flag("service-account-signing-key-file")
    if not key_files and not signing:
        return None
    known: set[bytes] = set()
    for path in key_files:
        data, why = _read(subject, path)
        if data is None:
            return Check(
                _GROUP, "service-account", Verdict.FAIL, why, "fix --service-account-key-file"
            )
        try:
            known.update(public_keys(data))
        except ValueError as exc:
            return Check(_GROUP, "service-account", Verdict.FAIL, f"{path}: {exc}")
    if signing:
        data, why = _read(subject, signing)
        if data is None:
            return Check(
                _GROUP,
                "service-account",
                Verdict.FAIL,
                why,
                "fix --service-account-signing-key-file",
            )
        try:
            (public,) = public_keys(data)[:1]
        except ValueError as exc:
            return Check(_GROUP, "service-account", Verdict.FAIL, f"{signing}: {exc}")
        if known and public not in known:
            return Check(
                _GROUP,
                "service-account",
                Verdict.FAIL,
                f"--service-account-signing-key-file={signing} has no public half in "
                f"--service-account-key-file={','.join(key_files)}",
                "tokens it signs would be rejected: add sa.pub to --service-account-key-file",
            )
    return Check(
        _GROUP, "service-account", Verdict.OK, f"{len(known)} verification keys, signing key known"
    )


def check_certificates(subject: Subject) -> tuple[Check, ...]:
    """Check every pair the live flags name, the client CA and the service-account keys."""
    checks = [_pair(subject, pair) for pair in PAIRS]
    checks += [_client_ca(subject), _service_account(subject)]
    return tuple(c for c in checks if c is not None)
