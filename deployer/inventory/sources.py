"""Find the files behind ``-i`` arguments, as Ansible does.

* A file is one inventory (YAML when named ``.yml``/``.yaml``/``.json`` or when it looks like
  YAML, INI otherwise).
* A directory is every inventory file in it, recursively, in sorted order, skipping hidden
  entries, ``group_vars``/``host_vars``/``vars_plugins`` and Ansible's ignored extensions.
* ``group_vars/`` and ``host_vars/`` are read beside each inventory file, or inside the
  inventory directory. For an entity ``name`` the first of ``name``, ``name.yml``,
  ``name.yaml``, ``name.json`` that exists is used; a folder ``name/`` contributes all of its
  files (recursively, sorted by name).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "VARS_EXTENSIONS",
    "InventoryFile",
    "VarsEntity",
    "inventory_files",
    "looks_like_yaml",
    "vars_dir_of",
    "vars_entities",
]

#: Extensions of variable files; ``""`` (no extension) is tried first, as Ansible does.
VARS_EXTENSIONS = ("", ".yml", ".yaml", ".json")
_YAML_EXTENSIONS = frozenset({".yml", ".yaml", ".json"})
#: ansible-core's INVENTORY_IGNORE_EXTS default (REJECT_EXTS + .orig, .cfg, .retry).
_IGNORED_SUFFIXES = (
    ".pyc",
    ".pyo",
    ".swp",
    ".bak",
    "~",
    ".rpm",
    ".md",
    ".txt",
    ".rst",
    ".orig",
    ".cfg",
    ".retry",
)
_IGNORED_NAMES = frozenset({"group_vars", "host_vars", "vars_plugins"})
_YAML_START = re.compile(r"^(---|%YAML|[\w.\-]+:\s*(#.*)?$|\{)")


@dataclass(frozen=True, slots=True)
class InventoryFile:
    """One inventory file to read."""

    path: Path
    #: The name used in messages and provenance (relative as the operator wrote it).
    shown: str
    is_yaml: bool


@dataclass(frozen=True, slots=True)
class VarsEntity:
    """The variable files for one group or host found in a ``group_vars``/``host_vars`` dir."""

    name: str
    #: The entry that was chosen (a file, or a folder of files).
    chosen: Path
    #: Files to read, in order (later ones win).
    files: tuple[Path, ...]
    #: Other candidates for the same name that are ignored because an earlier one won.
    shadowed: tuple[Path, ...]


def is_ignored(name: str) -> bool:
    """Tell whether a directory entry is skipped when a directory is an inventory source."""
    return name.startswith(".") or name in _IGNORED_NAMES or name.endswith(_IGNORED_SUFFIXES)


def looks_like_yaml(path: Path, text: str) -> bool:
    """Decide YAML or INI for one inventory file.

    Ansible tries its YAML plugin and then its INI plugin; we decide up front so that the
    operator gets the syntax errors of the right format. The extension decides; without one,
    the first meaningful line does (``all:`` or ``---`` is YAML, ``[group]`` or a host is INI).
    """
    if path.suffix.lower() in _YAML_EXTENSIONS:
        return True
    if path.suffix.lower() == ".ini":
        return False
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        return bool(_YAML_START.match(line)) and not line.startswith("[")
    return False


def _walk(path: Path, shown: str) -> Iterator[tuple[Path, str]]:
    for entry in sorted(path.iterdir(), key=lambda p: p.name):
        if is_ignored(entry.name):
            continue
        child_shown = f"{shown.rstrip('/')}/{entry.name}"
        if entry.is_dir():
            yield from _walk(entry, child_shown)
        elif entry.is_file():
            yield entry, child_shown


def inventory_files(source: Path, shown: str) -> list[tuple[Path, str]]:
    """Return the inventory files of one ``-i`` source (a file or a directory), in order.

    Raises:
        OSError: the source cannot be listed (the caller reports it).
    """
    if source.is_dir():
        return list(_walk(source, shown))
    return [(source, shown)]


def vars_dir_of(source: Path) -> Path:
    """Return where ``group_vars/`` and ``host_vars/`` live for an inventory source."""
    return source if source.is_dir() else source.parent


def _dir_files(folder: Path) -> Iterator[Path]:
    """Yield a ``group_vars/<name>/`` folder's files as Ansible reads them (sorted, recursive)."""
    for entry in sorted(folder.iterdir(), key=lambda p: p.name):
        name = entry.name
        if name.startswith(".") or name.endswith("~"):
            continue
        suffix = entry.suffix
        if entry.is_dir() and not suffix:
            yield from _dir_files(entry)
        elif entry.is_file() and (not suffix or suffix in VARS_EXTENSIONS):
            yield entry


def _entity_name(entry: Path) -> tuple[str, str] | None:
    name = entry.name
    if name.startswith(".") or name.endswith(_IGNORED_SUFFIXES):
        return None
    for ext in VARS_EXTENSIONS[1:]:
        if name.endswith(ext) and len(name) > len(ext):
            return name[: -len(ext)], ext
    return name, ""


def vars_entities(folder: Path) -> list[VarsEntity]:
    """List the groups or hosts that ``folder`` (a ``group_vars``/``host_vars`` dir) covers.

    Raises:
        OSError: the folder cannot be listed (the caller reports it).
    """
    candidates: dict[str, dict[str, Path]] = {}
    for entry in folder.iterdir():
        parsed = _entity_name(entry)
        if parsed is not None:
            candidates.setdefault(parsed[0], {})[parsed[1]] = entry
    entities: list[VarsEntity] = []
    for name in sorted(candidates):
        found = [candidates[name][ext] for ext in VARS_EXTENSIONS if ext in candidates[name]]
        first, shadowed = found[0], tuple(found[1:])
        files = tuple(_dir_files(first)) if first.is_dir() else (first,)
        entities.append(VarsEntity(name, first, files, shadowed))
    return entities
