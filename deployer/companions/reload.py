"""Whether a host's kube-apiserver reloads a companion file by itself, and how to tell it did.

Placeholder until the per-version table lands: every file is read at startup only.
"""

from __future__ import annotations

from collections.abc import Mapping

from deployer.model.files import ApplyMode, ReloadEvidence

__all__ = ["apply_mode"]


def apply_mode(
    kind: str | None, minor: str, flags: Mapping[str, str]
) -> tuple[ApplyMode, ReloadEvidence | None]:
    """Return how ``minor``'s apiserver picks up a new version of a file of ``kind``."""
    del kind, minor, flags
    return ApplyMode.RESTART, None
