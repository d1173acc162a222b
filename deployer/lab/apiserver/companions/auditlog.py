"""Write audit events for the requests the stand-in serves, at the level its policy gives them.

Why: turning audit logging on is the first reason an operator rolls a companion file, and the
tool's lab test of it should end with audit lines on the node, not only a running pod. A simple
but honest subset of upstream:
- k8s.io/apiserver ``pkg/server/options/audit.go``: with ``--audit-log-path`` the file is
  created at startup (``ensureLogFile``: the folder, then the file with mode 0600) and a failure
  stops the binary (``ensureLogFile: %w``); ``-`` writes to standard output; without a policy
  no event is written;
- ``pkg/audit/policy/checker.go``: the first rule that matches the request (users, userGroups,
  verbs, namespaces, resources with ``*``, ``res/sub`` and ``resourceNames``, nonResourceURLs
  with a trailing ``*``) gives its level, the policy's omitStages joining each rule's; no match
  is level None (no event);
- ``pkg/apis/audit/v1/types.go`` ``Event``: one JSON line per stage (``RequestReceived`` and
  ``ResponseComplete``), fields in the struct's order, ``MicroTime`` timestamps.

Left out: request and response bodies (levels Request and RequestResponse write the same
fields as Metadata here), batching, rotation and the webhook backend.
"""

from __future__ import annotations

import datetime
import json
import os
import threading
import uuid
from collections.abc import Mapping
from typing import TextIO

from deployer.lab.apiserver.auth import Identity, Request
from deployer.lab.apiserver.companions.audit import AuditPolicy
from deployer.lab.apiserver.companions.record import RequestRecord

__all__ = ["AuditLog", "level_for", "open_log"]


def _strings(rule: Mapping[str, object], key: str) -> list[str]:
    value = rule.get(key)
    return [str(v) for v in value] if isinstance(value, list) else []


def _path_matches(path: str, spec: str) -> bool:
    return spec in ("*", path) or (spec.endswith("*") and path.startswith(spec.rstrip("*")))


def _resource_matches(rule: Mapping[str, object], request: Request) -> bool:
    if request.resource is None:
        return False
    namespaces = _strings(rule, "namespaces")
    if namespaces and (request.namespace or "") not in namespaces:
        return False
    groups = rule.get("resources")
    if not isinstance(groups, list) or not groups:
        return True
    for group in groups:
        if not isinstance(group, dict) or str(group.get("group") or "") != "":
            continue  # the lab serves the core group only
        resources = _strings(group, "resources")
        names = _strings(group, "resourceNames")
        if not resources:
            return True
        if names and (request.name or "") not in names:
            continue
        if request.resource in resources or "*" in resources:
            return True
        if any(r.endswith("/*") and r[:-2] == request.resource for r in resources):
            return True
    return False


def _scope_matches(rule: Mapping[str, object], request: Request) -> bool:
    """``ruleMatches`` after the user and verb checks: resources, else non-resource URLs."""
    if _strings(rule, "namespaces") or rule.get("resources"):
        return _resource_matches(rule, request)
    urls = _strings(rule, "nonResourceURLs")
    if urls:
        return request.resource is None and any(_path_matches(request.path, u) for u in urls)
    return True


def level_for(
    policy: AuditPolicy, request: Request, identity: Identity
) -> tuple[str, frozenset[str]]:
    """``EvaluatePolicyRule``: the level and omitted stages of the first matching rule."""
    for rule in policy.rules:
        users, groups = _strings(rule, "users"), _strings(rule, "userGroups")
        if users and identity.user not in users:
            continue
        if groups and not set(groups) & set(identity.groups):
            continue
        verbs = _strings(rule, "verbs")
        if verbs and request.verb not in verbs:
            continue
        if not _scope_matches(rule, request):
            continue
        omit = frozenset(policy.omit_stages) | frozenset(_strings(rule, "omitStages"))
        return str(rule.get("level")), omit
    return "None", frozenset(policy.omit_stages)


def _micro(stamp: datetime.datetime) -> str:
    return stamp.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class AuditLog:
    """The log backend: evaluates the policy and appends one JSON line per event.

    Args:
        policy: the loaded audit policy.
        stream: where lines go (the opened log file, or standard output for ``-``).
    """

    def __init__(self, policy: AuditPolicy, stream: TextIO) -> None:
        self._policy = policy
        self._stream = stream
        self._lock = threading.Lock()

    def record(self, record: RequestRecord) -> None:
        """Write the request's events, if its level is not None."""
        level, omit = level_for(self._policy, record.request, record.identity)
        if level == "None":
            return
        audit_id = str(uuid.uuid4())
        now = datetime.datetime.now(datetime.UTC)
        lines = []
        for stage in ("RequestReceived", "ResponseComplete"):
            if stage in omit:
                continue
            event: dict[str, object] = {
                "kind": "Event",
                "apiVersion": "audit.k8s.io/v1",
                "level": level,
                "auditID": audit_id,
                "stage": stage,
                "requestURI": record.uri,
                "verb": record.request.verb,
                "user": {"username": record.identity.user, "groups": list(record.identity.groups)},
                "sourceIPs": [record.source_ip],
                "userAgent": record.user_agent,
            }
            if record.request.resource is not None:
                ref: dict[str, str] = {"resource": record.request.resource}
                if record.request.namespace:
                    ref["namespace"] = record.request.namespace
                if record.request.name:
                    ref["name"] = record.request.name
                ref["apiVersion"] = "v1"
                event["objectRef"] = ref
            if stage == "ResponseComplete":
                event["responseStatus"] = {"metadata": {}, "code": record.status}
            event["requestReceivedTimestamp"] = _micro(record.received)
            event["stageTimestamp"] = _micro(record.received if stage == "RequestReceived" else now)
            lines.append(json.dumps(event, separators=(",", ":")) + "\n")
        with self._lock:
            self._stream.writelines(lines)
            self._stream.flush()


def open_log(
    host_path: str | None, container_path: str, read_only: bool
) -> tuple[TextIO | None, str | None]:
    """``ensureLogFile`` through the mounts: ``(stream, None)`` or ``(None, error)``.

    Args:
        host_path: where the container path lands on the node; ``None`` when no mount covers it
            (the container's own filesystem: the file is written there and lost, so the lab
            discards the lines).
        container_path: ``--audit-log-path``.
        read_only: the covering mount is read-only.
    """
    if host_path is None:
        return open(os.devnull, "a", encoding="utf-8"), None
    if read_only:
        return None, f"ensureLogFile: open {container_path}: read-only file system"
    try:
        os.makedirs(os.path.dirname(host_path), mode=0o700, exist_ok=True)
        fd = os.open(host_path, os.O_CREAT | os.O_APPEND | os.O_RDWR, 0o600)
    except OSError as exc:
        return None, f"ensureLogFile: open {container_path}: {(exc.strerror or str(exc)).lower()}"
    return os.fdopen(fd, "a", encoding="utf-8"), None
