"""Compare manifests the way kubelet does (decoded and defaulted) and summarise the changes.

Why defaulted: kubelet hashes the pod after the API's defaults (deployer.podspec), so a byte
change with the same meaning (``dnsPolicy: ClusterFirst`` written out, quoting, comments)
restarts nothing; deployer must neither wait for a restart that cannot come nor call it a
change. Why the argument-level flag summary: ``--x`` and ``--x=true``, or the same flags in
another order, are the same configuration but another pod, so kubelet restarts.
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Mapping, Sequence

from deployer import podspec
from deployer.model.plan import FlagChange
from deployer.render import parse

__all__ = [
    "apiserver_command",
    "apiserver_image",
    "flag_changes",
    "cosmetic_paths",
    "flags_of",
    "image_change",
    "load_pod",
    "pod_paths",
    "same_pod",
    "unified_diff",
]


@functools.lru_cache(maxsize=1024)
def load_pod(content: bytes) -> object:
    """Parse a manifest as kubelet would; None for text that is not one pod (a broken edit).

    Remembered for the last manifests parsed: planning one host asks for the live pod in
    several places (drift, notes, the decision, the skew check after every host is planned),
    and YAML parsing is most of planning's own CPU. Enough entries for every host of a large
    run (a pod is about 20 kB of objects). The result is shared, so callers only read it.
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
    """True when kubelet would hash both manifests to the same pod (so restart nothing).

    Manifests that do not parse as one pod are the same only when byte-identical.
    """
    if a == b:
        return True
    pod_a, pod_b = load_pod(a), load_pod(b)
    if not isinstance(pod_a, Mapping) or not isinstance(pod_b, Mapping):
        return False
    return podspec.same_pod(pod_a, pod_b)


def _is_summarised(path: str) -> bool:
    # The apiserver container's command line and image have their own summary lines.
    prefix = f"spec.containers[{parse.APISERVER_CONTAINER}]."
    return path.startswith(prefix) and path[len(prefix) :] in ("command", "args", "image")


def pod_paths(live: object, desired: object) -> tuple[str, ...]:
    """Field paths where the two defaulted pods differ, besides the flags and the image."""
    if not isinstance(live, Mapping) or not isinstance(desired, Mapping):
        return ()
    paths = podspec.differences(podspec.default_pod(live), podspec.default_pod(desired))
    return tuple(p for p in paths if not _is_summarised(p))


def cosmetic_paths(live: object, desired: object) -> tuple[str, ...]:
    """For two manifests of the same defaulted pod: the fields written differently.

    Empty when only the formatting differs (quoting, key order, comments, nulls).
    """
    if not isinstance(live, Mapping) or not isinstance(desired, Mapping):
        return ()
    return tuple(podspec.differences(parse.normalize_pod(live), parse.normalize_pod(desired)))


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


def _written(argv: Sequence[str]) -> dict[str, list[str]]:
    """Flag name -> the arguments as written (``--x``, ``--x=true``, ``--x_y=1``)."""
    out: dict[str, list[str]] = {}
    for arg in argv:
        if arg.startswith("--") and len(arg) > 2:
            out.setdefault(arg[2:].partition("=")[0].replace("_", "-"), []).append(arg)
    return out


def _order(argv: Sequence[str]) -> list[str]:
    seen: dict[str, None] = {}
    for arg in argv:
        if arg.startswith("--") and len(arg) > 2:
            seen.setdefault(arg[2:].partition("=")[0].replace("_", "-"), None)
    return list(seen)


def _kept_in_order(a: list[str], b: list[str]) -> set[str]:
    """Names of a longest common subsequence of ``a`` and ``b`` (the flags that did not move)."""
    lengths = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(len(a) - 1, -1, -1):
        for j in range(len(b) - 1, -1, -1):
            lengths[i][j] = (
                lengths[i + 1][j + 1] + 1
                if a[i] == b[j]
                else max(lengths[i + 1][j], lengths[i][j + 1])
            )
    kept: set[str] = set()
    i = j = 0
    while i < len(a) and j < len(b):
        if a[i] == b[j]:
            kept.add(a[i])
            i, j = i + 1, j + 1
        elif lengths[i + 1][j] >= lengths[i][j + 1]:
            i += 1
        else:
            j += 1
    return kept


def flag_changes(old: Sequence[str] | None, new: Sequence[str] | None) -> tuple[FlagChange, ...]:
    """Flag-level differences between two command lines.

    Value changes first (sorted by flag name), then flags with the same value written another
    way (``--x`` vs ``--x=true``, ``_`` vs ``-``), then flags that moved to another position:
    each of those is another command line for kubelet, so another pod.
    """
    old, new = old or (), new or ()
    before, after = flags_of(old), flags_of(new)
    changes: list[FlagChange] = []
    for name in sorted(set(before) | set(after)):
        a = ",".join(before[name]) if name in before else None
        b = ",".join(after[name]) if name in after else None
        if a != b:
            changes.append(FlagChange(flag=name, old=a, new=b))
    written_old, written_new = _written(old), _written(new)
    same = sorted(n for n in set(before) & set(after) if before[n] == after[n])
    for name in same:
        if written_old[name] != written_new[name]:
            changes.append(
                FlagChange(
                    name,
                    ",".join(before[name]),
                    ",".join(after[name]),
                    detail=f"{' '.join(written_old[name])} -> {' '.join(written_new[name])} "
                    "(same value, another argument)",
                )
            )
    order_old = [n for n in _order(old) if n in same]
    order_new = [n for n in _order(new) if n in same]
    if order_old != order_new:
        kept = _kept_in_order(order_old, order_new)
        for name in order_new:
            if name not in kept:
                changes.append(
                    FlagChange(
                        name,
                        ",".join(before[name]),
                        ",".join(after[name]),
                        detail=f"moved (argument {order_old.index(name) + 1} of the same "
                        f"flags -> {order_new.index(name) + 1}; same value)",
                    )
                )
    return tuple(changes)


def _split_image(image: str) -> tuple[str, str]:
    name = image.partition("@")[0]
    head, _, last = name.rpartition("/")
    repo, _, tag = last.partition(":")
    return (f"{head}/{repo}" if head else repo), tag


def _version(tag: str) -> tuple[int, ...] | None:
    text = tag[1:] if tag.startswith("v") else tag
    parts = text.split("-", 1)[0].split(".")
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        return None
    return tuple(int(p) for p in parts)


def image_change(old: str | None, new: str | None) -> str | None:
    """Name an image change: ``image v1.33.0 -> v1.33.5: a patch upgrade``; None if none."""
    if old == new:
        return None
    if old is None or new is None:
        return f"image {old or '(none)'} -> {new or '(none)'}"
    (repo_a, tag_a), (repo_b, tag_b) = _split_image(old), _split_image(new)
    va, vb = _version(tag_a), _version(tag_b)
    if repo_a != repo_b or va is None or vb is None:
        same = " (same version)" if va is not None and va == vb else ""
        return f"image {old} -> {new}: another image{same}"
    if va == vb:
        return f"image {old} -> {new}: same version, another reference"
    level = "major" if va[0] != vb[0] else "minor" if va[1] != vb[1] else "patch"
    direction = "upgrade" if vb > va else "downgrade"
    return f"image {tag_a} -> {tag_b}: a {level} {direction}"


def unified_diff(old: bytes | None, new: bytes, *, path: str) -> str:
    """A unified diff of two manifests (old absent = ``/dev/null``)."""
    a = (old or b"").decode("utf-8", "replace").splitlines(keepends=True)
    b = new.decode("utf-8", "replace").splitlines(keepends=True)
    return "".join(
        difflib.unified_diff(
            a, b, fromfile=path if old is not None else "/dev/null", tofile=path, n=2
        )
    )
