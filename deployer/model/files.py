"""Companion files: the files a host's kube-apiserver reads, rolled as one set with its manifest.

A host's change is a *set* of files (the companions, then the manifest last). These types are
what the inventory side (desired state, rendering, validation) hands to the rollout side
(backup every file, atomic writes, restore every file), so they live at the bottom of the
package graph and import nothing of deployer's above ``model``.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from types import MappingProxyType

from deployer.model.manifest import sha256_hex

__all__ = ["ApplyMode", "CompanionChange", "CompanionFile", "ReloadEvidence"]


class ApplyMode(enum.Enum):
    """How the running apiserver picks up a new version of the file."""

    #: Read at startup only: the file's digest goes into the manifest's annotation, so a change
    #: of the file changes the manifest and kubelet restarts the pod (kubelet does not watch
    #: companion files itself).
    RESTART = "restart"
    #: The apiserver reloads the file by itself (for example ``--encryption-provider-config``
    #: with ``--encryption-provider-config-automatic-reload``): written without a restart, and
    #: verify waits for the reload evidence instead of a new container.
    RELOAD = "reload"


def _no_labels() -> Mapping[str, str]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True)
class ReloadEvidence:
    """How to tell, from the apiserver's ``/metrics``, that it loaded a file without a restart."""

    #: A counter that grows by at least one on each successful reload.
    counter: str
    #: Labels the counter's sample must carry (``{"status": "success"}``).
    labels: Mapping[str, str] = field(default_factory=_no_labels)
    #: A gauge whose ``hash`` label names the loaded content (``..._last_config_info``);
    #: None when the version exposes none.
    info_metric: str | None = None


@dataclass(frozen=True, slots=True)
class CompanionFile:
    """One companion file as the host must have it after the rollout."""

    #: Host path (before ``host_root``), absolute.
    path: PurePosixPath
    content: bytes
    sha256: str
    mode: int = 0o600
    #: ``user:group`` to own the file; None: whoever the transport writes as (root with become).
    owner: str | None = None
    #: The document's kind (``Policy``, ``EncryptionConfiguration`` ...); None for other files.
    kind: str | None = None
    #: Values that must never be shown (keys, tokens): diffs and reports mask them.
    secret_values: tuple[str, ...] = ()
    apply: ApplyMode = ApplyMode.RESTART
    #: Set when ``apply`` is RELOAD.
    reload: ReloadEvidence | None = None

    @classmethod
    def from_content(
        cls,
        path: PurePosixPath,
        content: bytes,
        *,
        mode: int = 0o600,
        owner: str | None = None,
        kind: str | None = None,
        secret_values: tuple[str, ...] = (),
        apply: ApplyMode = ApplyMode.RESTART,
        reload: ReloadEvidence | None = None,
    ) -> CompanionFile:
        """Build a file whose digest is computed, never passed in (so it cannot lie)."""
        return cls(
            path=path,
            content=content,
            sha256=sha256_hex(content),
            mode=mode,
            owner=owner,
            kind=kind,
            secret_values=secret_values,
            apply=apply,
            reload=reload,
        )

    @property
    def is_secret(self) -> bool:
        """True when the file's content must never be shown, only that it changed."""
        return bool(self.secret_values)


@dataclass(frozen=True, slots=True)
class CompanionChange:
    """One companion file the rollout will write on a host."""

    file: CompanionFile
    #: Digest of the host's copy when planned; None when the host has no such file.
    live_sha256: str | None
    #: Unified diff, secrets masked (a secret file's diff says ``key changed``).
    diff: str = ""
