"""One single-member etcd per lab node, as on a stacked kubeadm control-plane node.

The real ``etcd`` is used when installed (Debian's ``etcd-server``): TLS with the node's
kubeadm etcd certificates, client certificates required, data in ``/var/lib/etcd`` of the node
folder. Without it, :mod:`deployer.lab.etcd_standin` answers ``/health`` over the same TLS, which
is all the apiserver stand-in's etcd check needs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from deployer.lab.layout import ETCD_CLIENT_PORT, ETCD_PEER_PORT, NodeLayout

__all__ = ["etcd_argv", "etcd_binary", "start_etcd"]

_CANDIDATES = ("/usr/bin/etcd", "/usr/local/bin/etcd")


def etcd_binary() -> Path | None:
    """Return the system's etcd, or None (the lab then runs its stand-in)."""
    for candidate in _CANDIDATES:
        if os.access(candidate, os.X_OK):
            return Path(candidate)
    found = shutil.which("etcd")
    return Path(found) if found else None


def etcd_argv(node: NodeLayout, binary: Path | None) -> list[str]:
    """Return the command line of the node's etcd (the real one when ``binary`` is set)."""
    pki = node.pki_dir / "etcd"
    client_url = f"https://{node.ip}:{ETCD_CLIENT_PORT}"
    if binary is None:
        return [
            sys.executable,
            "-m",
            "deployer.lab.etcd_standin",
            f"--listen={node.ip}:{ETCD_CLIENT_PORT}",
            f"--cert-file={pki / 'server.crt'}",
            f"--key-file={pki / 'server.key'}",
            f"--trusted-ca-file={pki / 'ca.crt'}",
        ]
    peer_url = f"https://{node.ip}:{ETCD_PEER_PORT}"
    return [
        str(binary),
        f"--name={node.name}",
        f"--data-dir={node.etcd_data_dir}",
        f"--listen-client-urls={client_url}",
        f"--advertise-client-urls={client_url}",
        f"--listen-peer-urls={peer_url}",
        f"--initial-advertise-peer-urls={peer_url}",
        f"--initial-cluster={node.name}={peer_url}",
        "--initial-cluster-state=new",
        "--client-cert-auth=true",
        f"--cert-file={pki / 'server.crt'}",
        f"--key-file={pki / 'server.key'}",
        f"--trusted-ca-file={pki / 'ca.crt'}",
        "--peer-client-cert-auth=true",
        f"--peer-cert-file={pki / 'peer.crt'}",
        f"--peer-key-file={pki / 'peer.key'}",
        f"--peer-trusted-ca-file={pki / 'ca.crt'}",
        "--snapshot-count=10000",
        # The JSON gateway of the v3 API (on by default in 3.4): nothing in the lab speaks it
        # (the apiserver stand-in asks `/health`, served without it), and leaving it out
        # keeps its handlers out of etcd's memory: 24.4 -> 23.5 MB RSS idle (bench/lab_memory.py).
        # Flag: https://etcd.io/docs/v3.4/op-guide/configuration/ ("--enable-grpc-gateway").
        "--enable-grpc-gateway=false",
        # A lab node is idle: a smaller heartbeat only costs CPU; keep etcd's defaults.
        "--logger=zap",
        "--log-outputs=stderr",
    ]


def start_etcd(node: NodeLayout, *, binary: Path | None, env: Mapping[str, str]) -> int:
    """Start the node's etcd in its own session; return its pid (readiness is checked later)."""
    node.etcd_data_dir.mkdir(parents=True, exist_ok=True)
    node.etcd_data_dir.chmod(0o700)
    log = node.process_log("etcd")
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        process = subprocess.Popen(
            etcd_argv(node, binary),
            cwd=node.root,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=out,
            start_new_session=True,
        )
    return process.pid
