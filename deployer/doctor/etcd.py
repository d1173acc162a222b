"""etcd as the apiserver sees it: every ``--etcd-servers`` member, from the host, with its files.

Why from the host and with the apiserver's own ``--etcd-cafile``/``--etcd-certfile``/
``--etcd-keyfile``: "the apiserver cannot talk to etcd" has three different fixes, and only a
request made exactly as the apiserver makes it tells them apart (the operators' guide: re-check
the etcd server addresses and the certificate paths):

* cannot reach: nothing accepts the connection (etcd stopped, firewall, wrong port);
* wrong certificate: the TLS handshake fails on trust (the member's certificate is not signed
  by ``--etcd-cafile``, or the member refuses ``--etcd-certfile``);
* wrong address: TLS works but the member's certificate is for other names, or what answers
  is not etcd.

The request travels through the SSH connection (a direct-tcpip channel opened by the host's
sshd), so it leaves from the host as the apiserver's would.
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from deployer.doctor.model import Check, Verdict
from deployer.doctor.subject import Subject
from deployer.errors import DeployerError, UnreachableError
from deployer.facts.certificates import is_signed_by

__all__ = ["check_etcd", "classify_failure"]

_GROUP = "etcd"
_FILE_FLAGS = ("etcd-cafile", "etcd-certfile", "etcd-keyfile")


def classify_failure(message: str) -> tuple[str, str]:
    """Sort a failed request into (kind, hint): cannot reach, wrong certificate, wrong address.

    The message is the transport's (``ssl``'s verification text, the channel's refusal).
    """
    text = message.lower()
    if "hostname mismatch" in text or "ip address mismatch" in text or "doesn't match" in text:
        return (
            "wrong address",
            "the member's certificate is for other names: --etcd-servers must use a name or "
            "address its certificate lists",
        )
    server_trust = (
        "verification failed",
        "verify failed",
        "local issuer",
        "self-signed",
        "self signed",
        "has expired",
        "not yet valid",
    )
    client_trust = ("unknown ca", "unknown_ca", "bad certificate", "bad_certificate", "required")
    if any(word in text for word in (*server_trust, *client_trust)):
        if any(word in text for word in server_trust):
            return (
                "wrong certificate",
                "the member's certificate is not signed by --etcd-cafile: point --etcd-cafile at "
                "etcd's CA (kubeadm: /etc/kubernetes/pki/etcd/ca.crt)",
            )
        return (
            "wrong certificate",
            "the member refused the client certificate: --etcd-certfile/--etcd-keyfile must be "
            "signed by etcd's --trusted-ca-file (kubeadm: apiserver-etcd-client.crt)",
        )
    if "wrong version number" in text or "malformed" in text or "record layer" in text:
        return (
            "wrong address",
            "something that is not etcd over TLS answers there: check the host and port in "
            "--etcd-servers",
        )
    return (
        "cannot reach",
        "nothing accepts connections there: is etcd running on that member "
        "(crictl ps --name etcd), and are the host and port in --etcd-servers right?",
    )


def _is_untrusted_server(message: str) -> bool:
    text = message.lower()
    return "local issuer" in text or "self-signed" in text or "self signed" in text


def _untrusted_server(url: str, files: dict[str, bytes]) -> tuple[str, str]:
    """The member's certificate is not signed by ``--etcd-cafile``: which of the two is off?

    When ``--etcd-certfile`` is signed by ``--etcd-cafile``, the apiserver's etcd files agree
    with each other, so what answers at the address is not the etcd they were made for: the
    address is wrong (another service, another cluster's etcd, or etcd's CA was replaced).
    Otherwise the CA file itself is the odd one out.
    """
    cert, ca = files.get("etcd-certfile"), files.get("etcd-cafile")
    if cert is not None and ca is not None and is_signed_by(cert, ca):
        return (
            "wrong address",
            f"{url} presents a certificate that etcd's CA (the one that signed --etcd-certfile) "
            "did not sign: it is not this cluster's etcd; check the host and port in "
            "--etcd-servers (kubeadm: https://<node address>:2379)",
        )
    return (
        "wrong certificate",
        "--etcd-cafile is not the CA that signed etcd's certificates (nor --etcd-certfile): "
        "point it at etcd's CA (kubeadm: /etc/kubernetes/pki/etcd/ca.crt)",
    )


def _files(subject: Subject) -> tuple[dict[str, bytes], list[Check]]:
    contents: dict[str, bytes] = {}
    problems: list[Check] = []
    for flag in _FILE_FLAGS:
        path = subject.flag(flag)
        if not path:
            continue
        try:
            data = subject.read(path)
        except DeployerError as exc:
            data = None
            why = f"unreadable: {exc.message}"
        else:
            why = "does not exist on the host"
        if data is None:
            problems.append(
                Check(_GROUP, flag, Verdict.FAIL, f"--{flag}={path} {why}", f"fix --{flag}")
            )
        else:
            contents[flag] = data
    return contents, problems


def _member(subject: Subject, url: str, files: dict[str, bytes], index: int) -> Check:
    name = f"etcd-{index}"
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or 2379
    if parts.scheme != "https":
        return Check(
            _GROUP,
            name,
            Verdict.WARN,
            f"{url}: not checked (only https members are)",
            "kubeadm clusters use https with client certificates",
        )
    ca = files.get("etcd-cafile")
    if ca is None:
        return Check(
            _GROUP, name, Verdict.FAIL, f"{url}: no --etcd-cafile to verify it", "set --etcd-cafile"
        )
    try:
        response = subject.ctx.transport.https_get(
            host,
            port,
            "/health",
            ca_pem=ca,
            client_cert_pem=files.get("etcd-certfile"),
            client_key_pem=files.get("etcd-keyfile"),
            server_name=host,
            timeout_s=5.0,
        )
    except UnreachableError:
        raise
    except DeployerError as exc:
        kind, hint = classify_failure(exc.message)
        if kind == "wrong certificate" and _is_untrusted_server(exc.message):
            kind, hint = _untrusted_server(url, files)
        return Check(_GROUP, name, Verdict.FAIL, f"{url}: {kind}: {exc.message}", hint)
    try:
        doc = json.loads(response.body)
    except ValueError:
        doc = None
    if not isinstance(doc, dict) or "health" not in doc:
        kind, hint = (
            "wrong address",
            f"{url} answers HTTP {response.status} but is not etcd: check --etcd-servers",
        )
        return Check(_GROUP, name, Verdict.FAIL, f"{url}: {kind}", hint)
    if str(doc.get("health")) != "true":
        return Check(
            _GROUP,
            name,
            Verdict.FAIL,
            f"{url}: reachable, trusted, but unhealthy: {response.body.decode(errors='replace')}",
            "etcd itself is unhealthy (no quorum, alarms): etcdctl endpoint status on that member",
        )
    return Check(_GROUP, name, Verdict.OK, f"{url}: healthy (TLS with the apiserver's files)")


def check_etcd(subject: Subject) -> tuple[Check, ...]:
    """Check every member of ``--etcd-servers`` the way the apiserver talks to it."""
    servers = [s for s in subject.flag("etcd-servers").split(",") if s]
    if not servers:
        return (
            Check(_GROUP, "etcd-servers", Verdict.FAIL, "no --etcd-servers", "set --etcd-servers"),
        )
    files, problems = _files(subject)
    checks = [*problems]
    for index, url in enumerate(servers):
        checks.append(_member(subject, url, files, index))
    return tuple(checks)
