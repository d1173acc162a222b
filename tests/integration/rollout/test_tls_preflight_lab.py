"""apply's TLS preflight refuses certificates that would stop (or isolate) the new apiserver.

Each case also shows what the rollback would otherwise have met: the lab apiserver, given the
same files directly, exits at start with the real binary's message (a key that does not match),
or starts with a certificate every verified client refuses (expired).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from rollout_support import Deployer

from deployer.lab.pki import LabNodeAddress, create_ca, issue_serving_certificate
from deployer.lab.testing import LabHandle, poll_until, running_lab

pytestmark = pytest.mark.integration

NODES = ("lab-cp1", "lab-cp2")
PKI = "/etc/kubernetes/pki"


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabHandle]:
    """One 2-node lab for the module: preflight touches nothing, so nothing needs mending."""
    with running_lab(
        tmp_path_factory.mktemp("tls"), nodes=2, first_address="127.0.170.1", time_scale=0.02
    ) as handle:
        yield handle


def _state(lab: LabHandle) -> dict[str, tuple[bytes, str]]:
    state = {}
    for node in NODES:
        running = lab.running_apiserver(node)
        assert running is not None
        state[node] = (lab.manifest(node).read_bytes(), str(running["id"]))
    return state


def _backups(lab: LabHandle) -> list[Path]:
    return [
        b for n in NODES for b in lab.node(n).path("/etc/kubernetes/tmp").glob("deployer-backup-*")
    ]


def _install(lab: LabHandle, name: str, cert: bytes) -> str:
    """Put a certificate file next to kubeadm's on every node; return its host path."""
    for node in NODES:
        lab.node(node).path(f"{PKI}/{name}").write_bytes(cert)
    return f"{PKI}/{name}"


def _refused(deployer: Deployer, lab: LabHandle, flag: str, value: str) -> str:
    before, backups = _state(lab), _backups(lab)
    code = deployer("apply", "-e", f"apiserver_flags.{flag}={value}")
    assert code == 3
    hosts = deployer.hosts()
    assert hosts["lab-cp1"]["outcome"] == "failed"
    assert hosts["lab-cp2"]["outcome"] == "skipped"
    assert _state(lab) == before, "nothing was touched"
    assert _backups(lab) == backups
    error = hosts["lab-cp1"]["error"]
    assert isinstance(error, dict)
    return str(error["message"])


def _start_directly(lab: LabHandle, node: str, flag: str, value: str) -> bytes:
    """Write the manifest with one flag changed, bypassing deployer; return the old bytes."""
    path = lab.manifest(node)
    old = path.read_bytes()
    pod = yaml.safe_load(old)
    command = pod["spec"]["containers"][0]["command"]
    command[:] = [c for c in command if not c.startswith(f"--{flag}=")] + [f"--{flag}={value}"]
    temp = path.with_name(f".{path.name}.test")
    temp.write_bytes(yaml.safe_dump(pod, sort_keys=False).encode())
    temp.rename(path)
    return old


def _restore(lab: LabHandle, node: str, old: bytes) -> None:
    path = lab.manifest(node)
    temp = path.with_name(f".{path.name}.test")
    temp.write_bytes(old)
    temp.rename(path)
    lab.wait_ready(node, timeout_s=30)


@pytest.fixture
def deployer(lab: LabHandle, tmp_path: Path) -> Deployer:
    return Deployer(lab, tmp_path)


def test_key_that_does_not_match_is_refused_before_the_host_is_touched(
    lab: LabHandle, deployer: Deployer
) -> None:
    node = lab.node("lab-cp1")
    cert, _ = issue_serving_certificate(lab.root, LabNodeAddress(node.name, node.ip))
    path = _install(lab, "apiserver-other.crt", cert)

    message = _refused(deployer, lab, "tls-cert-file", path)

    assert f"--tls-private-key-file={PKI}/apiserver.key does not match --tls-cert-file={path}" in (
        message
    )
    # What the rollback would have met: the apiserver exits at start, as the real one does.
    old = _start_directly(lab, "lab-cp1", "tls-cert-file", path)
    try:
        expected = "invalid serving cert keypair: tls: private key does not match public key"

        def exited_with_message() -> bool:
            for container in lab.containers("lab-cp1"):
                if container["state"] == "CONTAINER_EXITED":
                    logs = lab.crictl("lab-cp1", "logs", str(container["id"]))
                    if expected in logs.stdout + logs.stderr:
                        return True
            return False

        poll_until(exited_with_message, timeout_s=30, what="the apiserver refusing the pair")
    finally:
        _restore(lab, "lab-cp1", old)


@pytest.mark.parametrize("fault", ["expired", "uncovered"])
def test_expired_or_uncovering_serving_certificate_is_refused(
    lab: LabHandle, deployer: Deployer, fault: str
) -> None:
    node = lab.node("lab-cp1")
    key = node.path(f"{PKI}/apiserver.key").read_bytes()
    address = LabNodeAddress(node.name, node.ip)
    if fault == "expired":
        cert, _ = issue_serving_certificate(lab.root, address, key_pem=key, valid_days=-1)
    else:
        cert, _ = issue_serving_certificate(lab.root, address, key_pem=key, ip_addresses=())
    path = _install(lab, f"apiserver-{fault}.crt", cert)

    message = _refused(deployer, lab, "tls-cert-file", path)

    if fault == "expired":
        assert f"--tls-cert-file={path} expired on" in message
        # What the rollback would have met: it starts, and every verified client refuses it.
        old = _start_directly(lab, "lab-cp1", "tls-cert-file", path)
        try:
            poll_until(
                lambda: "expired" in lab.readyz("lab-cp1").detail,
                timeout_s=30,
                what="clients refusing the expired certificate",
            )
        finally:
            _restore(lab, "lab-cp1", old)
    else:
        assert f"--tls-cert-file={path} does not cover {node.ip}" in message


def test_etcd_client_certificate_must_chain_to_the_etcd_ca(
    lab: LabHandle, deployer: Deployer
) -> None:
    for name in NODES:
        create_ca(lab.node(name).path(f"{PKI}/etcd"), "other-ca", "etcd-ca")

    message = _refused(deployer, lab, "etcd-cafile", f"{PKI}/etcd/other-ca.crt")

    assert (
        f"--etcd-certfile={PKI}/apiserver-etcd-client.crt (issuer CN=etcd-ca) is not signed by "
        f"--etcd-cafile={PKI}/etcd/other-ca.crt"
    ) in message
