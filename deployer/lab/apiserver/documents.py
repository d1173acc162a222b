"""The JSON documents kube-apiserver answers: Status, version, discovery, componentstatuses.

Why exact shapes: a real ``kubectl`` parses discovery and lists, and the tool compares
``/version``'s ``gitVersion`` with the image tag. Field order follows the Go structs, bodies are
compact with the trailing newline of Go's ``json.Encoder`` (``/version`` alone is indented, as
``WriteRawJSON`` writes it), and ``<``, ``>``, ``&`` are escaped as Go does.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence

from deployer.lab.apiserver.probes import ProbeResult
from deployer.versions import version_table

__all__ = [
    "COMPONENT_STATUS_WARNING",
    "api_group_list",
    "api_resource_list",
    "api_versions",
    "component_status",
    "component_status_list",
    "encode",
    "status",
    "version_info",
]

#: The ``Warning`` header kube-apiserver adds to every componentstatuses answer since 1.19.
COMPONENT_STATUS_WARNING = '299 - "v1 ComponentStatus is deprecated in v1.19+"'


def encode(document: object) -> bytes:
    """Serialize like the apiserver's JSON serializer (compact, Go escaping, final newline)."""
    text = json.dumps(document, separators=(",", ":"), ensure_ascii=False)
    return (_go_escape(text) + "\n").encode()


def status(
    code: int, message: str, reason: str = "", details: dict[str, str] | None = None
) -> dict[str, object]:
    """Return a ``metav1.Status`` failure (401, 403, 404, 500 bodies)."""
    body: dict[str, object] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
    }
    if reason:
        body["reason"] = reason
    if details is not None:
        body["details"] = details
    body["code"] = code
    return body


def version_info(version: str) -> bytes:
    """Return ``/version`` for ``version`` (``1.31.13``), indented as the real handler writes it.

    The Go version and whether the emulation fields appear (1.34+) come from the versions
    table; a minor newer than the table reports like the newest row.

    ``gitCommit`` and ``buildDate`` are stable stand-ins derived from the version: the lab
    cannot know the release's own values, and the tool only reads ``gitVersion``.
    """
    major, minor, _patch = (version.split(".") + ["0", "0"])[:3]
    digest = hashlib.sha256(f"kubernetes v{version}".encode()).hexdigest()[:40]
    table = version_table()
    row = table.get(f"{major}.{minor}") or table.newest
    document: dict[str, str] = {"major": major, "minor": minor}
    if row.version_info_emulation:
        # The binary's own minor emulated, the previous one as min compatibility (defaults).
        previous = str(int(minor) - 1) if minor.isdigit() else minor
        document |= {
            "emulationMajor": major,
            "emulationMinor": minor,
            "minCompatibilityMajor": major,
            "minCompatibilityMinor": previous,
        }
    document |= {
        "gitVersion": f"v{version}",
        "gitCommit": digest,
        "gitTreeState": "clean",
        "buildDate": "2025-09-09T19:35:49Z",
        "goVersion": row.go_version,
        "compiler": "gc",
        "platform": "linux/amd64",
    }
    return _go_escape(json.dumps(document, indent=2, ensure_ascii=False)).encode()


def api_versions(server_address: str) -> dict[str, object]:
    """Return ``/api`` (``APIVersions``): the legacy group's one version."""
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [
            {"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}
        ],
    }


def api_group_list() -> dict[str, object]:
    """Return ``/apis`` (``APIGroupList``). The lab serves no named group."""
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": []}


def api_resource_list() -> dict[str, object]:
    """Return ``/api/v1`` (``APIResourceList``): mirror pods, configmaps, componentstatuses."""
    return {
        "kind": "APIResourceList",
        "groupVersion": "v1",
        "resources": [
            {
                "name": "pods",
                "singularName": "pod",
                "namespaced": True,
                "kind": "Pod",
                "verbs": ["get", "list"],
                "shortNames": ["po"],
                "categories": ["all"],
            },
            {
                "name": "configmaps",
                "singularName": "configmap",
                "namespaced": True,
                "kind": "ConfigMap",
                "verbs": ["get", "list", "update"],
                "shortNames": ["cm"],
            },
            {
                "name": "componentstatuses",
                "singularName": "componentstatus",
                "namespaced": False,
                "kind": "ComponentStatus",
                "verbs": ["get", "list"],
                "shortNames": ["cs"],
            },
        ],
    }


def component_status(
    name: str, result: ProbeResult, *, with_type: bool = True
) -> dict[str, object]:
    """Return one ``ComponentStatus`` (the ``getComponentStatus`` shape: one Healthy condition)."""
    condition: dict[str, object] = {"type": "Healthy", "status": "True" if result.ok else "False"}
    if result.message:
        condition["message"] = result.message
    if result.error:
        condition["error"] = result.error
    document: dict[str, object] = {}
    if with_type:
        document = {"kind": "ComponentStatus", "apiVersion": "v1"}
    document["metadata"] = {"name": name, "creationTimestamp": None}
    document["conditions"] = [condition]
    return document


def component_status_list(results: Sequence[tuple[str, ProbeResult]]) -> dict[str, object]:
    """Return ``ComponentStatusList``; list items carry no kind/apiVersion, as in Go."""
    return {
        "kind": "ComponentStatusList",
        "apiVersion": "v1",
        "metadata": {},
        "items": [component_status(name, result, with_type=False) for name, result in results],
    }


def _go_escape(text: str) -> str:
    """Apply Go's HTML-safe escaping of ``<``, ``>`` and ``&`` in JSON strings."""
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
