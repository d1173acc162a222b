"""Compare manifests the way kubelet does (parsed, not bytes) and summarise flag changes.

Why parsed: kubelet hashes the parsed pod, so a byte change with the same meaning restarts
nothing; deployer must neither wait for a restart that cannot come nor report it as a change.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence

import yaml

from deployer.model.plan import FlagChange

_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

__all__ = [
    "apiserver_command",
    "flag_changes",
    "flags_of",
    "load_pod",
    "unified_diff",
]


def load_pod(content: bytes) -> object:
    """Parse a manifest; None for text that is not YAML (an operator's broken edit)."""
    try:
        # CSafeLoader is the safe loader's C build: same guarantees, about ten times faster.
        return yaml.load(content, Loader=_SAFE_LOADER)  # noqa: S506
    except yaml.YAMLError:
        return None


def apiserver_command(pod: object) -> tuple[str, ...] | None:
    """The ``kube-apiserver`` container's ``command`` + ``args``, or None if there is none."""
    if not isinstance(pod, Mapping):
        return None
    spec = pod.get("spec")
    containers = spec.get("containers") if isinstance(spec, Mapping) else None
    for container in containers or []:
        if isinstance(container, Mapping) and container.get("name") == "kube-apiserver":
            command = [str(c) for c in container.get("command") or []]
            args = [str(a) for a in container.get("args") or []]
            return tuple(command + args)
    return None


def flags_of(command: Sequence[str]) -> dict[str, tuple[str, ...]]:
    """Map ``--name=value`` arguments to name -> values (a flag may repeat)."""
    flags: dict[str, list[str]] = {}
    for arg in command[1:]:
        if not arg.startswith("--"):
            continue
        name, _, value = arg[2:].partition("=")
        flags.setdefault(name.replace("_", "-"), []).append(value)
    return {k: tuple(v) for k, v in flags.items()}


def flag_changes(old: Sequence[str] | None, new: Sequence[str] | None) -> tuple[FlagChange, ...]:
    """Flag-level differences between two command lines, sorted by flag name."""
    before = flags_of(old or ())
    after = flags_of(new or ())
    changes: list[FlagChange] = []
    for name in sorted(set(before) | set(after)):
        a = ",".join(before[name]) if name in before else None
        b = ",".join(after[name]) if name in after else None
        if a != b:
            changes.append(FlagChange(flag=name, old=a, new=b))
    return tuple(changes)


def unified_diff(old: bytes | None, new: bytes, *, path: str) -> str:
    """A unified diff of two manifests (old absent = ``/dev/null``)."""
    a = (old or b"").decode("utf-8", "replace").splitlines(keepends=True)
    b = new.decode("utf-8", "replace").splitlines(keepends=True)
    return "".join(
        difflib.unified_diff(
            a, b, fromfile=path if old is not None else "/dev/null", tofile=path, n=2
        )
    )
