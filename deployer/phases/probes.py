"""HTTPS probes of one host's apiserver, through that host's own connection (DESIGN.md rule 5)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from deployer.errors import DeployerError
from deployer.facts.health import HealthReport, parse_health
from deployer.facts.kubeconfig import KubeconfigCredentials
from deployer.phases.context import HostContext
from deployer.transport.base import HttpResponse

__all__ = ["ProbeResult", "get", "health"]


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """One verification check, as the report shows it."""

    name: str
    ok: bool
    detail: str = ""
    #: Figures the check measured (``/metrics``: requests, 5xx share), for the report.
    figures: Mapping[str, float] | None = None


def get(
    ctx: HostContext,
    path: str,
    *,
    ca_pem: bytes,
    creds: KubeconfigCredentials | None = None,
    timeout_s: float = 5.0,
) -> HttpResponse:
    """GET ``path`` from the host's apiserver at the address its flags make it listen on."""
    return ctx.transport.https_get(
        ctx.state.probe_address,
        ctx.state.probe_port,
        path,
        ca_pem=ca_pem,
        client_cert_pem=creds.client_cert_pem if creds else None,
        client_key_pem=creds.client_key_pem.value.encode()
        if creds and creds.client_key_pem
        else None,
        timeout_s=timeout_s,
    )


def health(ctx: HostContext, endpoint: str, *, ca_pem: bytes) -> HealthReport:
    """``/livez``, ``/readyz`` or ``/healthz`` with ``?verbose``; a refused connection is 0."""
    try:
        response = get(ctx, f"{endpoint}?verbose", ca_pem=ca_pem)
    except DeployerError as exc:
        return HealthReport(status=0, passed=(), failed=(str(exc.message),), text=str(exc))
    except OSError as exc:
        return HealthReport(status=0, passed=(), failed=(f"connection: {exc}",), text=str(exc))
    return parse_health(response.status, response.body)
