"""The core resources the lab serves: ``componentstatuses`` and the node's mirror pods.

Why these two: the tool reads ``componentstatuses`` from the host it changed (DESIGN rule 5) and
may prove a restart through the mirror pod's ``kubernetes.io/config.hash`` (rule 4); a real
``kubectl get cs`` / ``kubectl get pods -n kube-system`` work against them, Tables included.
"""

from __future__ import annotations

import concurrent.futures
import datetime
import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

from deployer.lab.apiserver import documents, tables
from deployer.lab.apiserver.klog import Klog
from deployer.lab.apiserver.probes import ComponentProbe, ProbeResult
from deployer.lab.apiserver.replies import Reply, json_reply

__all__ = ["CoreResources", "EtcdHealth"]

_ETCD_PROBE_ERROR = "error getting data from etcd: context deadline exceeded"
_WARNING = (("Warning", documents.COMPONENT_STATUS_WARNING),)


class EtcdHealth(Protocol):
    """What the server asks of etcd (:class:`~deployer.lab.apiserver.probes.EtcdProbe`)."""

    @property
    def servers(self) -> tuple[str, ...]:
        """The ``--etcd-servers`` URLs."""
        ...

    def check(self) -> str | None:
        """Return ``None`` when etcd is healthy, else why not (may be cached)."""
        ...

    def check_server(self, url: str) -> str | None:
        """Probe one member now."""
        ...


class CoreResources:
    """Answer ``/api/v1/componentstatuses...`` and ``/api/v1/.../pods...``.

    Args:
        etcd: etcd health (``etcd-N`` component statuses).
        components: the scheduler/controller-manager probes.
        component_prober: runs one probe.
        mirror_pods: returns the node's mirror pods now.
        log: the process's logger.
    """

    def __init__(
        self,
        etcd: EtcdHealth,
        components: Sequence[ComponentProbe],
        component_prober: Callable[[ComponentProbe], ProbeResult],
        mirror_pods: Callable[[], list[dict[str, object]]],
        log: Klog,
    ) -> None:
        self._etcd = etcd
        self._components = tuple(components)
        self._component_prober = component_prober
        self._mirror_pods = mirror_pods
        self._log = log

    def component_statuses(self, name: str | None, accept: str) -> Reply:
        """List the component statuses, or get one (``Component not found`` is a 500, as real)."""
        probes: dict[str, Callable[[], ProbeResult]] = {}
        for component in self._components:
            probes[component.name] = functools.partial(self._component_prober, component)
        for index, server in enumerate(self._etcd.servers):
            probes[f"etcd-{index}"] = functools.partial(self._etcd_status, server)
        if name is not None:
            if name not in probes:
                return json_reply(
                    500, documents.status(500, f"Component not found: {name}"), _WARNING
                )
            item = documents.component_status(name, probes[name]())
            if tables.wants_table(accept):
                return json_reply(200, tables.component_status_table([item]), _WARNING)
            return json_reply(200, item, _WARNING)
        names = sorted(probes)
        with concurrent.futures.ThreadPoolExecutor(max_workers=len(names) or 1) as pool:
            results = list(pool.map(lambda key: probes[key](), names))
        if tables.wants_table(accept):
            items = [documents.component_status(n, r) for n, r in zip(names, results, strict=True)]
            return json_reply(200, tables.component_status_table(items), _WARNING)
        document = documents.component_status_list(list(zip(names, results, strict=True)))
        return json_reply(200, document, _WARNING)

    def pods(self, namespace: str | None, name: str | None, accept: str) -> Reply:
        """List or get mirror pods (only this node's static pods exist in the lab's API)."""
        pods = [
            pod
            for pod in self._mirror_pods()
            if namespace is None or _metadata(pod).get("namespace") == namespace
        ]
        now = datetime.datetime.now(datetime.UTC)
        if name is not None:
            pods = [pod for pod in pods if _metadata(pod).get("name") == name]
            if not pods:
                message = f'pods "{name}" not found'
                details = {"name": name, "kind": "pods"}
                return json_reply(404, documents.status(404, message, "NotFound", details))
            if tables.wants_table(accept):
                return json_reply(200, tables.pod_table(pods, now))
            return json_reply(200, pods[0])
        if tables.wants_table(accept):
            return json_reply(200, tables.pod_table(pods, now))
        return json_reply(200, _pod_list(pods))

    def _etcd_status(self, server: str) -> ProbeResult:
        reason = self._etcd.check_server(server)
        if reason is None:
            return ProbeResult(True, "ok")
        self._log.error_s("validator.go:89", "etcd probe failed", server=server, err=reason)
        return ProbeResult(False, "", _ETCD_PROBE_ERROR)


def _metadata(pod: Mapping[str, object]) -> Mapping[str, object]:
    metadata = pod.get("metadata")
    return metadata if isinstance(metadata, Mapping) else {}


def _pod_list(pods: Sequence[Mapping[str, object]]) -> dict[str, object]:
    """Return a ``PodList`` (items keep no kind/apiVersion, as in Go)."""
    items = [{k: v for k, v in pod.items() if k not in ("kind", "apiVersion")} for pod in pods]
    return {
        "kind": "PodList",
        "apiVersion": "v1",
        "metadata": {"resourceVersion": "1"},
        "items": items,
    }
