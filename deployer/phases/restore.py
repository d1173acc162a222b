"""Restore a backup's companion files, every one, and prove each is as it was.

Why every file and why verified: the set (companions + manifest) changed as one, so it goes
back as one (DESIGN.md rule 12); a companion left new beside a restored manifest is a
configuration nobody planned. A file the host did not have before is deleted. Each step is
safe to repeat (an atomic write of the same bytes, ``rm -f``), so the caller may retry the
whole restore after a reconnection.
"""

from __future__ import annotations

from pathlib import PurePosixPath

from deployer.errors import RolloutError
from deployer.model.manifest import sha256_hex
from deployer.phases.backup import BackedUpFile, read_index
from deployer.phases.context import HostContext

__all__ = ["restore_companions"]


def restore_companions(
    ctx: HostContext, backup: PurePosixPath | None, *, phase: str = "rollback"
) -> tuple[BackedUpFile, ...]:
    """Put back every companion of ``backup`` (or delete it when it was absent); verify each.

    Returns the restored entries (empty for a manifest-only backup).

    Raises:
        RolloutError: a copy is missing from the backup, or a file reads back otherwise.
    """
    if backup is None:
        return ()
    try:
        entries = read_index(ctx, backup)
    except (ValueError, KeyError, TypeError) as exc:
        raise RolloutError(
            f"the backup's file index {backup} is unreadable: {exc}", host=ctx.name, phase=phase
        ) from exc
    for entry in entries:
        target = ctx.path(entry.path)
        if entry.copy is None:
            ctx.run(["rm", "-f", "--", str(target)])
        else:
            content = ctx.transport.read(backup / entry.copy, sudo=ctx.state.become)
            if content is None or sha256_hex(content) != entry.sha256:
                raise RolloutError(
                    f"the backup copy of {entry.path} is missing or damaged in {backup}",
                    host=ctx.name,
                    phase=phase,
                )
            ctx.transport.put_atomic(content, target, mode=entry.mode, sudo=ctx.state.become)
    for entry in entries:
        back = ctx.transport.read(ctx.path(entry.path), sudo=ctx.state.become)
        now = sha256_hex(back) if back is not None else None
        if now != entry.sha256:
            raise RolloutError(
                f"{entry.path} does not read back as it was before the run after the restore",
                host=ctx.name,
                phase=phase,
            )
    return entries
