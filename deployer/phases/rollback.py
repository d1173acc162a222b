"""Roll a failed host back to its backup, then verify it again (kubeadm does not; we do).

Why verify the rollback: "restored" only means something if the old apiserver is back and
ready; if it is not, the operator must know at once (exit 4) with the exact commands to
recover by hand, because this control-plane host may now have no working apiserver.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from pathlib import PurePosixPath

from deployer.errors import DeployerError, RolloutError, UnreachableError
from deployer.facts.crictl import ContainerInfo
from deployer.model.events import EventKind, poll_until
from deployer.phases.backup import FILES_INDEX, BackedUpFile, read_index
from deployer.phases.context import HostContext
from deployer.phases.reload import read_reloads, wait_for_reloads
from deployer.phases.restart import list_containers
from deployer.phases.restore import restore_companions
from deployer.phases.verify import VerifyFailed, VerifyReport, read_credentials, verify_host
from deployer.podspec.compare import same_pod
from deployer.report.masking import mask_secrets

__all__ = ["RollbackResult", "collect_evidence", "recovery_commands", "rollback_host"]


@dataclass(frozen=True, slots=True)
class RollbackResult:
    """How the rollback went."""

    ok: bool
    detail: str
    verify: VerifyReport | None = None


def collect_evidence(ctx: HostContext, container_id: str | None, *, tail: int = 20) -> str:
    """The failed container's last log lines (masked), for the report and the console."""
    if not container_id:
        return ""
    result = ctx.run(
        [ctx.state.crictl, "logs", "--tail", str(tail), container_id],
        ok_exit_codes=range(256),
        timeout_s=30,
    )
    text = (result.stdout + result.stderr).strip()
    return mask_secrets(text)


def recovery_commands(
    ctx: HostContext, backup: PurePosixPath | None, *, companions: bool = False
) -> str:
    """Commands an operator runs on the host to put the backup back by hand.

    With ``companions``, the backup also holds the set's companion files: they go back first.
    """
    manifest = ctx.path(ctx.state.manifest_path)
    if backup is None:
        return f"no backup exists (first install); remove {manifest} to stop the new pod"
    tmp = manifest.parent / f".{manifest.name}.restore"
    sudo = "sudo " if ctx.state.become or ctx.state.host.user not in (None, "root") else ""
    host = ctx.state.host
    login = f"{host.user}@{host.address}" if host.user else host.address
    first = (
        [
            f"# first the companion files: each `copy` in {backup / FILES_INDEX} goes back"
            " to its `path` (install -m <mode>); a file whose `copy` is null is deleted"
        ]
        if companions
        else []
    )
    return "\n".join(
        [
            f"ssh -p {host.port} {login}",
            *first,
            f"{sudo}install -m 0600 {backup / manifest.name} {tmp}",
            f"{sudo}mv -f {tmp} {manifest}",
            f"{sudo}{ctx.state.crictl} ps -a --name kube-apiserver   # wait for a new running one",
            f"{sudo}{ctx.state.crictl} logs --tail 50 <container id>",
        ]
    )


def rollback_host(
    ctx: HostContext,
    *,
    backup: PurePosixPath | None,
    live: bytes | None,
    old_pod_uid: str | None,
    failed_pod_uids: Collection[str],
    pushed: bytes | None = None,
) -> RollbackResult:
    """Restore the previous files (companions, then the manifest), wait for its pod, verify.

    The restored manifest parses to the pod that ran before, and kubelet's pod uid is a hash
    of the parsed pod: so the rollback is done when a container of ``old_pod_uid`` runs (the
    old container, if kubelet never switched, or a new one). With no such pod known, any
    running container outside the failed pods will do. When the restored manifest is the same
    pod as the ``pushed`` one after the API's defaults, kubelet restarts nothing either way:
    the running container is the one to verify; and a companion the apiserver reloads by
    itself is then waited for by its reload evidence, as on the way forward.

    Never raises for an ordinary failure: the caller turns the result into exit 3 or 4.

    Raises:
        UnreachableError: the connection was lost; the caller reconnects and calls again.
    """
    manifest_path = ctx.path(ctx.state.manifest_path)
    try:
        entries = read_index(ctx, backup) if backup is not None else ()
        reloads = [(e.path, e.sha256, e.reload) for e in entries if e.reload and e.sha256]
        creds = None
        if reloads:
            # Without credentials the restore still happens; only its reload wait is skipped
            # (verify below reads the kubeconfig again and says what is wrong).
            try:
                creds = read_credentials(ctx)
            except RolloutError:
                creds = None
        before = read_reloads(ctx, creds, [(p, r) for p, _, r in reloads]) if creds else {}
        # Companions first, the manifest last: the pod kubelet starts from the restored
        # manifest must find its files as they were.
        restore_companions(ctx, backup)
        if live is None:
            # First install failed: take our manifest out of the folder (into the backup), so
            # kubelet stops the pod; the host is as it was before the run.
            target = backup / f"{manifest_path.name}.rejected" if backup else None
            if target is not None:
                ctx.run(["mv", "-f", str(manifest_path), str(target)])
            else:
                ctx.run(["rm", "-f", str(manifest_path)])
            return RollbackResult(True, "the new manifest was removed (there was none before)")
        content = None
        if backup is not None:
            content = ctx.transport.read(backup / manifest_path.name, sudo=ctx.state.become)
        ctx.transport.put_atomic(content or live, manifest_path, mode=0o600, sudo=ctx.state.become)
        restored = content or live
        unchanged_pod = pushed is not None and same_pod(restored, pushed)
        if unchanged_pod:
            ctx.emit(
                "rollback",
                EventKind.INFO,
                "the restored manifest is the same pod: no restart, no wait",
            )

        def probe() -> ContainerInfo | None:
            for container in list_containers(ctx) or ():
                if not container.is_running:
                    continue
                if unchanged_pod:
                    return container
                if old_pod_uid is not None and container.pod_uid == old_pod_uid:
                    return container
                if old_pod_uid is None and container.pod_uid not in failed_pod_uids:
                    return container
            return None

        ctx.emit("rollback", EventKind.WAIT, "waiting for the previous kube-apiserver to run again")
        found = poll_until(ctx.clock, probe, timeout_s=ctx.state.restart_timeout_s, interval_s=0.25)
        if found is None:
            return RollbackResult(
                False,
                f"the previous manifest was restored but no kube-apiserver ran from it within "
                f"{ctx.state.restart_timeout_s:g}s",
            )
        if unchanged_pod and creds is not None:
            wait_for_reloads(
                ctx,
                creds,
                [(p, sha, r) for p, sha, r in reloads],
                before,
                timeout_s=ctx.state.restart_timeout_s,
                phase="rollback",
                restored=True,
            )
        report = verify_host(
            ctx, manifest=restored, container_id=found.id, soak_s=0, phase="rollback"
        )
        return RollbackResult(True, _restored(entries), report)
    except VerifyFailed as exc:
        return RollbackResult(
            False, f"the restored apiserver failed verification: {exc}", exc.report
        )
    except UnreachableError:
        raise  # the caller reconnects and tries again (every step here is safe to repeat)
    except (RolloutError, DeployerError, OSError, ValueError, KeyError) as exc:
        return RollbackResult(False, f"rollback step failed: {exc}")


def _restored(entries: tuple[BackedUpFile, ...]) -> str:
    if not entries:
        return "previous manifest restored and verified"
    return f"previous manifest and {len(entries)} companion file(s) restored and verified"
