"""The kubelet stand-in's bookkeeping: crash-loop back-off and garbage collection.

Both work on :class:`~deployer.lab.kubelet.records.KubeletState` only (plus the node's log
files for GC), so the sync loop stays about starting and stopping containers.
"""

from __future__ import annotations

import time
from pathlib import Path

from deployer.lab.kubelet.records import (
    CONTAINER_EXITED,
    SANDBOX_NOTREADY,
    BackoffEntry,
    ContainerRecord,
    KubeletState,
)

__all__ = ["BACKOFF_INITIAL_S", "BACKOFF_MAX_S", "collect_garbage", "log_link_name", "take_backoff"]

#: kubelet's crash-loop back-off (``flowcontrol.Backoff``): 10 s doubling to 300 s.
BACKOFF_INITIAL_S = 10.0
BACKOFF_MAX_S = 300.0


def take_backoff(
    state: KubeletState, key: str, finished_at_s: float, *, scale: float, now: float | None = None
) -> BackoffEntry | None:
    """Kubelet's ``doBackOff`` for a restart of the container ``key`` (``<pod uid>/<name>``).

    Returns the entry that holds the restart back (``now - finished_at < backoff``), or None
    when the restart may go ahead; then the back-off for the next crash is recorded: the
    initial value, or double the previous one up to the maximum. An entry not updated for
    twice the maximum is forgotten (``hasExpired``).
    """
    now = time.time() if now is None else now
    max_s = BACKOFF_MAX_S * scale
    entry = state.backoff.get(key)
    if entry is not None and now - entry.last_update > 2 * max_s:
        entry = None
    if entry is not None and now - finished_at_s < entry.backoff_s:
        return entry
    backoff = BACKOFF_INITIAL_S * scale if entry is None else min(entry.backoff_s * 2, max_s)
    state.backoff[key] = BackoffEntry(backoff, now)
    return None


def log_link_name(record: ContainerRecord) -> str:
    """Return kubelet's ``/var/log/containers`` name: ``<pod>_<namespace>_<container>-<id>.log``."""
    return f"{record.pod_name}_{record.namespace}_{record.name}-{record.id}.log"


def _remove_tree(folder: Path) -> None:
    """``rm -rf folder``, importing ``shutil`` only when there is garbage to collect.

    At the top of the module, ``shutil`` (with ``bz2``, ``lzma`` and ``zlib``) is 0.6 MB of
    RSS in every idle kubelet stand-in.
    """
    import shutil

    shutil.rmtree(folder, ignore_errors=True)


def _remove_container_files(root: Path, record: ContainerRecord) -> None:
    (root / record.log_path.lstrip("/")).unlink(missing_ok=True)
    (root / "var/log/containers" / log_link_name(record)).unlink(missing_ok=True)
    _remove_tree(root / f"run/containerd/io/{record.id}")


def collect_garbage(
    root: Path, state: KubeletState, desired_uids: set[str], *, min_age_s: float
) -> bool:
    """Keep one dead container per pod container; drop pods that are gone. Return if changed.

    Containers of removed pods stay ``min_age_s`` after they finished, so that a tool looking
    right after a manifest change still sees the old container exited.
    """
    keep: list[ContainerRecord] = []
    cutoff = time.time_ns() - int(min_age_s * 1e9)
    by_key: dict[tuple[str, str], list[ContainerRecord]] = {}
    for record in state.containers:
        by_key.setdefault((record.pod_uid, record.name), []).append(record)
    for (uid, _name), records in by_key.items():
        records.sort(key=lambda c: c.created_at_ns, reverse=True)
        dead = [c for c in records if c.state == CONTAINER_EXITED]
        alive = [c for c in records if c.state != CONTAINER_EXITED]
        if uid in desired_uids:
            survivors = alive + dead[:1]
        else:
            survivors = alive + [c for c in dead if c.finished_at_ns > cutoff]
        keep.extend(survivors)
        for record in records:
            if record not in survivors:
                _remove_container_files(root, record)
    changed = len(keep) != len(state.containers)
    state.containers = keep
    live_sandboxes = {c.sandbox_id for c in keep}
    gone = [
        s
        for s in state.sandboxes
        if s.state == SANDBOX_NOTREADY and s.uid not in desired_uids and s.id not in live_sandboxes
    ]
    for sandbox in gone:
        pod_logs = f"var/log/pods/{sandbox.namespace}_{sandbox.name}_{sandbox.uid}"
        _remove_tree(root / pod_logs)
        prefix = f"{sandbox.uid}/"
        state.backoff = {k: v for k, v in state.backoff.items() if not k.startswith(prefix)}
    if gone:
        state.sandboxes = [s for s in state.sandboxes if s not in gone]
    return changed or bool(gone)
