"""What a run intends to do, per host, decided from the desired state and one observation."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from deployer.model.desired_state import DesiredState
from deployer.model.files import CompanionChange
from deployer.model.manifest import Manifest, sha256_hex
from deployer.model.observation import HostObservation

__all__ = ["ChangeKind", "FlagChange", "HostPlan", "Plan"]


class ChangeKind(enum.Enum):
    """How the live manifest differs from the desired one."""

    NONE = "none"
    #: No manifest on the host yet.
    CREATE = "create"
    #: The parsed pod differs: kubelet will restart the apiserver.
    UPDATE = "update"
    #: Bytes differ but the parsed pod is the same: kubelet restarts nothing.
    COSMETIC = "cosmetic"


@dataclass(frozen=True, slots=True)
class FlagChange:
    """One flag's change, for the flag-level summary (``--audit-log-maxage: 30 -> 60``)."""

    flag: str
    old: str | None
    new: str | None
    #: Set when the value is the same but the argument is not (``--x`` vs ``--x=true``, moved
    #: to another position): kubelet still sees another command line and restarts.
    detail: str = ""

    def __str__(self) -> str:
        if self.detail:
            return f"~ --{self.flag}: {self.detail}"
        if self.old is None:
            return f"+ --{self.flag}={self.new}"
        if self.new is None:
            return f"- --{self.flag}={self.old}"
        return f"~ --{self.flag}: {self.old} -> {self.new}"


@dataclass(frozen=True, slots=True)
class HostPlan:
    """One host's plan."""

    state: DesiredState
    desired: Manifest
    #: None when the host could not be observed.
    observed: HostObservation | None
    kind: ChangeKind
    #: Unified diff of the manifest (secrets masked).
    diff: str = ""
    flag_changes: tuple[FlagChange, ...] = ()
    #: ``image v1.33.0 -> v1.33.5: a patch upgrade``, or None when the image stays.
    image_change: str | None = None
    #: Field paths (after the API's defaults) other than flags and image that differ; for a
    #: cosmetic change, the fields written differently that default to the same pod.
    field_paths: tuple[str, ...] = ()
    #: Other differences worth an operator's eye (image, pod fields, running vs file, strays).
    notes: tuple[str, ...] = ()
    #: Why the host could not be observed (unreachable, host key ...).
    unreachable: str | None = None
    #: ``/readyz`` of the host's apiserver when planned: True, False, or None (not probed).
    is_ready: bool | None = None
    #: The failing readyz checks (or the connection error) when not ready.
    ready_detail: str = ""
    #: Drift of the running pod from the file on disk (kubelet did not apply it, crash loop).
    pod_drift: str | None = None
    #: Referenced files changed after the running apiserver started (it still runs the old).
    file_drift: tuple[str, ...] = ()
    #: What ``kubeadm upgrade`` would revert (kube-system/kubeadm-config vs the inventory);
    #: None when the cluster has no kubeadm-config (or it was not read).
    kubeadm_config: tuple[str, ...] | None = None
    #: Companion files whose host copy differs from the desired one (written with the manifest).
    companion_changes: tuple[CompanionChange, ...] = ()

    @property
    def drift(self) -> dict[str, object]:
        """The layers of drift (manifest, pod, files, companions), for reports and metrics."""
        return {
            "detected": self.needs_change or self.pod_drift is not None or bool(self.file_drift),
            "manifest": self.kind.value,
            "pod": self.pod_drift,
            "files": list(self.file_drift),
            "kubeadm_config": None if self.kubeadm_config is None else list(self.kubeadm_config),
            "companions": [str(c.file.path) for c in self.companion_changes],
        }

    @property
    def name(self) -> str:
        """The host's inventory name."""
        return self.state.host.name

    @property
    def live_sha256(self) -> str | None:
        """Digest of the live manifest as planned; preflight re-reads and compares it."""
        if self.observed is None or self.observed.manifest is None:
            return None
        return sha256_hex(self.observed.manifest)

    @property
    def needs_change(self) -> bool:
        """True when apply would write the manifest."""
        return self.unreachable is None and (
            self.kind is not ChangeKind.NONE or bool(self.companion_changes)
        )

    @property
    def needs_restart(self) -> bool:
        """True when the change makes kubelet restart the apiserver."""
        return self.kind in (ChangeKind.CREATE, ChangeKind.UPDATE)


@dataclass(frozen=True, slots=True)
class Plan:
    """Every selected host's plan, in rollout order."""

    run_id: str
    hosts: tuple[HostPlan, ...]

    @property
    def pending(self) -> tuple[HostPlan, ...]:
        """Hosts apply would change."""
        return tuple(p for p in self.hosts if p.needs_change)

    @property
    def unreachable(self) -> tuple[HostPlan, ...]:
        """Hosts that could not be observed."""
        return tuple(p for p in self.hosts if p.unreachable is not None)
