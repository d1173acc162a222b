"""Import the companion files the live manifest's flags name into ``apiserver_files``.

Why: after ``deployer import`` the files the running apiserver reads (audit policy, encryption,
authentication ...) are managed with the manifest, so they must be in the inventory too. A
file is imported verbatim (its exact text, so the first plan finds it in sync), except where it
holds a secret: an encryption key, or a value under a credential's name (``token:``), is never
written to the inventory. It becomes a ``{secret_env: NAME}`` reference, the file is written as
a YAML mapping, and the operator is told which variable to export (in the vars file and on the
console). The file's host path comes from the flag's container path through the pod's own
hostPath mounts.
"""

from __future__ import annotations

import hashlib
import posixpath
import re
from collections.abc import Callable, Mapping
from pathlib import PurePosixPath
from typing import Any

import yaml

from deployer.companions.diff import render_document
from deployer.companions.document import Node
from deployer.companions.encryption import secret_key_paths
from deployer.companions.facts import flag_kinds
from deployer.companions.reload import apply_mode
from deployer.importer.extract import HostImport
from deployer.model.files import ApplyMode
from deployer.model.host import Secret
from deployer.model.manifest import sha256_hex
from deployer.render import parse
from deployer.render.check import covering_mount, mount_points
from deployer.render.context import COMPANIONS_ANNOTATION
from deployer.report.masking import is_secret_name

__all__ = ["annotation_check", "export_lines", "import_companions", "named_files", "read_named"]

_NOT_NAME = re.compile(r"[^A-Z0-9]+")


def named_files(pod: Mapping[str, Any], flags: Mapping[str, str]) -> list[tuple[str, str, str]]:
    """``(flag, kind, host path)`` of each companion file the pod's flags name, by flag name."""
    container = parse.apiserver_container(dict(pod))
    mounts = mount_points(pod, container)
    found = []
    for flag, kind in sorted(flag_kinds().items()):
        value = flags.get(flag, "")
        if not value.startswith("/"):
            continue
        mount = covering_mount(mounts, value)
        if mount is None or mount.host_path is None:
            continue  # outside every mount: the apiserver cannot read it either
        rest = posixpath.normpath(value)[len(mount.mount_path) :].lstrip("/")
        found.append((flag, kind, posixpath.join(mount.host_path, rest) if rest else value))
    return found


_STRUCTURAL = frozenset({"resources", "providers", "keys", "secret", "plugins", "configuration"})


def _env_name(
    document: object, parts: tuple[str | int, ...], taken: dict[str, str], value: str
) -> str:
    """``DEPLOYER_AESCBC_KEY1``: the provider and the key's name, unique per value."""
    words = [str(p) for p in parts if isinstance(p, str) and p not in _STRUCTURAL]
    holder = _lookup(document, parts[:-1])
    if isinstance(holder, Mapping) and isinstance(holder.get("name"), str):
        words.append(str(holder["name"]))
    base = "DEPLOYER_" + _NOT_NAME.sub("_", "_".join(words).upper()).strip("_")
    name, n = base, 1
    while name in taken and taken[name] != value:
        n += 1
        name = f"{base}_{n}"
    taken[name] = value
    return name


def _set(document: Any, parts: tuple[str | int, ...], value: object) -> None:
    target = document
    for part in parts[:-1]:
        target = target[part]
    target[parts[-1]] = value


def _credentials(value: object, parts: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    """Paths of values under a credential's name (``token``, ``password``), not paths."""
    found: list[tuple[str | int, ...]] = []
    if isinstance(value, Mapping):
        for key, item in value.items():
            here = (*parts, str(key))
            if isinstance(item, str) and is_secret_name(str(key)) and not item.startswith("/"):
                found.append(here)
            else:
                found += _credentials(item, here)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found += _credentials(item, (*parts, i))
    return found


def _secret_parts(kind: str, document: object) -> list[tuple[str | int, ...]]:
    parts = [p.parts for p in secret_key_paths(Node.of(document))]
    if kind != "EncryptionConfiguration":
        parts = []
    return parts + [p for p in _credentials(document) if p not in parts]


def _lookup(document: Any, parts: tuple[str | int, ...]) -> object:
    for part in parts:
        document = document[part]
    return document


def _sorted_keys(value: object) -> object:
    if isinstance(value, Mapping):
        return {k: _sorted_keys(value[k]) for k in sorted(value, key=str)}
    if isinstance(value, list):
        return [_sorted_keys(v) for v in value]
    return value


def _item(
    item: HostImport, flag: str, kind: str, path: str, raw: bytes
) -> dict[str, object] | None:
    try:
        text = raw.decode("utf-8")
        document = yaml.safe_load(text)
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        item.notes.append(f"--{flag} names {path}, which is not YAML text ({exc}): not imported")
        return None
    secrets = [p for p in _secret_parts(kind, document) if isinstance(_lookup(document, p), str)]
    if not secrets or not isinstance(document, dict):
        item.companions[path] = (kind, sha256_hex(raw))
        return {"path": path, "kind": kind, "content": text}
    revealed = yaml.safe_load(text)
    taken: dict[str, str] = {}
    for parts in secrets:
        value = str(_lookup(document, parts))
        name = _env_name(revealed, parts, taken, value)
        _set(document, parts, {"secret_env": name})
        _set(revealed, parts, Secret(value))
        where = ".".join(str(p) for p in parts)
        item.notes.append(
            f"{path}: {where} is a secret: not copied; export {name} (the value at {where} "
            f"in {path} on {item.host}) before plan or apply"
        )
    # The vars file is written with sorted keys (layout._dump), so that is the order read back.
    written = render_document(_sorted_keys(revealed), reveal=True, kind=kind)
    item.companions[path] = (kind, sha256_hex(written.encode("utf-8")))
    if written != text:
        item.notes.append(
            f"{path} holds secrets, so it is written from its YAML document: the first apply "
            "rewrites it with the same content in deployer's layout"
        )
    return {"path": path, "kind": kind, "content": document}


def import_companions(
    item: HostImport,
    pod: Mapping[str, Any],
    read: Callable[[PurePosixPath], bytes | None],
) -> None:
    """Add ``apiserver_files`` to ``item`` for the files its flags name, read with ``read``."""
    flags = item.vars.get("apiserver_flags") or {}
    files = []
    for flag, kind, path in named_files(pod, flags):
        raw = read(PurePosixPath(path))
        if raw is None:
            item.notes.append(f"--{flag} names {path}, which is absent on the host: not imported")
            continue
        entry = _item(item, flag, kind, path, raw)
        if entry is not None:
            files.append(entry)
    if files:
        item.vars["apiserver_files"] = sorted(files, key=lambda f: str(f["path"]))


def _refs(value: object) -> list[str]:
    if isinstance(value, Mapping):
        if set(value) == {"secret_env"}:
            return [str(value["secret_env"])]
        return [n for v in value.values() for n in _refs(v)]
    if isinstance(value, list):
        return [n for v in value for n in _refs(v)]
    return []


def export_lines(files: object) -> list[str]:
    """Comment lines naming the variables to export for ``apiserver_files`` (sorted, unique)."""
    names = sorted(set(_refs(files)))
    return [f"export {n}=...   # the key import did not copy (see the notes)" for n in names]


def read_named(
    read: Callable[[PurePosixPath], bytes | None], content: bytes
) -> dict[PurePosixPath, bytes | None]:
    """Read every companion file the live manifest ``content`` names (host paths as keys).

    A manifest that is not a kube-apiserver pod names nothing here (import refuses it later).
    """
    try:
        pod = parse.load_pod(content)
        argv = parse.manifest_argv(content)
    except (parse.ManifestError, ValueError):
        return {}
    flags: dict[str, str] = {}
    for arg in argv[1:]:
        name, sep, value = arg.removeprefix("--").partition("=")
        if sep:
            flags.setdefault(name.replace("_", "-"), value)
    return {PurePosixPath(p): read(PurePosixPath(p)) for _, _, p in named_files(pod, flags)}


def annotation_check(item: HostImport, pod: Mapping[str, Any]) -> None:
    """Say when the first apply restarts the host to add the companions' digest annotation.

    Run after :func:`~deployer.importer.extract.reproduce`: a live pod that deployer did not
    write has no ``deployer/companions-sha256``; with companion files managed it gets one (so
    that a later change of a file restarts the pod), which kubelet sees as a new pod, once.
    """
    minor = ".".join(str(item.vars.get("kubernetes_version", "")).split(".")[:2])
    flags = item.vars.get("apiserver_flags") or {}
    lines = sorted(
        f"{path}:{digest}\n"
        for path, (kind, digest) in item.companions.items()
        if apply_mode(kind, minor, flags)[0] is ApplyMode.RESTART
    )
    if not lines:
        return
    expected = hashlib.sha256("".join(lines).encode("utf-8")).hexdigest()
    annotations = (pod.get("metadata") or {}).get("annotations") or {}
    if annotations.get(COMPANIONS_ANNOTATION) != expected:
        item.not_reproduced.append(
            f"metadata.annotations[{COMPANIONS_ANNOTATION}] (the digest of the companion files "
            "read at startup, so that changing one restarts the pod)"
        )
