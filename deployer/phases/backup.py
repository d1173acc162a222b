"""Back up the live manifest outside the manifests folder, like kubeadm, before any change.

Why outside: kubelet runs every non-dot file in the manifests folder, so a ``.bak`` there is a
second apiserver (DESIGN.md rule 1). Backups live under ``backup_dir`` in folders named
``deployer-backup-<YYYY-MM-DD-HH-MM-SS>`` (0700, files 0600); they are pruned only after a
successful host, never in a ``finally``, because a failed run needs them.

Layout of a folder: the manifest under its own name (where ``doctor``, ``--repair`` and the
by-hand recovery commands look for it), ``deployer-run.json`` (the run record) and, when the
host's set has companion files, ``companion-<n>-<name>`` with the index ``deployer-files.json``
naming each file's host path, digest and mode, or that it was absent (so a restore deletes it).
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath

from deployer.model.files import ReloadEvidence
from deployer.model.manifest import sha256_hex
from deployer.model.plan import HostPlan
from deployer.phases.context import HostContext
from deployer.report.secret_values import ValueMasker, secret_values

__all__ = [
    "BACKUP_PREFIX",
    "FILES_INDEX",
    "BackedUpFile",
    "Companion",
    "backup_manifest",
    "prune_backups",
    "read_index",
]

BACKUP_PREFIX = "deployer-backup-"
#: The index of the companion files a backup folder holds.
FILES_INDEX = "deployer-files.json"


@dataclass(frozen=True, slots=True)
class Companion:
    """A companion file to back up: its host path, and how the apiserver picks it up."""

    path: PurePosixPath
    mode: int = 0o600
    #: Set for a file the apiserver reloads by itself (the restore waits for its reload).
    reload: ReloadEvidence | None = None


@dataclass(frozen=True, slots=True)
class BackedUpFile:
    """One companion's entry in a backup's index."""

    #: Host path (before ``host_root``).
    path: PurePosixPath
    #: Name of the copy inside the backup folder; None: the host had no such file.
    copy: str | None
    sha256: str | None
    mode: int = 0o600
    reload: ReloadEvidence | None = None


_MKDIR_SCRIPT = r"""
base=$1; stamp=$2; n=0; d="$base/$stamp"
mkdir -p -m 0700 "$base" || exit 1
until mkdir -m 0700 "$d" 2>/dev/null; do
  n=$((n + 1)); d="$base/$stamp-$n"
  [ "$n" -gt 50 ] && { echo "cannot create a backup folder under $base" >&2; exit 1; }
done
echo "$d"
"""


def backup_manifest(
    ctx: HostContext,
    plan: HostPlan,
    live: bytes | None,
    *,
    record: dict[str, object],
    companions: Sequence[Companion] = (),
) -> PurePosixPath:
    """Copy ``live`` (the manifest preflight just read), the companions and a run record.

    Returns the backup folder's host path (under ``host_root``). With no live manifest (a first
    install) the folder holds no manifest, so the audit trail is complete either way. Every
    companion is read now and copied (or recorded as absent), BEFORE anything is written.
    """
    mask = ValueMasker(
        secret_values(flags=ctx.state.flags, env=ctx.state.extra_env, host_vars=ctx.state.host.vars)
    )
    stamp = time.strftime("%Y-%m-%d-%H-%M-%S", time.gmtime(ctx.clock.time()))
    base = ctx.path(ctx.state.backup_dir)
    result = ctx.run(
        ["sh", "-c", _MKDIR_SCRIPT, "deployer-backup", str(base), BACKUP_PREFIX + stamp]
    )
    folder = PurePosixPath(result.stdout.strip().splitlines()[-1])
    try:
        _fill_backup(ctx, plan, live, folder, record, mask)
        if companions:
            _backup_companions(ctx, folder, companions)
    except BaseException:
        # A half-made backup (no space left for the copy or the record) is of no use and
        # would be taken for a real one: remove the folder this call just created.
        with contextlib.suppress(Exception):
            ctx.run(["rm", "-rf", "--", str(folder)])
        raise
    return folder


def _fill_backup(
    ctx: HostContext,
    plan: HostPlan,
    live: bytes | None,
    folder: PurePosixPath,
    record: dict[str, object],
    mask: ValueMasker,
) -> None:
    if live is not None:
        ctx.transport.put_atomic(
            live, folder / ctx.state.manifest_path.name, mode=0o600, sudo=ctx.state.become
        )
    doc = {
        "run_id": ctx.run_id,
        "host": ctx.name,
        "manifest": str(ctx.state.manifest_path),
        "old_sha256": sha256_hex(live) if live is not None else None,
        "new_sha256": plan.desired.sha256,
        # A run record stays on the host but is read by people: flag values that are secrets
        # (URL passwords, credential flags, env values) are masked like everywhere else.
        "flag_changes": [mask(str(c)) for c in plan.flag_changes],
        **record,
    }
    ctx.transport.put_atomic(
        (json.dumps(doc, indent=2, sort_keys=True) + "\n").encode(),
        folder / "deployer-run.json",
        mode=0o600,
        sudo=ctx.state.become,
    )


def _backup_companions(
    ctx: HostContext, folder: PurePosixPath, companions: Sequence[Companion]
) -> None:
    entries: list[dict[str, object]] = []
    for n, companion in enumerate(companions):
        content = ctx.transport.read(ctx.path(companion.path), sudo=ctx.state.become)
        copy = None
        if content is not None:
            copy = f"companion-{n}-{companion.path.name}"
            ctx.transport.put_atomic(content, folder / copy, mode=0o600, sudo=ctx.state.become)
        reload = companion.reload
        entries.append(
            {
                "path": str(companion.path),
                "copy": copy,
                "sha256": sha256_hex(content) if content is not None else None,
                "mode": companion.mode,
                "reload": None
                if reload is None
                else {
                    "counter": reload.counter,
                    "labels": dict(reload.labels),
                    "info_metric": reload.info_metric,
                },
            }
        )
    index = json.dumps({"files": entries}, indent=2, sort_keys=True) + "\n"
    ctx.transport.put_atomic(
        index.encode(), folder / FILES_INDEX, mode=0o600, sudo=ctx.state.become
    )


def read_index(ctx: HostContext, folder: PurePosixPath) -> tuple[BackedUpFile, ...]:
    """The companions a backup folder holds, in write order; () for a manifest-only backup.

    Raises:
        ValueError: the index exists but is not one deployer wrote.
    """
    raw = ctx.transport.read(folder / FILES_INDEX, sudo=ctx.state.become)
    if raw is None:
        return ()
    doc = json.loads(raw)
    files: list[BackedUpFile] = []
    for entry in doc["files"]:
        reload = entry.get("reload")
        files.append(
            BackedUpFile(
                path=PurePosixPath(entry["path"]),
                copy=entry["copy"],
                sha256=entry["sha256"],
                mode=int(entry.get("mode", 0o600)),
                reload=None
                if reload is None
                else ReloadEvidence(
                    counter=reload["counter"],
                    labels=dict(reload.get("labels") or {}),
                    info_metric=reload.get("info_metric"),
                ),
            )
        )
    return tuple(files)


def prune_backups(ctx: HostContext, *, keep: int) -> tuple[str, ...]:
    """Remove all but the newest ``keep`` backup folders; return what was removed.

    Called only after the host was changed and verified.
    """
    base = ctx.path(ctx.state.backup_dir)
    listing = ctx.run(
        [
            "find",
            str(base),
            "-mindepth",
            "1",
            "-maxdepth",
            "1",
            "-type",
            "d",
            "-name",
            BACKUP_PREFIX + "*",
        ],
        ok_exit_codes=(0, 1),
    )
    folders = sorted(line for line in listing.stdout.splitlines() if line.strip())
    old = folders[:-keep] if keep > 0 else folders
    if old:
        ctx.run(["rm", "-rf", "--", *old])
    return tuple(old)
