"""Resolve the container paths named by flags to files in the lab node's folder.

Why: a real kube-apiserver container sees only what the pod's hostPath volumes mount. A flag that
names a file under no mount fails at start with ``open <path>: no such file or directory``, and
catching exactly that mistake (a new flag without its volume) is one of the tool's jobs. kubelet's
stand-in passes the pod's mounts in ``DEPLOYER_LAB_MOUNTS``; without it (the stand-in started by
hand) paths are taken as they are on this machine.
"""

from __future__ import annotations

import json
import posixpath
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Mount", "MountTable", "no_such_file"]


@dataclass(frozen=True, slots=True)
class Mount:
    """One volume mount: container path -> host path."""

    mount_path: str
    host_path: Path
    read_only: bool = False


def no_such_file(container_path: str) -> str:
    """Return Go's error text for opening a missing file (what the real binary prints)."""
    return f"open {container_path}: no such file or directory"


@dataclass(frozen=True, slots=True)
class MountTable:
    """The container's view of the filesystem, as the pod's volume mounts define it.

    ``mounts`` is ``None`` when no table was given: the identity view.
    """

    mounts: tuple[Mount, ...] | None

    @classmethod
    def from_json(cls, text: str | None) -> MountTable:
        """Parse ``DEPLOYER_LAB_MOUNTS`` (a JSON list of ``mountPath``/``hostPath``/``readOnly``).

        Raises:
            ValueError: the text is not such a list.
        """
        if text is None or not text.strip():
            return cls(None)
        raw = json.loads(text)
        if not isinstance(raw, list):
            raise ValueError("DEPLOYER_LAB_MOUNTS must be a JSON list")
        mounts = []
        for entry in raw:
            if not isinstance(entry, dict):
                raise ValueError("DEPLOYER_LAB_MOUNTS entries must be objects")
            mounts.append(
                Mount(
                    posixpath.normpath(str(entry["mountPath"])),
                    Path(str(entry["hostPath"])),
                    bool(entry.get("readOnly", False)),
                )
            )
        return cls(tuple(mounts))

    def resolve(self, container_path: str) -> Path | None:
        """Return the host file behind ``container_path``, or ``None`` when no mount covers it.

        The deepest mount wins, as in a container where a nested mount hides its parent's files.
        Relative paths are taken from ``/`` (the container's working directory).
        """
        path = posixpath.normpath(posixpath.join("/", container_path))
        if self.mounts is None:
            return Path(path)
        best: Mount | None = None
        for mount in self.mounts:
            inside = path == mount.mount_path or path.startswith(mount.mount_path.rstrip("/") + "/")
            if inside and (best is None or len(mount.mount_path) > len(best.mount_path)):
                best = mount
        if best is None:
            return None
        rest = posixpath.relpath(path, best.mount_path)
        return best.host_path if rest == "." else best.host_path / rest

    def mount_of(self, container_path: str) -> Mount | None:
        """Return the mount that covers ``container_path`` (the deepest), or ``None``."""
        if self.mounts is None:
            return None
        path = posixpath.normpath(posixpath.join("/", container_path))
        covering = [
            m
            for m in self.mounts
            if path == m.mount_path or path.startswith(m.mount_path.rstrip("/") + "/")
        ]
        return max(covering, key=lambda m: len(m.mount_path)) if covering else None

    def read_bytes(self, container_path: str) -> bytes:
        """Read a file the way the container would.

        Raises:
            FileNotFoundError: with Go's text, when no mount covers the path or the file is absent.
        """
        host = self.resolve(container_path)
        if host is None or not host.is_file():
            raise FileNotFoundError(no_such_file(container_path))
        return host.read_bytes()

    def host_file(self, container_path: str) -> Path:
        """Return the existing host file behind ``container_path`` (for ``ssl`` and friends).

        Raises:
            FileNotFoundError: with Go's text, when no mount covers the path or the file is absent.
        """
        host = self.resolve(container_path)
        if host is None or not host.is_file():
            raise FileNotFoundError(no_such_file(container_path))
        return host
