"""Verify's ``/metrics`` check: the restarted apiserver exposes metrics and counts requests.

Why after ``/readyz``: a ready apiserver that serves no metrics (or whose request counter is
missing) leaves every dashboard and alert of the cluster blind, which an operator wants to
know from the rollout rather than from the next incident. The figures go into the report so a
run records the host's request rate and 5xx share right after the change.
"""

from __future__ import annotations

from deployer.errors import DeployerError
from deployer.facts.kubeconfig import KubeconfigCredentials
from deployer.facts.metrics import parse_metrics
from deployer.phases.context import HostContext
from deployer.phases.probes import ProbeResult, get

__all__ = ["metrics_check"]


def metrics_check(ctx: HostContext, creds: KubeconfigCredentials) -> ProbeResult:
    """GET ``/metrics`` with the admin credentials; it must parse and count requests."""
    try:
        response = get(ctx, "/metrics", ca_pem=creds.ca_pem, creds=creds)
    except (DeployerError, OSError) as exc:
        return ProbeResult("metrics", False, f"request failed: {exc}")
    if response.status != 200:
        return ProbeResult("metrics", False, f"HTTP {response.status}")
    try:
        snapshot = parse_metrics(response.body.decode("utf-8", "replace"))
    except ValueError as exc:
        return ProbeResult("metrics", False, f"not the Prometheus text format: {exc}")
    if snapshot.requests_total is None:
        return ProbeResult("metrics", False, "apiserver_request_total is missing")
    share = snapshot.requests_5xx / snapshot.requests_total if snapshot.requests_total else 0.0
    figures: dict[str, float] = {
        "requests_total": snapshot.requests_total,
        "requests_5xx": snapshot.requests_5xx,
        "share_5xx": round(share, 4),
    }
    if snapshot.etcd_mean_s is not None:
        figures["etcd_mean_ms"] = round(snapshot.etcd_mean_s * 1000, 3)
    for kind, value in snapshot.inflight.items():
        figures[f"inflight_{kind or 'all'}"] = value
    detail = f"{snapshot.requests_total:.0f} requests served, {share:.1%} 5xx"
    return ProbeResult("metrics", True, detail, figures)
