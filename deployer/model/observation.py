"""What one observation of a host found: its manifest, the folder around it, the containers.

Plain data at the bottom of the package graph: the probes that produce it (``deployer.facts``:
argv builders and pure parsers) and everything that plans or rolls from it import it from here.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ContainerInfo", "DirEntry", "FileFact", "HostObservation"]

#: crictl's name for a running container's state.
_RUNNING = "CONTAINER_RUNNING"


@dataclass(frozen=True, slots=True)
class ContainerInfo:
    """One container as ``crictl ps -a -o json`` lists it."""

    id: str
    name: str
    state: str
    created_at_ns: int
    pod_name: str
    pod_uid: str
    attempt: int
    restart_count: int

    @property
    def is_running(self) -> bool:
        """True when crictl reports the container running."""
        return self.state == _RUNNING


@dataclass(frozen=True, slots=True)
class DirEntry:
    """A name in the manifests folder and its type (``f`` file, ``d`` folder, ``l`` link ...)."""

    name: str
    kind: str


@dataclass(frozen=True, slots=True)
class FileFact:
    """A file a flag references, as the host has it now."""

    #: The path as the command was given it (the phase maps it back to the host path).
    path: str
    #: Modification time (seconds since the epoch); None when the file is absent.
    mtime: int | None
    sha256: str | None


@dataclass(frozen=True, slots=True)
class HostObservation:
    """What one host looked like at one moment."""

    #: The live manifest's bytes; None when absent.
    manifest: bytes | None
    #: Everything in the manifests folder (None when the folder does not exist).
    listing: tuple[DirEntry, ...] | None
    #: ``crictl ps -a`` for kube-apiserver containers, newest first; None when crictl failed.
    containers: tuple[ContainerInfo, ...] | None
    #: The running container's command line; None when none runs or inspect failed.
    running_args: tuple[str, ...] | None
    #: Exit status of the kubelet check (0 = running); None when no check is configured.
    kubelet_rc: int | None
    #: The cluster CA (PEM) that signs the apiserver's serving certificate; None when absent.
    ca_pem: bytes | None = None
    #: The files asked about, in the order asked.
    files: tuple[FileFact, ...] = ()
    #: What went wrong while observing (crictl missing ...), for the report.
    errors: tuple[str, ...] = ()

    @property
    def running(self) -> ContainerInfo | None:
        """The newest running kube-apiserver container."""
        for container in self.containers or ():
            if container.is_running:
                return container
        return None

    def stray_files(self, manifest_name: str = "kube-apiserver.yaml") -> tuple[str, ...]:
        """Names kubelet would run as pods besides our manifest (DESIGN.md rule 1).

        kubelet's file source reads every non-dot regular file, whatever its extension.
        """
        return tuple(
            e.name
            for e in self.listing or ()
            if not e.name.startswith(".") and e.name != manifest_name and e.kind != "d"
        )
