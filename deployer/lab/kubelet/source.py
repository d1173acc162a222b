"""kubelet's file source: the manifests folder, watched, parsed and keyed by pod name.

What is imitated (kubelet ``pkg/kubelet/config/file.go``, ``file_linux.go``):
- every regular file whose name does not start with ``.`` is a pod, whatever its extension;
- a change is seen within one poll (0.2 s by default; kubelet uses inotify), and the folder is
  re-listed in full every ``relist_s`` (kubelet's ``--file-check-frequency``, 20 s);
- pods are kept in a store keyed by ``namespace/name``: two files that define the *same* pod
  name (``kube-apiserver.yaml`` and its ``.bak`` copy) do not give two pods; the file read last
  wins, and a full re-list reads files in name order, so the ``.bak`` copy ends up running.
  Removing either file removes the pod until the next re-list brings the other one back.
  Files with different pod names are different pods.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

from deployer.lab.kubelet.pods import PodParseError, StaticPod, parse_static_pod, sorted_sources

__all__ = ["FileSource"]

_log = logging.getLogger(__name__)

_FileKey = tuple[int, int, int]


class FileSource:
    """The pods defined by a manifests folder."""

    def __init__(
        self, folder: Path, *, node_folder: str, node_name: str, relist_s: float = 20.0
    ) -> None:
        """Watch ``folder`` (known to pods as ``node_folder``) for ``node_name``."""
        self._folder = folder
        self._node_folder = node_folder.rstrip("/")
        self._node_name = node_name
        self._relist_s = relist_s
        self._next_relist = 0.0
        self._seen: dict[str, _FileKey] = {}
        self._store: dict[str, StaticPod] = {}
        self._file_key: dict[str, str] = {}
        self._reported: dict[str, _FileKey] = {}
        #: name -> (content, pod): unchanged bytes are not parsed again at re-list (parsing
        #: costs more than the rest of a sync round; reading a few KB does not).
        self._parsed: dict[str, tuple[bytes, StaticPod | None]] = {}

    @property
    def pods(self) -> list[StaticPod]:
        """The pods kubelet should run now."""
        return list(self._store.values())

    def _listing(self) -> dict[str, _FileKey]:
        listing: dict[str, _FileKey] = {}
        try:
            entries = list(os.scandir(self._folder))
        except FileNotFoundError:
            if self._seen or not self._reported.get(""):
                _log.info("path does not exist, ignoring: %s", self._folder)
                self._reported[""] = (0, 0, 0)
            return listing
        for entry in entries:
            if entry.name.startswith("."):
                continue
            try:
                stat = entry.stat()
            except OSError:
                continue
            if not entry.is_file():
                continue
            listing[entry.name] = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        return listing

    def _read(self, name: str, key: _FileKey) -> StaticPod | None:
        source = f"{self._node_folder}/{name}"
        try:
            content = (self._folder / name).read_bytes()
        except OSError as exc:
            self._report(name, key, source, exc)
            return None
        cached = self._parsed.get(name)
        if cached is not None and cached[0] == content:
            return cached[1]
        try:
            pod: StaticPod | None = parse_static_pod(
                content, source=source, node_name=self._node_name
            )
        except PodParseError as exc:
            self._report(name, key, source, exc)
            pod = None
        self._parsed[name] = (content, pod)
        return pod

    def _report(self, name: str, key: _FileKey, source: str, error: Exception) -> None:
        if self._reported.get(name) != key:
            _log.error(
                'could not process manifest file, ignoring: path="%s" err="%s"', source, error
            )
            self._reported[name] = key

    def poll(self, now: float | None = None) -> bool:
        """Look at the folder once; return whether the set of pods changed."""
        now = time.monotonic() if now is None else now
        before = {k: p.uid for k, p in self._store.items()}
        listing = self._listing()
        if now >= self._next_relist:
            self._next_relist = now + self._relist_s
            self._store.clear()
            self._file_key.clear()
            for name in sorted_sources(list(listing)):
                self._add(name, listing[name])
        else:
            for name in sorted_sources([n for n in listing if self._seen.get(n) != listing[n]]):
                self._add(name, listing[name])
            for name in [n for n in self._seen if n not in listing]:
                key = self._file_key.pop(name, None)
                if key is not None:
                    self._store.pop(key, None)
        self._seen = listing
        self._parsed = {n: v for n, v in self._parsed.items() if n in listing}
        return before != {k: p.uid for k, p in self._store.items()}

    def _add(self, name: str, file_key: _FileKey) -> None:
        pod = self._read(name, file_key)
        if pod is None:
            return
        self._store[pod.full_name] = pod
        self._file_key[name] = pod.full_name
