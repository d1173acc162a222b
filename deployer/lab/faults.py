"""The lab's fault switches: one JSON file per node, read by the stand-ins.

The file's shape is the contract between the two lab helpers (``D/<node>/lab/faults.json``):
one boolean per fault. The apiserver stand-in reads it at start and on each ``/readyz``; the
process-level faults (kubelet, sshd, etcd stopped) and the certificate files
(``lab/cert_faults.py``) are enacted by the orchestrator.
"""

from __future__ import annotations

import json
from pathlib import Path

from deployer.errors import InputError
from deployer.lab.atomic import write_json_atomic

__all__ = ["FAULTS", "PROCESS_FAULTS", "read_faults", "set_fault"]

#: Every fault, in the order ``lab fault --help`` lists them.
FAULTS: tuple[str, ...] = (
    "apiserver-crash",
    "apiserver-slow",
    "readyz-fail",
    "kubelet-stop",
    "sshd-stop",
    "etcd-stop",
    "cert-expired",
    "cert-mismatch",
    "etcd-wrong-ca",
)

#: Faults enacted by stopping a process; fault name -> the process role.
PROCESS_FAULTS: dict[str, str] = {
    "kubelet-stop": "kubelet",
    "sshd-stop": "sshd",
    "etcd-stop": "etcd",
}


def read_faults(path: Path) -> dict[str, bool]:
    """Return every fault switch of a node (absent file or key: off)."""
    try:
        raw = json.loads(path.read_text())
    except (OSError, ValueError):
        raw = {}
    if not isinstance(raw, dict):
        raw = {}
    return {name: bool(raw.get(name, False)) for name in FAULTS}


def set_fault(path: Path, fault: str, *, is_on: bool) -> dict[str, bool]:
    """Switch one fault on or off and return the node's switches.

    Raises:
        InputError: ``fault`` is not one of :data:`FAULTS`.
    """
    if fault not in FAULTS:
        raise InputError(f"unknown fault {fault!r}", hint=f"one of: {', '.join(FAULTS)}")
    faults = read_faults(path)
    faults[fault] = is_on
    write_json_atomic(path, faults)
    return faults
