"""Push: write the desired manifest atomically and prove it landed (DESIGN.md rule 2)."""

from __future__ import annotations

from deployer.errors import RolloutError
from deployer.model.manifest import Manifest, sha256_hex
from deployer.phases.context import HostContext

__all__ = ["push_manifest"]


def push_manifest(ctx: HostContext, manifest: Manifest) -> None:
    """Write ``manifest`` over the live one (temp dot-file, fsync, 0600, root, rename, fsync).

    Raises:
        RolloutError: the bytes read back differ from the bytes written.
    """
    path = ctx.path(manifest.path)
    ctx.transport.put_atomic(manifest.content, path, mode=0o600, sudo=ctx.state.become)
    back = ctx.transport.read(path, sudo=ctx.state.become)
    if back is None or sha256_hex(back) != manifest.sha256:
        raise RolloutError(
            f"the manifest read back from {manifest.path} is not the one written",
            host=ctx.name,
            phase="push",
            hint="something else writes this file (a config manager?); stop it first",
        )
