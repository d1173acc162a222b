"""Manifests (desired or observed) identified by content digest."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import PurePosixPath

__all__ = ["Manifest", "sha256_hex"]


def sha256_hex(content: bytes) -> str:
    """Return the hex SHA-256 of ``content``: the identity of a manifest everywhere in deployer."""
    return hashlib.sha256(content).hexdigest()


@dataclass(frozen=True, slots=True)
class Manifest:
    """A static pod manifest's bytes at a host path."""

    path: PurePosixPath
    content: bytes
    sha256: str

    @classmethod
    def from_content(cls, path: PurePosixPath, content: bytes) -> Manifest:
        """Build a manifest whose digest is computed, never passed in (so it cannot lie)."""
        return cls(path=path, content=content, sha256=sha256_hex(content))
