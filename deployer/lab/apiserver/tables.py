"""Server-side printing: the ``meta.k8s.io/v1`` ``Table`` a real ``kubectl get`` asks for.

Why: ``kubectl get componentstatuses`` and ``kubectl get pods`` send ``Accept:
application/json;as=Table;v=v1;g=meta.k8s.io,...`` and print the server's columns; given a plain
list they would print only NAME and AGE. Columns and cells follow kube-apiserver's printers
(``pkg/printers/internalversion/printers.go``: ``printComponentStatus``, ``printPod``).
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence

__all__ = ["component_status_table", "pod_table", "wants_table"]

_NAME_DOC = (
    "Name must be unique within a namespace. Is required when creating resources, although some"
    " resources may allow a client to request the generation of an appropriate name"
    " automatically. Name is primarily intended for creation idempotence and configuration"
    " definition. Cannot be updated. More info:"
    " https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names"
)


def wants_table(accept: str) -> bool:
    """Return whether the client asked for a ``meta.k8s.io/v1`` Table first."""
    first = accept.split(",")[0]
    return "as=Table" in first and "g=meta.k8s.io" in first


def component_status_table(items: Sequence[Mapping[str, object]]) -> dict[str, object]:
    """Return the Table of ``ComponentStatus`` objects: NAME STATUS MESSAGE ERROR."""
    columns = [
        _column("Name", "name", _NAME_DOC),
        _column("Status", "", "Status of the component conditions"),
        _column("Message", "", "Message of the component conditions"),
        _column("Error", "", "Error of the component conditions"),
    ]
    rows = []
    for item in items:
        status, message, error = "Unknown", "", ""
        for condition in _list(item.get("conditions")):
            if condition.get("type") == "Healthy":
                status = "Healthy" if condition.get("status") == "True" else "Unhealthy"
                message = str(condition.get("message", ""))
                error = str(condition.get("error", ""))
                break
        metadata = _mapping(item.get("metadata"))
        rows.append(_row([metadata.get("name"), status, message, error], metadata))
    return _table(columns, rows)


def pod_table(pods: Sequence[Mapping[str, object]], now: datetime.datetime) -> dict[str, object]:
    """Return the Table of pods: NAME READY STATUS RESTARTS AGE, and the wide columns."""
    columns = [
        _column("Name", "name", _NAME_DOC),
        _column("Ready", "", "The aggregate readiness state of this pod for accepting traffic."),
        _column("Status", "", "The aggregate status of the containers in this pod."),
        _column("Restarts", "", "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted."),  # noqa: E501 - the real text
        _column("Age", "", "CreationTimestamp is a timestamp representing the server time when this object was created."),  # noqa: E501 - the real text
        _column("IP", "", "IP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.", priority=1),  # noqa: E501 - the real text
        _column("Node", "", "NodeName is a request to schedule this pod onto a specific node.", priority=1),  # noqa: E501 - the real text
        _column("Nominated Node", "", "nominatedNodeName is set only when this pod preempts other pods on the node.", priority=1),  # noqa: E501 - the real text
        _column("Readiness Gates", "", "If specified, all readiness gates will be evaluated for pod readiness.", priority=1),  # noqa: E501 - the real text
    ]  # fmt: skip
    rows = []
    for pod in pods:
        metadata = _mapping(pod.get("metadata"))
        status = _mapping(pod.get("status"))
        statuses = _list(status.get("containerStatuses"))
        ready = sum(1 for s in statuses if s.get("ready") is True)
        restarts = sum(int(str(s.get("restartCount", 0))) for s in statuses)
        created = str(metadata.get("creationTimestamp", ""))
        cells = [
            metadata.get("name"),
            f"{ready}/{len(statuses)}",
            status.get("phase", "Unknown"),
            str(restarts),
            _age(created, now),
            status.get("podIP", "<none>"),
            _mapping(pod.get("spec")).get("nodeName", "<none>"),
            "<none>",
            "<none>",
        ]
        rows.append(_row(cells, metadata))
    return _table(columns, rows)


def _column(name: str, fmt: str, description: str, *, priority: int = 0) -> dict[str, object]:
    return {
        "name": name,
        "type": "string",
        "format": fmt,
        "description": description,
        "priority": priority,
    }


def _row(cells: list[object], metadata: Mapping[str, object]) -> dict[str, object]:
    return {
        "cells": cells,
        "object": {
            "kind": "PartialObjectMetadata",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": dict(metadata),
        },
    }


def _table(columns: list[dict[str, object]], rows: list[dict[str, object]]) -> dict[str, object]:
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": ""},
        "columnDefinitions": columns,
        "rows": rows,
    }


def _age(created: str, now: datetime.datetime) -> str:
    """Format an age as ``duration.HumanDuration`` does (``45s``, ``5m30s``, ``12m``, ``3h``)."""
    try:
        then = datetime.datetime.strptime(created, "%Y-%m-%dT%H:%M:%SZ").replace(
            tzinfo=datetime.UTC
        )
    except ValueError:
        return "<unknown>"
    seconds = max(0, int((now - then).total_seconds()))
    if seconds < 120:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 10:
        rest = seconds % 60
        return f"{minutes}m{rest}s" if rest else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 48:
        return f"{hours}h"
    return f"{hours // 24}d"


def _mapping(value: object) -> Mapping[str, object]:
    return value if isinstance(value, Mapping) else {}


def _list(value: object) -> list[Mapping[str, object]]:
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []
