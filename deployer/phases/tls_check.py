"""Preflight's TLS check: the certificates the new manifest names must let the apiserver serve.

Why before touching the host: a serving certificate that does not match its key stops
kube-apiserver at start (``invalid serving cert keypair: tls: private key does not match public
key``), and one that has expired, is signed by another CA, or does not cover the address that
deployer probes lets it start but fails every verified client, the probe included. Either way
the host would be rolled back; checked here, nothing is touched and the message names the file.

Only files that exist are judged: a missing file is already reported by preflight's file check.
Key material is read into memory for the comparison and never leaves this module.
"""

from __future__ import annotations

from collections.abc import Sequence

from deployer.errors import DeployerError
from deployer.facts.certificates import check_pair
from deployer.phases.context import HostContext

__all__ = ["tls_problems"]


def _read(ctx: HostContext, path: str) -> bytes | None:
    try:
        return ctx.transport.read(ctx.path(path), sudo=ctx.state.become)
    except DeployerError:
        return None


def _named(flag: str, path: str) -> str:
    return f"--{flag}={path}"


def _check(
    ctx: HostContext,
    *,
    cert_flag: str,
    key_flag: str,
    ca_pem: bytes | None,
    ca_name: str,
    cover: Sequence[str] = (),
) -> list[str]:
    flags = ctx.state.flags
    cert_path, key_path = flags.get(cert_flag, ""), flags.get(key_flag, "")
    if not cert_path:
        return []
    cert = _read(ctx, cert_path)
    if cert is None:
        return []
    key = _read(ctx, key_path) if key_path else None
    result = check_pair(
        cert,
        key_pem=key,
        ca_pem=ca_pem,
        cover=cover,
        cert_name=_named(cert_flag, cert_path),
        key_name=_named(key_flag, key_path),
        ca_name=ca_name,
    )
    return list(result.errors)


def tls_problems(ctx: HostContext, cluster_ca_pem: bytes | None) -> list[str]:
    """Problems of the serving pair and the etcd client pair of the host's new flags.

    ``cluster_ca_pem`` is the client-facing CA (the ``cluster_ca_file`` preflight observed),
    the one deployer's probe and every kubeconfig verify the serving certificate with.
    """
    flags = ctx.state.flags
    cover = [ctx.state.probe_address]
    advertise = flags.get("advertise-address", "")
    if advertise:
        cover.insert(0, advertise)
    problems = _check(
        ctx,
        cert_flag="tls-cert-file",
        key_flag="tls-private-key-file",
        ca_pem=cluster_ca_pem,
        ca_name=f"the cluster CA {ctx.state.cluster_ca_file}",
        cover=cover,
    )
    etcd_ca_path = flags.get("etcd-cafile", "")
    etcd_ca = _read(ctx, etcd_ca_path) if etcd_ca_path else None
    problems += _check(
        ctx,
        cert_flag="etcd-certfile",
        key_flag="etcd-keyfile",
        ca_pem=etcd_ca,
        ca_name=_named("etcd-cafile", etcd_ca_path),
    )
    return problems
