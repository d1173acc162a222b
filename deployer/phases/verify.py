"""Verify the restarted apiserver on the host that was changed (DESIGN.md rule 5).

Order matters: ``/readyz`` decides (``/livez`` passes during the startup grace period), then
``/metrics`` must parse and count requests, the running container must carry exactly the
rendered command line, ``/version`` must match the image, ``componentstatuses`` is read from
this host's apiserver, and the container must not restart during a soak window (a crash loop
that starts "ready" is still a crash loop).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from deployer.errors import DeployerError, RolloutError
from deployer.facts.crictl import ParseError, parse_inspect_args
from deployer.facts.health import HealthReport, parse_componentstatuses, parse_version
from deployer.facts.kubeconfig import KubeconfigCredentials, KubeconfigError, parse_kubeconfig
from deployer.model.events import EventKind, poll_until
from deployer.phases.context import HostContext
from deployer.phases.metrics_probe import metrics_check
from deployer.phases.probes import ProbeResult, get, health
from deployer.phases.restart import list_containers
from deployer.podspec.compare import apiserver_command, apiserver_image, load_pod

__all__ = ["VerifyFailed", "VerifyReport", "read_credentials", "verify_host"]


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """Every check and its result."""

    checks: tuple[ProbeResult, ...]

    @property
    def ok(self) -> bool:
        """True when every check passed."""
        return all(c.ok for c in self.checks)

    def as_details(self) -> list[dict[str, object]]:
        """The checks as the JSON report's ``verify`` list."""
        return [
            {"check": c.name, "ok": c.ok, "detail": c.detail}
            | ({"figures": dict(c.figures)} if c.figures else {})
            for c in self.checks
        ]

    def failures(self) -> tuple[ProbeResult, ...]:
        """The checks that failed."""
        return tuple(c for c in self.checks if not c.ok)


class VerifyFailed(RolloutError):
    """One or more verification checks failed."""

    def __init__(self, report: VerifyReport, *, host: str, phase: str = "verify") -> None:
        failed = "; ".join(f"{c.name}: {c.detail}" for c in report.failures())
        super().__init__(f"verification failed: {failed}", host=host, phase=phase)
        self.report = report


def read_credentials(ctx: HostContext) -> KubeconfigCredentials:
    """Read the admin kubeconfig on the host (kept in memory, never logged).

    Raises:
        RolloutError: the kubeconfig is absent or unusable.
    """
    content = ctx.transport.read(ctx.path(ctx.state.kubeconfig), sudo=ctx.state.become)
    if content is None:
        raise RolloutError(
            f"the kubeconfig {ctx.state.kubeconfig} does not exist on the host",
            host=ctx.name,
            phase="verify",
            hint="set the `kubeconfig` variable to the admin kubeconfig's path on the host",
        )
    try:
        return parse_kubeconfig(content)
    except KubeconfigError as exc:
        raise RolloutError(
            f"the kubeconfig {ctx.state.kubeconfig} is unusable: {exc}",
            host=ctx.name,
            phase="verify",
        ) from exc


def _health_result(name: str, report: HealthReport) -> ProbeResult:
    if report.ok:
        return ProbeResult(name, True, f"{report.status}, {len(report.passed)} checks passed")
    failed = ", ".join(report.failed) or report.text.strip()[:200]
    return ProbeResult(name, False, f"{report.status}: {failed}")


def _wait_ready(
    ctx: HostContext, ca_pem: bytes, container_id: str | None, timeout_s: float
) -> HealthReport:
    """Poll ``/readyz?verbose`` until 200; give up early if the container stops running.

    /readyz is cheap and decides how soon the next host can start, so it is polled often;
    crictl (a process on the host) only about once a second.
    """
    last: list[HealthReport] = []
    checked_at = [ctx.clock.monotonic()]

    def probe() -> HealthReport | None:
        report = health(ctx, "/readyz", ca_pem=ca_pem)
        last[:] = [report]
        if report.ok:
            return report
        now = ctx.clock.monotonic()
        if container_id is not None and now - checked_at[0] >= 1.0:
            checked_at[0] = now
            containers = list_containers(ctx) or ()
            if not any(c.id == container_id and c.is_running for c in containers):
                return report
        return None

    found = poll_until(ctx.clock, probe, timeout_s=timeout_s, interval_s=0.1)
    return found or last[0]


def _running_args(ctx: HostContext, container_id: str) -> tuple[str, ...] | None:
    result = ctx.run([ctx.state.crictl, "inspect", container_id], ok_exit_codes=range(256))
    if not result.ok:
        return None
    try:
        return parse_inspect_args(result.stdout)
    except ParseError:
        return None


def verify_host(
    ctx: HostContext,
    *,
    manifest: bytes,
    container_id: str | None,
    soak_s: float | None = None,
    phase: str = "verify",
) -> VerifyReport:
    """Run every check against the host; raise with all results if any fails.

    ``manifest`` is what the host should run (the desired one, or the backup when verifying a
    rollback); ``container_id`` the container the restart phase saw (None: take the running one).

    Raises:
        VerifyFailed: a check failed (the report lists each check).
        RolloutError: the kubeconfig could not be read.
    """
    creds = read_credentials(ctx)
    checks: list[ProbeResult] = []
    if container_id is None:
        containers = list_containers(ctx) or ()
        running = next((c for c in containers if c.is_running), None)
        container_id = running.id if running else None
    ready = _wait_ready(ctx, creds.ca_pem, container_id, ctx.state.ready_timeout_s)
    checks.append(_health_result("readyz", ready))
    if not ready.ok:
        raise VerifyFailed(VerifyReport(tuple(checks)), host=ctx.name, phase=phase)
    checks.append(metrics_check(ctx, creds))
    for endpoint in ("/livez", "/healthz"):
        checks.append(
            _health_result(endpoint.strip("/"), health(ctx, endpoint, ca_pem=creds.ca_pem))
        )
    checks.append(_version_check(ctx, creds, manifest))
    checks.append(_componentstatuses_check(ctx, creds))
    checks.append(_args_check(ctx, container_id, manifest))
    soak = ctx.state.soak_s if soak_s is None else soak_s
    if soak > 0 and container_id is not None:
        checks.append(_soak_check(ctx, creds.ca_pem, container_id, soak))
    report = VerifyReport(tuple(checks))
    if not report.ok:
        raise VerifyFailed(report, host=ctx.name, phase=phase)
    return report


def _image_tag(manifest: bytes) -> str | None:
    image = apiserver_image(load_pod(manifest)) or ""
    name, _, tag = image.rpartition(":")
    return tag if name and "/" not in tag else None


def _version_check(ctx: HostContext, creds: KubeconfigCredentials, manifest: bytes) -> ProbeResult:
    try:
        response = get(ctx, "/version", ca_pem=creds.ca_pem, creds=creds)
    except (DeployerError, OSError) as exc:
        return ProbeResult("version", False, f"request failed: {exc}")
    version = parse_version(response.body)
    expected = _image_tag(manifest)
    if version is None:
        return ProbeResult("version", False, f"{response.status}: not a version document")
    if expected is not None and version != expected:
        return ProbeResult("version", False, f"serves {version}, the image tag is {expected}")
    return ProbeResult("version", True, version)


def _componentstatuses_check(ctx: HostContext, creds: KubeconfigCredentials) -> ProbeResult:
    """Read componentstatuses from this host; etcd must be healthy.

    Scheduler and controller-manager are reported, not required: they are other static pods
    that deployer does not manage, and their health says little about this apiserver's flags.
    """
    try:
        response = get(ctx, "/api/v1/componentstatuses", ca_pem=creds.ca_pem, creds=creds)
    except (DeployerError, OSError) as exc:
        return ProbeResult("componentstatuses", False, f"request failed: {exc}")
    components = parse_componentstatuses(response.body)
    if response.status != 200 or components is None:
        return ProbeResult("componentstatuses", False, f"HTTP {response.status}")
    etcd = [c for c in components if c.name.startswith("etcd")]
    shown = ", ".join(f"{c.name}={'ok' if c.healthy else 'unhealthy'}" for c in components)
    if not etcd or not all(c.healthy for c in etcd):
        return ProbeResult("componentstatuses", False, f"etcd not healthy: {shown}")
    return ProbeResult("componentstatuses", True, shown)


def _args_check(ctx: HostContext, container_id: str | None, manifest: bytes) -> ProbeResult:
    expected = apiserver_command(load_pod(manifest))
    if container_id is None:
        return ProbeResult("args", False, "no running kube-apiserver container")
    running = _running_args(ctx, container_id)
    if running is None:
        return ProbeResult("args", False, f"crictl inspect {container_id[:13]} failed")
    if expected is None or tuple(running) != tuple(expected):
        return ProbeResult("args", False, _describe_args_diff(running, expected or ()))
    return ProbeResult("args", True, f"{len(running) - 1} flags as rendered")


def _describe_args_diff(running: Sequence[str], expected: Sequence[str]) -> str:
    missing = [a for a in expected if a not in running]
    extra = [a for a in running if a not in expected]
    return f"running args differ: missing {missing[:3]}, unexpected {extra[:3]}"


def _soak_check(ctx: HostContext, ca_pem: bytes, container_id: str, soak_s: float) -> ProbeResult:
    """Watch the container for ``soak_s``: same id, running, restart count flat, still ready."""
    ctx.emit("verify", EventKind.WAIT, f"soak: watching the container for {soak_s:g}s")
    deadline = ctx.clock.monotonic() + soak_s
    baseline: int | None = None
    while True:
        containers = list_containers(ctx)
        if containers is not None:
            current = next((c for c in containers if c.id == container_id), None)
            if current is None or not current.is_running:
                return ProbeResult("soak", False, f"container {container_id[:13]} stopped running")
            if baseline is None:
                baseline = current.restart_count
            elif current.restart_count != baseline:
                return ProbeResult("soak", False, "the container restarted during the soak")
        if ctx.clock.monotonic() >= deadline:
            break
        ctx.clock.sleep(min(1.0, max(0.0, deadline - ctx.clock.monotonic())))
    final = health(ctx, "/readyz", ca_pem=ca_pem)
    if not final.ok:
        return ProbeResult(
            "soak", False, f"readyz failed after the soak: {', '.join(final.failed)}"
        )
    return ProbeResult("soak", True, f"{soak_s:g}s without a restart")
