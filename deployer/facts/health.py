"""Parse the apiserver's health, version and componentstatuses answers.

Why parse ``?verbose``: a failing ``/readyz`` names the failing checks (``[-]etcd failed``),
and an operator reading a rollback report needs those names, not just "500".
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = [
    "ComponentHealth",
    "HealthReport",
    "parse_componentstatuses",
    "parse_health",
    "parse_version",
]


@dataclass(frozen=True, slots=True)
class HealthReport:
    """A ``/livez``, ``/readyz`` or ``/healthz`` answer."""

    status: int
    passed: tuple[str, ...]
    failed: tuple[str, ...]
    text: str

    @property
    def ok(self) -> bool:
        """200 and no failed check."""
        return self.status == 200 and not self.failed


def parse_health(status: int, body: bytes) -> HealthReport:
    """Parse a verbose health answer (``[+]name ok`` / ``[-]name failed: reason``)."""
    text = body.decode("utf-8", "replace")
    passed: list[str] = []
    failed: list[str] = []
    for line in text.splitlines():
        if line.startswith("[+]"):
            passed.append(line[3:].split(" ", 1)[0])
        elif line.startswith("[-]"):
            failed.append(line[3:].strip())
    return HealthReport(status=status, passed=tuple(passed), failed=tuple(failed), text=text)


def parse_version(body: bytes) -> str | None:
    """Return ``gitVersion`` from ``/version`` (``v1.31.13``), or None if not that document."""
    try:
        doc = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    if isinstance(doc, Mapping) and isinstance(doc.get("gitVersion"), str):
        return str(doc["gitVersion"])
    return None


@dataclass(frozen=True, slots=True)
class ComponentHealth:
    """One ``ComponentStatus`` (etcd-0, scheduler, controller-manager)."""

    name: str
    healthy: bool
    message: str


def parse_componentstatuses(body: bytes) -> tuple[ComponentHealth, ...] | None:
    """Parse a ``ComponentStatusList``; None when the body is not one."""
    try:
        doc = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    if not isinstance(doc, Mapping) or doc.get("kind") != "ComponentStatusList":
        return None
    result: list[ComponentHealth] = []
    for item in doc.get("items") or []:
        if not isinstance(item, Mapping):
            continue
        name = str((item.get("metadata") or {}).get("name", "?"))
        healthy = False
        message = ""
        for cond in item.get("conditions") or []:
            if isinstance(cond, Mapping) and cond.get("type") == "Healthy":
                healthy = cond.get("status") == "True"
                message = str(cond.get("message") or cond.get("error") or "")
        result.append(ComponentHealth(name=name, healthy=healthy, message=message))
    return tuple(result)
