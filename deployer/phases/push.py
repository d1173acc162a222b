"""Push: write each file of a host's set atomically and prove it landed (DESIGN.md rule 2)."""

from __future__ import annotations

from pathlib import PurePosixPath

from deployer.errors import RolloutError
from deployer.model.manifest import Manifest, sha256_hex
from deployer.phases.context import HostContext

__all__ = ["push_file", "push_manifest"]


def push_manifest(ctx: HostContext, manifest: Manifest) -> None:
    """Write ``manifest`` over the live one (temp dot-file, fsync, 0600, root, rename, fsync).

    Raises:
        RolloutError: the bytes read back differ from the bytes written.
    """
    push_file(ctx, manifest.path, manifest.content, sha256=manifest.sha256)


def push_file(
    ctx: HostContext,
    path: PurePosixPath,
    content: bytes,
    *,
    sha256: str,
    mode: int = 0o600,
    owner: str | None = None,
    make_parent: bool = False,
) -> None:
    """Write one file of the set: the transport's atomic write, then read it back.

    ``put_atomic`` writes a dot temp file in the same folder, fsyncs it and renames it over the
    target, and removes the temp file when a step fails; so a failure leaves either the old
    file or the new one, and never a half-written file (nor a non-dot stray in the manifests
    folder, which kubelet would run as a second pod).

    With ``make_parent`` (a companion file), a missing parent folder is created first (0755):
    the temp file must be written in the target's own folder for the rename to be atomic.

    Raises:
        RolloutError: the bytes read back differ from the bytes written.
    """
    target = ctx.path(path)
    if make_parent:
        ctx.run(["mkdir", "-p", "-m", "0755", str(target.parent)])
    ctx.transport.put_atomic(content, target, mode=mode, sudo=ctx.state.become)
    if owner is not None:
        ctx.run(["chown", owner, str(target)])
    back = ctx.transport.read(target, sudo=ctx.state.become)
    if back is None or sha256_hex(back) != sha256:
        raise RolloutError(
            f"the file read back from {path} is not the one written",
            host=ctx.name,
            phase="push",
            hint="something else writes this file (a config manager?); stop it first",
        )
