"""What a host changes, as data: the ordered set of files a rollout writes there.

kubeadm's ``upgradeComponent`` takes the component it changes as an argument; here the host's
change is a :class:`FileSet`: its companion files first (audit policy, encryption and other
configurations the apiserver reads), the static pod manifest LAST (DESIGN.md rule 12). The
manifest goes last because it is what makes kubelet start a new pod, and that pod must find
every file it names already in place.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath

from deployer.model.files import ApplyMode, ReloadEvidence
from deployer.model.plan import ChangeKind, HostPlan

__all__ = ["FileSet", "TargetFile", "file_set", "set_problems"]


@dataclass(frozen=True, slots=True)
class TargetFile:
    """One file of a host's set, as the host must have it after the rollout."""

    #: Host path (before ``host_root``), absolute.
    path: PurePosixPath
    content: bytes
    sha256: str
    mode: int = 0o600
    #: ``user:group`` for a companion; None: root (the manifest, and companions by default).
    owner: str | None = None
    apply: ApplyMode = ApplyMode.RESTART
    reload: ReloadEvidence | None = None
    is_manifest: bool = False


@dataclass(frozen=True, slots=True)
class FileSet:
    """A host's files in write order: companions, then the manifest (when it changes)."""

    files: tuple[TargetFile, ...]
    #: The manifest's target, always known (backed up even when only companions change).
    manifest: TargetFile
    #: True when the manifest's bytes change (it is then the last of ``files``).
    writes_manifest: bool

    @property
    def companions(self) -> tuple[TargetFile, ...]:
        """The companion files, in write order."""
        return tuple(f for f in self.files if not f.is_manifest)

    @property
    def reloaded(self) -> tuple[TargetFile, ...]:
        """Companions the running apiserver picks up by itself (no restart for them)."""
        return tuple(f for f in self.companions if f.apply is ApplyMode.RELOAD and f.reload)


def file_set(plan: HostPlan) -> FileSet:
    """The set ``plan`` writes on its host: ``plan.companion_changes`` then the manifest."""
    manifest = TargetFile(
        path=plan.state.manifest_path,
        content=plan.desired.content,
        sha256=plan.desired.sha256,
        is_manifest=True,
    )
    companions = tuple(
        TargetFile(
            path=c.file.path,
            content=c.file.content,
            sha256=c.file.sha256,
            mode=c.file.mode,
            owner=c.file.owner,
            apply=c.file.apply,
            reload=c.file.reload,
        )
        for c in plan.companion_changes
    )
    writes_manifest = plan.kind is not ChangeKind.NONE
    files = companions + ((manifest,) if writes_manifest else ())
    return FileSet(files=files, manifest=manifest, writes_manifest=writes_manifest)


def set_problems(plan: HostPlan, files: FileSet) -> list[str]:
    """Why the rollout could not prove ``files`` applied (checked before anything is touched).

    A companion read at startup only takes effect through a restart, which only a changed
    manifest brings (its digest annotation of the companions); a companion inside the
    manifests folder would be run by kubelet as a pod (DESIGN.md rule 1).
    """
    problems = [
        f"{f.path} is read at startup but the manifest does not change, so nothing would "
        "restart kube-apiserver to read it"
        for f in files.companions
        if (f.apply is ApplyMode.RESTART or f.reload is None) and not plan.needs_restart
    ]
    problems += [
        f"{f.path} is inside the manifests folder, where kubelet would run it as a pod"
        for f in files.companions
        if f.path.parent == plan.state.manifest_path.parent
    ]
    return problems
