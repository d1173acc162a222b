"""Route one authenticated request to its answer: health, version, discovery, resources.

Why separate from the socket code: everything an answer depends on (identity, query, state) is
passed in, so unit tests drive the routes without TLS or threads, and ``server.py`` only moves
bytes. Paths, status codes and bodies are kube-apiserver's (see ``health.py``,
``documents.py``, ``resources.py``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from deployer.lab.apiserver import documents
from deployer.lab.apiserver.auth import Identity, Request, authorize
from deployer.lab.apiserver.configmaps import ConfigMapStore
from deployer.lab.apiserver.health import (
    SLOW_HOOKS,
    HealthCheck,
    HealthReply,
    check_names,
    evaluate_root,
    evaluate_single,
)
from deployer.lab.apiserver.klog import Klog
from deployer.lab.apiserver.lifecycle import Lifecycle
from deployer.lab.apiserver.metrics import RequestMetrics
from deployer.lab.apiserver.mirror import mirror_pods
from deployer.lab.apiserver.probes import ComponentProbe, ProbeResult, probe_component
from deployer.lab.apiserver.replies import JSON, TEXT, Reply, headers, json_reply, not_found_text
from deployer.lab.apiserver.resources import CoreResources, EtcdHealth
from deployer.lab.faults import read_faults

__all__ = ["ApiServerApp", "AppConfig", "EtcdHealth", "Reply"]

_HEALTH_ENDPOINTS = ("livez", "readyz", "healthz")
#: What the real registry probes, from the apiserver's host.
_COMPONENTS = (
    ComponentProbe("scheduler", "https://127.0.0.1:10259/healthz"),
    ComponentProbe("controller-manager", "https://127.0.0.1:10257/healthz"),
)
_METRICS_TYPE = "text/plain; version=0.0.4; charset=utf-8"


@dataclass(frozen=True, slots=True)
class AppConfig:
    """What the routes need from the flags and the environment."""

    #: ``1.31.13``: what ``/version`` reports.
    version: str
    #: ``--authorization-mode``.
    authorization_modes: tuple[str, ...]
    #: ``host:port`` clients reach this server at (``/api``'s serverAddressByClientCIDRs).
    server_address: str
    #: The node's faults file, read on each ``/readyz``.
    faults_file: Path | None = None
    #: The components ``componentstatuses`` probes besides etcd.
    components: tuple[ComponentProbe, ...] = field(default=_COMPONENTS)
    #: The kubelet stand-in's state file (mirror pods); ``None``: no pods.
    kubelet_state: Path | None = None
    #: The node's name and address (mirror pods).
    node_name: str = ""
    node_ip: str = ""
    #: The cluster's ConfigMap store (kubeadm-config), shared by the nodes; None: none.
    configmaps: Path | None = None

    @property
    def minor(self) -> int:
        """The Kubernetes minor version."""
        parts = self.version.split(".")
        return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 31


class ApiServerApp:
    """Answer requests for one stand-in process.

    Args:
        config: see :class:`AppConfig`.
        etcd: the etcd health probe of ``--etcd-servers``.
        lifecycle: startup/shutdown state.
        metrics: request counters.
        log: the process's klog logger.
        component_prober: probes a scheduler/controller-manager (injectable for tests).
    """

    def __init__(
        self,
        config: AppConfig,
        etcd: EtcdHealth,
        lifecycle: Lifecycle,
        metrics: RequestMetrics,
        log: Klog,
        component_prober: Callable[[ComponentProbe], ProbeResult] = probe_component,
    ) -> None:
        self._config = config
        self._etcd = etcd
        self._lifecycle = lifecycle
        self._metrics = metrics
        self._log = log
        self._resources = CoreResources(
            etcd, config.components, component_prober, self._mirror_pods, log
        )

    def handle(
        self,
        method: str,
        path: str,
        query: Mapping[str, Sequence[str]],
        identity: Identity,
        accept: str = "",
        body: bytes = b"",
    ) -> Reply:
        """Authorize and answer one request from an authenticated ``identity``."""
        kind = "readOnly" if method in ("GET", "HEAD", "OPTIONS") else "mutating"
        self._metrics.request_started(kind)
        try:
            return self._handle(method, path, query, identity, accept, body)
        finally:
            self._metrics.request_finished(kind)

    def _handle(
        self,
        method: str,
        path: str,
        query: Mapping[str, Sequence[str]],
        identity: Identity,
        accept: str,
        body: bytes,
    ) -> Reply:
        request = classify(method, path)
        decision = authorize(identity, request, self._config.authorization_modes)
        if not decision.allowed:
            details: dict[str, str] = {}
            if request.resource is not None:
                details = {"kind": request.resource}
                if request.name is not None:
                    details = {"name": request.name, "kind": request.resource}
            reply = json_reply(403, documents.status(403, decision.message, "Forbidden", details))
        else:
            reply = self._route(method, path, query, accept, body)
        resource = request.resource or ""
        self._metrics.record_request(
            request.verb.upper(), resource, "" if resource else path, reply.status
        )
        return reply

    def unauthorized(self) -> Reply:
        """Answer a request whose credentials failed (or were required and absent)."""
        return json_reply(401, documents.status(401, "Unauthorized", "Unauthorized"))

    def _route(
        self,
        method: str,
        path: str,
        query: Mapping[str, Sequence[str]],
        accept: str,
        body: bytes = b"",
    ) -> Reply:
        parts = [part for part in path.split("/") if part]
        request = classify(method, path)
        if request.resource == "configmaps":
            return self._configmaps(method, request.namespace, request.name, body)
        if method not in ("GET", "HEAD"):
            message = "the server does not allow this method on the requested resource"
            return json_reply(405, documents.status(405, message, "MethodNotAllowed", {}))
        if parts and parts[0] in _HEALTH_ENDPOINTS:
            return self._health(parts[0], "/".join(parts[1:]), query)
        if path in ("/version", "/version/"):
            return Reply(200, documents.version_info(self._config.version), headers(JSON))
        if path in ("/api", "/api/"):
            return json_reply(200, documents.api_versions(self._config.server_address))
        if path in ("/apis", "/apis/"):
            return json_reply(200, documents.api_group_list())
        if path in ("/api/v1", "/api/v1/"):
            return json_reply(200, documents.api_resource_list())
        if path == "/metrics":
            return Reply(200, self._metrics.render().encode(), headers(_METRICS_TYPE))
        if request.resource == "componentstatuses" and request.namespace is None:
            return self._resources.component_statuses(request.name, accept)
        if request.resource == "pods":
            return self._resources.pods(request.namespace, request.name, accept)
        if parts and parts[0] in ("api", "apis"):
            message = "the server could not find the requested resource"
            return json_reply(404, documents.status(404, message, "NotFound", {}))
        return not_found_text()

    def _configmaps(
        self, method: str, namespace: str | None, name: str | None, body: bytes
    ) -> Reply:
        store = ConfigMapStore(self._config.configmaps) if self._config.configmaps else None
        if method in ("GET", "HEAD") and name is None:
            items = store.list(namespace) if store else []
            return json_reply(
                200,
                {"kind": "ConfigMapList", "apiVersion": "v1", "metadata": {}, "items": items},
            )
        if method in ("GET", "HEAD") and namespace is not None and name is not None:
            found = store.get(namespace, name) if store else None
            if found is None:
                return _not_found("configmaps", name)
            return json_reply(200, found)
        if method == "PUT" and namespace is not None and name is not None and store:
            try:
                obj = json.loads(body)
            except ValueError as exc:
                return json_reply(400, documents.status(400, str(exc), "BadRequest", {}))
            if not isinstance(obj, dict):
                return json_reply(400, documents.status(400, "not an object", "BadRequest", {}))
            status, answer = store.replace(namespace, name, obj)
            if isinstance(answer, dict):
                return json_reply(status, answer)
            reason = {404: "NotFound", 409: "Conflict"}.get(status, "BadRequest")
            details = {"name": name, "kind": "configmaps"}
            return json_reply(status, documents.status(status, answer, reason, details))
        message = "the server does not allow this method on the requested resource"
        return json_reply(405, documents.status(405, message, "MethodNotAllowed", {}))

    def _health(self, endpoint: str, single: str, query: Mapping[str, Sequence[str]]) -> Reply:
        checks = self._checks(endpoint)
        if single:
            matching = [check for check in checks if check.name == single]
            if not matching:
                return not_found_text()
            reply = evaluate_single(matching[0])
        else:
            reply = evaluate_root(endpoint, checks, query)
            for check in checks:
                self._metrics.record_health(endpoint, check.name, check.name not in reply.failed)
        self._log_health(endpoint, reply)
        return Reply(reply.status, reply.body.encode(), headers(TEXT))

    def _log_health(self, endpoint: str, reply: HealthReply) -> None:
        if reply.unmatched_excludes:
            names = ",".join(f'"{name}"' for name in reply.unmatched_excludes)
            self._log.warning(
                "healthz.go:175",
                "cannot exclude some health checks, no health checks are installed matching "
                + names,
            )
        if reply.failed and self._log.v(2):
            failed = ",".join(reply.failed)
            detail = reply.failed_detail.rstrip("\n")
            self._log.info("healthz.go:261", f"{failed} check failed: {endpoint}\n{detail}")

    def _mirror_pods(self) -> list[dict[str, object]]:
        if self._config.kubelet_state is None:
            return []
        ready = evaluate_root("readyz", self._checks("readyz"), {}).status == 200
        return mirror_pods(
            self._config.kubelet_state,
            self._config.node_name,
            self._config.node_ip,
            {"kube-apiserver": ready},
        )

    def _checks(self, endpoint: str) -> list[HealthCheck]:
        """Build the endpoint's checks against the current state."""
        faults_file = self._config.faults_file
        faults = read_faults(faults_file) if endpoint == "readyz" and faults_file else {}
        lifecycle = self._lifecycle
        # /livez defaults post-start hooks to healthy during startup (the livez grace period).
        hooks_gate = endpoint != "livez"

        def hook(name: str) -> Callable[[], str | None]:
            def run() -> str | None:
                if hooks_gate and name in SLOW_HOOKS and not lifecycle.hooks_finished:
                    return "not finished"
                return None

            return run

        def autoregister() -> str | None:
            if hooks_gate and not lifecycle.hooks_finished:
                return "missing APIService: [v1. v1.admissionregistration.k8s.io v1.apps]"
            return None

        def informer_sync() -> str | None:
            if faults.get("readyz-fail", False):
                return "1 informers not started yet: [*v1.Secret]"
            return None

        def shutdown() -> str | None:
            return "process is shutting down" if lifecycle.shutting_down else None

        def healthy() -> str | None:
            return None

        special: dict[str, Callable[[], str | None]] = {
            "etcd": self._etcd.check,
            "etcd-readiness": self._etcd.check,
            "informer-sync": informer_sync,
            "autoregister-completion": autoregister,
            "shutdown": shutdown,
        }
        checks = []
        for name in check_names(endpoint, self._config.minor):
            run = special.get(name) or (
                hook(name) if name.startswith("poststarthook/") else healthy
            )
            checks.append(HealthCheck(name, run))
        return checks


def classify(method: str, path: str) -> Request:
    """Turn a request into what RBAC sees: a path, or a verb on a core (v1) resource."""
    parts = [part for part in path.split("/") if part]
    if len(parts) >= 3 and parts[:2] == ["api", "v1"]:
        namespace = None
        rest = parts[2:]
        if rest[0] == "namespaces" and len(rest) >= 3:
            namespace, rest = rest[1], rest[2:]
        name = rest[1] if len(rest) >= 2 else None
        verb = {
            "GET": "list" if name is None else "get",
            "HEAD": "get",
            "PUT": "update",
            "POST": "create",
        }.get(method, method.lower())
        return Request(path, verb, rest[0], name, namespace)
    verb = {"GET": "get", "HEAD": "head"}.get(method, method.lower())
    return Request(path, verb)


def _not_found(resource: str, name: str) -> Reply:
    details = {"name": name, "kind": resource}
    return json_reply(
        404, documents.status(404, f'{resource} "{name}" not found', "NotFound", details)
    )
