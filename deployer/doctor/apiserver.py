"""The apiserver as an operator checks it: container, /livez, /readyz, /version, cs, discovery.

Why this order: it is the operators' guide's troubleshooting order (is it running, is it
healthy, which check fails, does it serve the version the manifest names, can it see its
components, does discovery answer as ``kubectl api-resources`` needs), and each later check
is skipped with a reason when the apiserver does not answer at all, so the screen names the
first cause rather than six consequences of it.
"""

from __future__ import annotations

import dataclasses
import datetime
import json

from deployer.doctor.model import Check, Verdict
from deployer.doctor.subject import Subject
from deployer.errors import DeployerError
from deployer.facts.crictl import ContainerInfo
from deployer.facts.health import HealthReport, parse_componentstatuses, parse_health, parse_version
from deployer.podspec.compare import apiserver_image, load_pod

__all__ = ["check_apiserver"]

_GROUP = "apiserver"

#: readyz/livez check name -> where an operator looks first (flags named as on the command line).
_CHECK_HINTS: dict[str, str] = {
    "etcd": "the apiserver cannot use etcd: see the etcd checks below (--etcd-servers, "
    "--etcd-cafile, --etcd-certfile, --etcd-keyfile)",
    "etcd-readiness": "etcd does not answer reads: see the etcd checks below (--etcd-servers)",
    "informer-sync": "still starting: wait for --livez-grace-period, then look at the log",
    "shutdown": "the apiserver is shutting down (SIGTERM); kubelet restarts it from the manifest",
}


_CRASH_HINT = (
    "the apiserver exits at start: its last log lines are below (crictl logs); fix what they "
    "name in {manifest} (or the inventory) and apply"
)


def _started(container: ContainerInfo) -> str:
    if not container.created_at_ns:
        return "unknown"
    when = datetime.datetime.fromtimestamp(container.created_at_ns / 1e9, datetime.UTC)
    return f"{when:%Y-%m-%d %H:%M:%S} UTC"


def _container(subject: Subject) -> Check:
    observed = subject.plan.observed
    manifest = subject.ctx.state.manifest_path
    if observed is None or observed.containers is None:
        errors = "; ".join(observed.errors) if observed else "not observed"
        return Check(
            _GROUP,
            "container",
            Verdict.FAIL,
            f"crictl did not answer: {errors}",
            f"check the `crictl` variable ({subject.ctx.state.crictl}) and the runtime endpoint",
        )
    containers = observed.containers
    running = observed.running
    if running is not None:
        figures = {"restarts": float(running.restart_count)}
        detail = (
            f"running {running.id[:13]}, {running.restart_count} restarts, "
            f"started {_started(running)}"
        )
        if running.restart_count > 0:
            return Check(
                _GROUP,
                "container",
                Verdict.WARN,
                detail,
                "it restarted: read the log tail below for the last exit",
                figures=figures,
            )
        return Check(_GROUP, "container", Verdict.OK, detail, figures=figures)
    if not containers:
        return Check(
            _GROUP,
            "container",
            Verdict.FAIL,
            "no kube-apiserver container on this node",
            f"kubelet runs the static pod from {manifest}: check that kubelet runs and the file "
            "parses (see the manifest checks)",
        )
    last = containers[0]
    attempts = max(c.attempt for c in containers)
    return Check(
        _GROUP,
        "container",
        Verdict.FAIL,
        f"not running: crash-looping ({attempts + 1} starts, last {last.id[:13]} "
        f"{last.state.removeprefix('CONTAINER_').lower()})",
        _CRASH_HINT.format(manifest=manifest),
        figures={"restarts": float(attempts)},
    )


def _health(subject: Subject, endpoint: str) -> tuple[Check, HealthReport]:
    try:
        response = subject.get(f"/{endpoint}?verbose", authenticated=False)
    except DeployerError as exc:
        report = HealthReport(0, (), (str(exc.message),), str(exc))
        hint = (
            f"nothing answers at {subject.address}:{subject.port} "
            "(--advertise-address/--bind-address, --secure-port); see the container check"
        )
        return Check(_GROUP, endpoint, Verdict.FAIL, f"no answer: {exc.message}", hint), report
    report = parse_health(response.status, response.body)
    if report.ok:
        detail = f"{report.status}, {len(report.passed)} checks passed"
        return Check(_GROUP, endpoint, Verdict.OK, detail), report
    failed = [line.split(" ", 1)[0] for line in report.failed]
    hints = [_CHECK_HINTS[name] for name in failed if name in _CHECK_HINTS]
    hint = "; ".join(dict.fromkeys(hints)) or (
        f"curl -k https://{subject.address}:{subject.port}/{endpoint}?verbose names the "
        "failing checks; the log tail below says why"
    )
    detail = f"{report.status}: failed " + ", ".join(report.failed or ("(no check named)",))
    return Check(_GROUP, endpoint, Verdict.FAIL, detail, hint), report


def _skip(name: str, why: str) -> Check:
    return Check(_GROUP, name, Verdict.SKIP, why)


def _version(subject: Subject) -> Check:
    observed = subject.plan.observed
    manifest = observed.manifest if observed is not None else None
    image = apiserver_image(load_pod(manifest)) if manifest else None
    try:
        response = subject.get("/version")
    except DeployerError as exc:
        return Check(_GROUP, "version", Verdict.FAIL, f"request failed: {exc.message}")
    served = parse_version(response.body)
    if served is None:
        return Check(
            _GROUP, "version", Verdict.FAIL, f"HTTP {response.status}: not a version document"
        )
    tag = (image or "").rpartition(":")[2]
    if image and tag and tag != served:
        return Check(
            _GROUP,
            "version",
            Verdict.FAIL,
            f"serves {served}, the manifest's image is {image}",
            "the running binary is not the image the manifest names: kubelet did not restart "
            "the pod (see the manifest checks) or the image tag is wrong",
        )
    return Check(_GROUP, "version", Verdict.OK, f"{served} (image {image or 'unknown'})")


def _componentstatuses(subject: Subject) -> Check:
    try:
        response = subject.get("/api/v1/componentstatuses")
    except DeployerError as exc:
        return Check(_GROUP, "componentstatuses", Verdict.FAIL, f"request failed: {exc.message}")
    components = parse_componentstatuses(response.body)
    if response.status != 200 or components is None:
        return Check(
            _GROUP,
            "componentstatuses",
            Verdict.FAIL,
            f"HTTP {response.status}",
            f"the admin credentials of {subject.ctx.state.kubeconfig} may lack access",
        )
    shown = ", ".join(f"{c.name}={'ok' if c.healthy else 'unhealthy'}" for c in components)
    etcd = [c for c in components if c.name.startswith("etcd")]
    if not etcd or not all(c.healthy for c in etcd):
        messages = "; ".join(f"{c.name}: {c.message}" for c in etcd if not c.healthy)
        return Check(
            _GROUP,
            "componentstatuses",
            Verdict.FAIL,
            f"etcd not healthy: {shown}" + (f" ({messages})" if messages else ""),
            "see the etcd checks below (--etcd-servers and the --etcd-* files)",
        )
    return Check(_GROUP, "componentstatuses", Verdict.OK, shown)


def _discovery(subject: Subject) -> Check:
    """``/api`` and ``/apis`` as ``kubectl api-resources`` reads them first."""
    counts: list[str] = []
    for path in ("/api", "/apis", "/api/v1"):
        try:
            response = subject.get(path)
        except DeployerError as exc:
            return Check(_GROUP, "discovery", Verdict.FAIL, f"{path}: {exc.message}")
        if response.status != 200:
            return Check(
                _GROUP,
                "discovery",
                Verdict.FAIL,
                f"{path} answered HTTP {response.status}",
                "kubectl api-resources fails the same way; check --runtime-config",
            )
        try:
            doc = json.loads(response.body)
        except ValueError:
            return Check(_GROUP, "discovery", Verdict.FAIL, f"{path}: not JSON")
        if isinstance(doc, dict):
            if path == "/api":
                counts.append(f"versions {','.join(map(str, doc.get('versions') or []))}")
            elif path == "/apis":
                counts.append(f"{len(doc.get('groups') or doc.get('items') or [])} groups")
            else:
                counts.append(f"{len(doc.get('resources') or [])} core resources")
    return Check(_GROUP, "discovery", Verdict.OK, ", ".join(counts))


def check_apiserver(subject: Subject) -> tuple[Check, ...]:
    """Run the apiserver group; later checks are skipped when nothing answers."""
    container = _container(subject)
    livez, live = _health(subject, "livez")
    restarts = container.figures.get("restarts", 0.0)
    if live.status == 0 and container.verdict is not Verdict.FAIL and restarts > 0:
        # Between two crashes kubelet shows the new attempt running for a moment.
        container = dataclasses.replace(
            container,
            verdict=Verdict.FAIL,
            detail=f"crash-looping: {container.detail}, and nothing answers on "
            f"{subject.address}:{subject.port}",
            hint=_CRASH_HINT.format(manifest=subject.ctx.state.manifest_path),
        )
    checks = [container, livez]
    if live.status == 0:
        why = "skipped: the apiserver does not answer"
        names = ("readyz", "version", "componentstatuses", "discovery")
        return (*checks, *(_skip(name, why) for name in names))
    readyz, _ = _health(subject, "readyz")
    checks.append(readyz)
    if subject.creds is None:
        why = f"skipped: no admin credentials ({subject.creds_error})"
        return (*checks, *(_skip(n, why) for n in ("version", "componentstatuses", "discovery")))
    checks += [_version(subject), _componentstatuses(subject), _discovery(subject)]
    return tuple(checks)
