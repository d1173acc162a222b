"""The lab's certificate faults: a node's PKI files replaced by bad ones, and put back.

Why files and not flags: the common certificate failures on a real control-plane node are a
file that changed under a running apiserver (a renewal gone wrong, a restored backup, the two
kubeadm CAs confused), not a flag. The running apiserver keeps what it loaded at start, as the
real one does, so the fault is a time bomb that only a restart sets off, which is exactly what
``doctor`` and apply's TLS preflight are there to find first. Every bad file is made with the
lab's own PKI; the original is kept in the node's ``lab/`` folder and restored on ``--clear``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from deployer.lab.layout import NodeLayout
from deployer.lab.pki import LabNodeAddress, issue_serving_certificate

__all__ = ["FILE_FAULTS", "switch_file_fault"]

#: Fault name -> the node file (host path) it replaces.
FILE_FAULTS: dict[str, str] = {
    # The serving certificate expired yesterday (same key: only the dates are wrong).
    "cert-expired": "/etc/kubernetes/pki/apiserver.crt",
    # The serving certificate is for another key (a renewal that kept the old key file).
    "cert-mismatch": "/etc/kubernetes/pki/apiserver.crt",
    # The file --etcd-cafile names holds the cluster CA instead of etcd's (kubeadm's two CAs
    # confused). etcd reads the same file at start: it keeps its CA until it restarts.
    "etcd-wrong-ca": "/etc/kubernetes/pki/etcd/ca.crt",
}


def _saved(node: NodeLayout, host_path: str) -> Path:
    return node.lab_dir / "saved" / host_path.lstrip("/")


def _bad_content(lab_root: Path, node: NodeLayout, fault: str) -> bytes:
    address = LabNodeAddress(node.name, node.ip)
    if fault == "cert-expired":
        key = node.path("/etc/kubernetes/pki/apiserver.key").read_bytes()
        return issue_serving_certificate(lab_root, address, key_pem=key, valid_days=-1)[0]
    if fault == "cert-mismatch":
        return issue_serving_certificate(lab_root, address)[0]
    return node.path("/etc/kubernetes/pki/ca.crt").read_bytes()


def switch_file_fault(lab_root: Path, node: NodeLayout, fault: str, *, is_on: bool) -> None:
    """Replace the fault's file with a bad one (``is_on``), or put the original back.

    Switching on twice keeps the first original; two faults on one file share it.
    """
    host_path = FILE_FAULTS[fault]
    target, saved = node.path(host_path), _saved(node, host_path)
    if is_on:
        if not saved.exists():
            saved.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(target, saved)
        temp = target.with_name(f".{target.name}.fault")
        temp.write_bytes(_bad_content(lab_root, node, fault))
        temp.chmod(saved.stat().st_mode & 0o777)
        temp.rename(target)
    elif saved.exists():
        saved.replace(target)
