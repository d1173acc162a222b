"""Read static pod manifests back: the pod object, the apiserver's command line, equality.

Why parsed comparisons: kubelet hashes the *decoded* pod, not the file's bytes, so a change of
quoting, key order or comments restarts nothing. The planner must know that, or it waits for a
restart that cannot come (DESIGN.md safety rule 4).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import yaml

from deployer.errors import DeployerError

__all__ = [
    "APISERVER_CONTAINER",
    "ManifestError",
    "apiserver_container",
    "load_pod",
    "manifest_argv",
    "normalize_pod",
    "parse_flags",
    "parse_manifest_command",
    "semantic_equal",
]

APISERVER_CONTAINER = "kube-apiserver"

# libyaml's parser when PyYAML was built with it (about twice as fast), else the pure one.
_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class ManifestError(DeployerError):
    """A manifest is not a single, well-formed kube-apiserver static pod.

    Raised for manifests read from a host (or rendered by a custom template); the caller
    decides what it means (a plan treats an unreadable live manifest as one to replace).
    """

    # TODO(#render-2): move to deployer/errors.py with the rest of the hierarchy.


def load_pod(content: bytes | str) -> dict[str, object]:
    """Parse a manifest into the pod mapping, as kubelet's file source would see it.

    Raises:
        ManifestError: not YAML, not exactly one document, or not a mapping.
    """
    try:
        docs = [d for d in yaml.load_all(content, Loader=_Loader) if d is not None]
    except (yaml.YAMLError, ValueError) as exc:  # ValueError: PyYAML's chr() of a bad \U escape
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ManifestError(f"manifest is not valid YAML{where}: {problem}") from exc
    if len(docs) != 1:
        raise ManifestError(
            f"manifest holds {len(docs)} YAML documents; kubelet reads exactly one pod per file"
        )
    pod = docs[0]
    if not isinstance(pod, dict):
        raise ManifestError(f"manifest is a {type(pod).__name__}, not a mapping (a Pod object)")
    return pod


def apiserver_container(pod: Mapping[str, object]) -> dict[str, object]:
    """Return the ``kube-apiserver`` container of ``pod``.

    Raises:
        ManifestError: ``spec.containers`` is missing or has no ``kube-apiserver`` container.
    """
    spec = pod.get("spec")
    containers = spec.get("containers") if isinstance(spec, dict) else None
    if not isinstance(containers, list):
        raise ManifestError("manifest has no spec.containers list")
    for container in containers:
        if isinstance(container, dict) and container.get("name") == APISERVER_CONTAINER:
            return container
    raise ManifestError(f"manifest has no container named {APISERVER_CONTAINER!r}")


def _strings(value: object, what: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ManifestError(f"container {what} is not a list of strings")
    return list(value)


def parse_manifest_command(content: bytes | str) -> tuple[list[str], list[str]]:
    """Return the kube-apiserver container's ``(command, args)`` from a manifest.

    kubeadm puts everything in ``command``; ``args`` is usually empty. The process's argv is
    ``command + args`` (see :func:`manifest_argv`).

    Raises:
        ManifestError: the manifest is not a pod with a ``kube-apiserver`` container, or its
            command or args are not lists of strings.
    """
    container = apiserver_container(load_pod(content))
    return _strings(container.get("command"), "command"), _strings(container.get("args"), "args")


def manifest_argv(content: bytes | str) -> list[str]:
    """Return the argv kube-apiserver runs with: the container's command then its args.

    Raises:
        ManifestError: see :func:`parse_manifest_command`.
    """
    command, args = parse_manifest_command(content)
    return command + args


def parse_flags(argv: Sequence[str]) -> dict[str, list[str]]:
    """Group ``--name=value`` arguments by normalized flag name (``_`` read as ``-``).

    Arguments in another form (the program name, ``--flag value`` pairs, positional words) are
    left out; each occurrence is kept, so a repeated flag has several values. A bare ``--name``
    counts as ``true`` (how pflag reads a boolean flag).

    >>> parse_flags(["kube-apiserver", "--secure-port=6443", "--etcd_servers=a,b"])
    {'secure-port': ['6443'], 'etcd-servers': ['a,b']}
    """
    flags: dict[str, list[str]] = {}
    for arg in argv:
        if not arg.startswith("--") or len(arg) == 2:
            continue
        name, sep, value = arg[2:].partition("=")
        flags.setdefault(name.replace("_", "-"), []).append(value if sep else "true")
    return flags


def _drop_nulls(value: object) -> object:
    if isinstance(value, dict):
        return {k: _drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_nulls(v) for v in value]
    return value


def normalize_pod(pod: Mapping[str, object]) -> dict[str, object]:
    """Return ``pod`` as kubelet's decoder sees it, for comparisons.

    Only rules that hold exactly for Go's decoding are applied: a ``null`` field decodes to the
    same zero value as an absent one (kubeadm writes ``creationTimestamp: null``), and an empty
    or null ``status`` is the zero ``PodStatus``. Anything else (defaults kubelet would fill in,
    list order, ``"6443"`` vs ``6443``) is a real difference.
    """
    normalized = {k: _drop_nulls(v) for k, v in pod.items() if v is not None}
    if normalized.get("status") == {}:
        del normalized["status"]
    return normalized


def semantic_equal(
    a: bytes | str,
    b: bytes | str,
    *,
    load: Callable[[bytes | str], dict[str, object]] = load_pod,
) -> bool:
    """Return True when two manifests decode to the same pod (so kubelet restarts nothing).

    Byte-identical manifests are equal without parsing. If either does not parse as a single
    pod, only byte equality counts. Pass ``load=PodLoader().load`` (one loader per run) to
    compare many hosts' manifests faster.
    """
    if a == b:
        return True
    try:
        return normalize_pod(load(a)) == normalize_pod(load(b))
    except ManifestError:
        return False
