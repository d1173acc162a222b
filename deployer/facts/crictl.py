"""Parse crictl's JSON (``ps -o json``, ``inspect``) into the few facts deployer needs.

Why tolerant parsing: field order and whitespace differ between crictl versions, and
timestamps are nanosecond strings in ``ps`` but RFC 3339 in ``inspect``; only names are stable.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from deployer.model.observation import ContainerInfo

__all__ = [
    "ContainerInfo",
    "ParseError",
    "parse_inspect_args",
    "parse_inspect_by_id",
    "parse_ps",
    "running_container",
]


class ParseError(ValueError):
    """The output is not what crictl prints; the message says what was expected."""


def _as_int(value: object, default: int = 0) -> int:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return default


def parse_ps(text: str) -> tuple[ContainerInfo, ...]:
    """Parse ``crictl ps -a -o json``; newest first, as crictl sorts.

    Raises:
        ParseError: not crictl's ``{"containers": [...]}`` document.
    """
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ParseError(f"crictl ps printed no JSON: {text.strip()[:200]!r}") from exc
    if not isinstance(doc, Mapping) or not isinstance(doc.get("containers", []), list):
        raise ParseError("crictl ps JSON has no 'containers' list")
    result: list[ContainerInfo] = []
    for item in doc.get("containers") or []:
        if not isinstance(item, Mapping):
            continue
        metadata = item.get("metadata") or {}
        labels = item.get("labels") or {}
        annotations = item.get("annotations") or {}
        result.append(
            ContainerInfo(
                id=str(item.get("id", "")),
                name=str(metadata.get("name", "")),
                state=str(item.get("state", "")),
                created_at_ns=_as_int(item.get("createdAt")),
                pod_name=str(labels.get("io.kubernetes.pod.name", "")),
                pod_uid=str(labels.get("io.kubernetes.pod.uid", "")),
                attempt=_as_int(metadata.get("attempt")),
                restart_count=_as_int(annotations.get("io.kubernetes.container.restartCount")),
            )
        )
    result.sort(key=lambda c: c.created_at_ns, reverse=True)
    return tuple(result)


def running_container(
    containers: Sequence[ContainerInfo], *, name: str = "kube-apiserver"
) -> ContainerInfo | None:
    """Return the newest running container called ``name``, or None."""
    for container in containers:
        if container.name == name and container.is_running:
            return container
    return None


def _load_json(text: str, what: str) -> object:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ParseError(f"crictl {what} printed no JSON: {text.strip()[:200]!r}") from exc


def _command_line(doc: object) -> tuple[str, ...]:
    info = doc.get("info") if isinstance(doc, Mapping) else None
    if not isinstance(info, Mapping):
        raise ParseError("crictl inspect JSON has no 'info' object")
    config = info.get("config")
    if isinstance(config, Mapping) and (config.get("command") or config.get("args")):
        return tuple(str(a) for a in (config.get("command") or [])) + tuple(
            str(a) for a in (config.get("args") or [])
        )
    spec = info.get("runtimeSpec")
    process = spec.get("process") if isinstance(spec, Mapping) else None
    args = process.get("args") if isinstance(process, Mapping) else None
    if isinstance(args, list) and args:
        return tuple(str(a) for a in args)
    raise ParseError("crictl inspect JSON has no command line (info.config / runtimeSpec)")


def parse_inspect_args(text: str) -> tuple[str, ...]:
    """Return the command line kubelet asked for (``info.config.command`` + ``args``).

    Falls back to ``info.runtimeSpec.process.args`` (what was exec'd) when ``config`` is
    absent.

    Raises:
        ParseError: not an ``inspect`` document, or no command line in it.
    """
    return _command_line(_load_json(text, "inspect"))


def parse_inspect_by_id(text: str) -> dict[str, tuple[str, ...]]:
    """Map container id to command line for what ``crictl inspect`` printed.

    One container prints one object, several print an array (crictl 1.31); the id is
    ``status.id``.

    Raises:
        ParseError: not ``inspect`` documents, or one without a command line.
    """
    doc = _load_json(text, "inspect")
    result: dict[str, tuple[str, ...]] = {}
    for item in doc if isinstance(doc, list) else [doc]:
        status = item.get("status") if isinstance(item, Mapping) else None
        cid = status.get("id") if isinstance(status, Mapping) else None
        result[str(cid or "")] = _command_line(item)
    return result
