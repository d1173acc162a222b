"""Compare manifests the way kubelet does (parsed, not bytes) and summarise flag changes.

Why parsed: kubelet hashes the parsed pod, so a byte change with the same meaning restarts
nothing; deployer must neither wait for a restart that cannot come nor report it as a change.
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Mapping, Sequence

from deployer.model.plan import FlagChange
from deployer.render import parse

__all__ = [
    "apiserver_command",
    "apiserver_image",
    "flag_changes",
    "flags_of",
    "load_pod",
    "same_pod",
    "unified_diff",
]


@functools.lru_cache(maxsize=64)
def load_pod(content: bytes) -> object:
    """Parse a manifest as kubelet would; None for text that is not one pod (a broken edit).

    Remembered for the last manifests parsed: planning one host asks for the live pod in
    several places (drift, notes, the decision), and YAML parsing is most of planning's own
    CPU. The result is shared, so callers only read it.
    """
    try:
        return parse.load_pod(content)
    except parse.ManifestError:
        return None


def apiserver_command(pod: object) -> tuple[str, ...] | None:
    """The ``kube-apiserver`` container's ``command`` + ``args``, or None if there is none."""
    if not isinstance(pod, Mapping):
        return None
    try:
        container = parse.apiserver_container(pod)
    except parse.ManifestError:
        return None
    command = [str(c) for c in container.get("command") or []]  # type: ignore[attr-defined]
    args = [str(a) for a in container.get("args") or []]  # type: ignore[attr-defined]
    return tuple(command + args)


def same_pod(a: bytes, b: bytes) -> bool:
    """True when kubelet would see the same pod (null fields count as absent, as in Go)."""
    return parse.semantic_equal(a, b)


def flags_of(command: Sequence[str]) -> dict[str, tuple[str, ...]]:
    """Map ``--name=value`` arguments to name -> values (a flag may repeat)."""
    return {name: tuple(values) for name, values in parse.parse_flags(command).items()}


def apiserver_image(pod: object) -> str | None:
    """The ``kube-apiserver`` container's image, or None if there is none."""
    if not isinstance(pod, Mapping):
        return None
    try:
        image = parse.apiserver_container(pod).get("image")
    except parse.ManifestError:
        return None
    return str(image) if image is not None else None


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
