"""Read one ``apiserver_files`` item of the inventory into a checked declaration.

Why apart from the rendering: the item's shape (an absolute path outside the manifests folder,
exactly one of ``content`` and ``template``, an octal mode, an ``owner`` of the form
``user[:group]``, a known ``kind``) is checked the same way whatever produces the bytes, and
every problem names the inventory file and line the item came from.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath

from deployer.companions.facts import KINDS
from deployer.desired import DesiredState
from deployer.errors import InputProblem
from deployer.model.host import VarOrigin

__all__ = ["VAR", "Declared", "ItemProblems", "read_items"]

#: The inventory variable.
VAR = "apiserver_files"

_KEYS = frozenset({"path", "content", "template", "mode", "owner", "kind", "state"})
_OWNER = re.compile(r"^[A-Za-z0-9._][A-Za-z0-9._-]*(:[A-Za-z0-9._][A-Za-z0-9._-]*)?$")
_OCTAL = re.compile(r"^(0o?)?[0-7]{3,4}$")
_DEFAULT_MODE = 0o600


@dataclass(frozen=True, slots=True)
class Declared:
    """One companion file as the inventory declares it (bytes not produced yet)."""

    path: PurePosixPath
    #: The inline ``content`` (a mapping or a string), or None with a ``template``.
    content: object
    #: The ``template`` name (relative to the inventory folder), or None.
    template: str | None
    mode: int
    owner: str | None
    #: The declared ``kind``, or None (taken from the flag naming the file or the document).
    kind: str | None
    origin: VarOrigin | None


class ItemProblems:
    """Collects problems of one host's ``apiserver_files``, each naming the item's origin."""

    def __init__(self, state: DesiredState) -> None:
        self.state = state
        self.items: list[InputProblem] = []

    def origin(self, path: str) -> VarOrigin | None:
        """Where the item of ``path`` was set (its line), else the variable itself."""
        origins = self.state.host.origins
        return origins.get(f"{VAR}.{path}") or origins.get(VAR)

    def add(
        self,
        path: str,
        message: str,
        *,
        hint: str | None = None,
        flag: str | None = None,
        is_warning: bool = False,
        line: int | None = None,
    ) -> None:
        """Record a problem with the item of ``path``, at its origin."""
        origin = self.origin(path)
        self.items.append(
            InputProblem(
                f"{VAR} {path}: {message}",
                file=origin.file if origin else None,
                line=line if line is not None else (origin.line if origin else None),
                host=self.state.host.name,
                flag=flag,
                hint=hint,
                is_warning=is_warning,
            )
        )


def _mode(raw: object) -> int | None:
    """``0600`` (YAML reads it as octal already), ``"0600"``, ``"0o600"``; None when bad."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        # YAML 1.1 reads 0600 as 384; a plain 600 is a decimal typo for an octal mode.
        return raw if 0 <= raw <= 0o777 else None
    if isinstance(raw, str) and _OCTAL.match(raw.strip()):
        text = raw.strip().removeprefix("0o")
        return int(text, 8) if int(text, 8) <= 0o7777 else None
    return None


def _path(raw: str, state: DesiredState, out: ItemProblems) -> PurePosixPath | None:
    if not raw.startswith("/"):
        out.add(raw, "the path must be absolute (a host path)", hint="e.g. /etc/kubernetes/...")
        return None
    normal = PurePosixPath(posixpath.normpath(raw))
    if normal == state.manifest_dir or state.manifest_dir in normal.parents:
        out.add(
            raw,
            f"is inside the manifests folder {state.manifest_dir}: kubelet would run it as a pod",
            hint="put companion files next to the PKI, e.g. /etc/kubernetes/audit/policy.yaml",
        )
        return None
    if normal == state.backup_dir or state.backup_dir in normal.parents:
        out.add(raw, f"is inside the backup folder {state.backup_dir}")
        return None
    return normal


def _item(item: Mapping[str, object], state: DesiredState, out: ItemProblems) -> Declared | None:
    raw_path = str(item.get("path"))
    bad = len(out.items)
    unknown = sorted(set(map(str, item)) - _KEYS)
    if unknown:
        out.add(
            raw_path,
            f"unknown key {', '.join(unknown)}",
            hint="an item takes path, content or template, mode, owner, kind",
        )
    path = _path(raw_path, state, out)
    has_content, has_template = "content" in item, "template" in item
    if has_content == has_template:
        out.add(raw_path, "give exactly one of content (inline) and template (a Jinja file)")
    content = item.get("content")
    if has_content and not isinstance(content, Mapping | str):
        out.add(raw_path, f"content must be a YAML mapping or a string, got {content!r:.40}")
    template = item.get("template")
    if has_template and (not isinstance(template, str) or not template):
        out.add(raw_path, "template must be a file name relative to the inventory")
    mode = _mode(item.get("mode", _DEFAULT_MODE))
    if mode is None:
        out.add(
            raw_path,
            f"mode {item.get('mode')!r} is not an octal file mode",
            hint="quote it as an octal text: mode: '0600'",
        )
    owner = item.get("owner")
    if owner is not None and (not isinstance(owner, str) or not _OWNER.match(owner)):
        out.add(raw_path, f"owner {owner!r} is not user or user:group")
    kind = item.get("kind")
    if kind is not None and kind not in KINDS:
        out.add(
            raw_path,
            f"unknown companion kind {kind!r}",
            hint="kube-apiserver reads files of kind " + ", ".join(KINDS),
        )
    if len(out.items) > bad or path is None or mode is None:
        return None
    return Declared(
        path=path,
        content=content if has_content else None,
        template=str(template) if has_template else None,
        mode=mode,
        owner=str(owner) if owner is not None else None,
        kind=str(kind) if kind is not None else None,
        origin=out.origin(raw_path),
    )


def read_items(state: DesiredState, out: ItemProblems) -> list[Declared]:
    """Return the host's declared companion files, sorted by path; problems go to ``out``."""
    raw = state.host.vars.get(VAR)
    if raw is None:
        return []
    if not isinstance(raw, list):
        out.items.append(
            InputProblem(
                f"variable {VAR}: expected a list of {{path, content | template, ...}} items",
                host=state.host.name,
            )
        )
        return []
    found: dict[PurePosixPath, Declared] = {}
    for item in raw:
        if not isinstance(item, Mapping):
            continue  # the loader refused it already
        declared = _item(item, state, out)
        if declared is None:
            continue
        if declared.path in found:
            out.add(
                str(item.get("path")),
                f"names the same file as {found[declared.path].path} (after normalizing)",
            )
            continue
        found[declared.path] = declared
    return [found[p] for p in sorted(found)]
