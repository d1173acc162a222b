"""Everything deployer needs to know about one host before touching it, as plain data.

Built from the inventory by :mod:`deployer.desired` (which checks and collects every problem);
kept here, at the bottom of the package graph, so that plans, phases and reports can name it
without depending on how it is built.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from types import MappingProxyType

from deployer.model.files import CompanionFile
from deployer.model.host import Host, VarOrigin

__all__ = ["DesiredState", "host_path"]


@functools.lru_cache(maxsize=8192)
def host_path(host_root: str, path: str | PurePosixPath) -> PurePosixPath:
    """Map a host path (``/etc/kubernetes/...``) under ``host_root`` (``/`` on real hosts).

    Cached (paths are immutable): a plan maps the same few paths of each host some 30 times
    (observation, planning, companions), and pathlib's parsing was 2 ms of CPU per host.
    """
    if host_root == "/" and isinstance(path, PurePosixPath):
        return path
    p = PurePosixPath(path)
    root = PurePosixPath(host_root)
    if str(root) == "/":
        return p
    return root / p.relative_to("/") if p.is_absolute() else root / p


@dataclass(frozen=True, slots=True)
class DesiredState:
    """Everything deployer needs to know about one host before touching it."""

    host: Host
    #: Minor version (``1.31``): picks the flag schema.
    kubernetes_minor: str
    #: Full version (``1.31.13``): the image tag without ``v``; ``/version`` must report it.
    kubernetes_version: str
    #: The minor whose flag schema and kubeadm shape apply: ``kubernetes_minor``, or the newest
    #: known one for a newer minor under ``kubernetes_version_fallback: true``.
    schema_minor: str
    image: str
    #: Normalized flag name -> command-line text, in no particular order (the renderer sorts).
    flags: Mapping[str, str]
    #: Normalized flag name -> where the inventory set it.
    flag_origins: Mapping[str, VarOrigin]
    #: Flags the inventory gave as a list (rendered comma-joined).
    list_flags: frozenset[str]
    manifest_dir: PurePosixPath
    template: str
    backup_dir: PurePosixPath
    backup_keep: int
    host_root: str
    crictl: str
    kubeconfig: PurePosixPath
    #: The CA that signs the apiserver's serving certificate (probes verify against it).
    cluster_ca_file: PurePosixPath
    #: argv that exits 0 when kubelet runs on the host (empty: do not check).
    kubelet_check: tuple[str, ...]
    #: Whether commands that touch root-owned files run through sudo (``ansible_become``).
    become: bool
    restart_timeout_s: float
    ready_timeout_s: float
    soak_s: float
    serial: int
    extra_volumes: tuple[Mapping[str, object], ...] = ()
    extra_env: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    #: Host paths whose content digests go into a pod annotation (drift of referenced files).
    checksum_files: tuple[str, ...] = ()
    #: Files rolled with the manifest as one set (``apiserver_files``), sorted by path.
    companions: tuple[CompanionFile, ...] = ()

    @property
    def probe_address(self) -> str:
        """Where this host's apiserver answers: the address its flags make it listen on.

        DESIGN.md rule 5: probe the host that was changed, never a load balancer, so the
        address comes from the rendered flags, and the host's own address only as a fallback.
        """
        for flag in ("advertise-address", "bind-address"):
            value = self.flags.get(flag, "")
            if value and value not in ("0.0.0.0", "::"):  # noqa: S104 (a flag value, not a bind)
                return value
        return self.host.address

    @property
    def probe_port(self) -> int:
        """The apiserver's ``--secure-port`` (6443 when unset, kube-apiserver's default)."""
        try:
            return int(self.flags.get("secure-port", "6443"), 0)
        except ValueError:
            return 6443

    @property
    def manifest_path(self) -> PurePosixPath:
        """The kube-apiserver manifest's host path (before ``host_root``)."""
        return self.manifest_dir / "kube-apiserver.yaml"

    def on_host(self, path: str | PurePosixPath) -> PurePosixPath:
        """Return ``path`` as the transport must address it (prefixed by ``host_root``)."""
        return host_path(self.host_root, path)
