"""Companion file text, and a diff between two versions that never shows a secret.

Why a dedicated diff: the manifest diff masks by pattern (``mask_secrets``), which cannot see
that an ``EncryptionConfiguration`` key changed when both sides print ``***``. Here secrets are
known (:class:`~deployer.model.host.Secret` values from ``secret_env``/``secret_file``, plus
every key path of the kind), so the diff compares the real values and says ``# key changed`` on
the line of a changed secret, printing only the mask on both sides. The text filter still runs
over the result, for secrets a generic key name reveals (a ``token:`` in a plugin config).

The rendering is deterministic (key order as written, block style, no aliases), so the same
desired document always produces the same bytes and the same digest annotation.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping

import yaml

from deployer.companions.document import Node
from deployer.companions.encryption import secret_key_paths
from deployer.companions.fielderrors import FieldPath
from deployer.model.host import Secret
from deployer.report.masking import MASK, mask_secrets

__all__ = ["masked_diff", "render_document"]

#: Appended to a changed secret's mask while diffing; replaced by a ``# key changed`` comment.
_CHANGED = "@@key-changed@@"


class _Dumper(yaml.SafeDumper):
    """SafeDumper without anchors: a repeated value is written out again."""

    def ignore_aliases(self, data: object) -> bool:
        return True


def _plain(
    value: object,
    reveal: bool,
    path: FieldPath,
    secret_paths: set[FieldPath],
    changed: set[FieldPath],
) -> object:
    if isinstance(value, Secret) or (
        path in secret_paths and isinstance(value, str) and not reveal
    ):
        if reveal and isinstance(value, Secret):
            return value.value
        return MASK + (_CHANGED if path in changed else "")
    if isinstance(value, Mapping):
        return {
            str(k): _plain(v, reveal, path.child(str(k)), secret_paths, changed)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [
            _plain(v, reveal, path.index(i), secret_paths, changed) for i, v in enumerate(value)
        ]
    return value


def _secret_paths(kind: str | None, document: object) -> set[FieldPath]:
    if kind in ("EncryptionConfiguration", "EncryptionConfig"):
        return set(secret_key_paths(Node.of(document)))
    return set()


def _dump(plain: object) -> str:
    text = yaml.dump(
        plain, Dumper=_Dumper, default_flow_style=False, sort_keys=False, allow_unicode=True
    )
    return str(text)


def render_document(document: object, *, reveal: bool, kind: str | None = None) -> str:
    """Return the YAML text of ``document``: with the secrets (to write) or masked (to show)."""
    plain = _plain(document, reveal, FieldPath(), _secret_paths(kind, document), set())
    return _dump(plain)


def _value_at(document: object, path: FieldPath) -> object:
    value = document
    for part in path.parts:
        if isinstance(part, int):
            value = value[part] if isinstance(value, list | tuple) and part < len(value) else None
        else:
            value = value.get(part) if isinstance(value, Mapping) else None
    return value


def _secret_text(value: object) -> str | None:
    if isinstance(value, Secret):
        return value.value
    return value if isinstance(value, str) else None


def _changed_secrets(old: object, new: object, kind: str | None) -> set[FieldPath]:
    """Paths holding a secret on both sides whose values differ."""
    paths = _secret_paths(kind, old) | _secret_paths(kind, new)
    paths |= {p for p, _ in _walk_secrets(new, FieldPath())}
    return {
        p
        for p in paths
        if _secret_text(_value_at(old, p)) is not None
        and _secret_text(_value_at(new, p)) is not None
        and _secret_text(_value_at(old, p)) != _secret_text(_value_at(new, p))
    }


def _walk_secrets(value: object, path: FieldPath) -> list[tuple[FieldPath, Secret]]:
    if isinstance(value, Secret):
        return [(path, value)]
    if isinstance(value, Mapping):
        return [s for k, v in value.items() for s in _walk_secrets(v, path.child(str(k)))]
    if isinstance(value, list | tuple):
        return [s for i, v in enumerate(value) for s in _walk_secrets(v, path.index(i))]
    return []


def masked_diff(old: object | None, new: object, *, name: str, kind: str | None = None) -> str:
    """Return a unified diff of two versions of a companion file, secrets masked.

    ``old`` is None when the file does not exist on the host yet. A secret that changed shows as
    a removed and an added line, both masked, the added one ending in ``# key changed``.
    """
    changed = _changed_secrets(old, new, kind) if old is not None else set()
    old_text = (
        ""
        if old is None
        else _dump(_plain(old, False, FieldPath(), _secret_paths(kind, old), set()))
    )
    new_plain = _plain(new, False, FieldPath(), _secret_paths(kind, new), changed)
    new_text = _dump(new_plain)
    # A changed secret renders as the mask on both sides; the marker makes the pair differ.
    diff = difflib.unified_diff(
        old_text.splitlines(keepends=True),
        new_text.splitlines(keepends=True),
        fromfile=f"{name} (host)",
        tofile=f"{name} (desired)",
    )
    return "".join(_mark(line) for line in diff)


def _mark(line: str) -> str:
    """Mask one diff line by pattern; a marked secret line gets its ``# key changed``."""
    if _CHANGED not in line:
        return mask_secrets(line)
    body = mask_secrets(line.replace(_CHANGED, "").rstrip("\n"))
    return f"{body}  # key changed\n"
