"""Wait for evidence that kubelet restarted the apiserver before any health check (rule 4).

Why evidence first: until kubelet replaced the container, ``/readyz`` is answered by the OLD
apiserver and would "verify" a change that has not happened. The evidence is crictl's: a
running kube-apiserver container of a pod that did not exist before the push (a manifest
change gives a new pod uid; a crash of the same pod does not).
"""

from __future__ import annotations

from collections.abc import Collection

from deployer.errors import RolloutError
from deployer.facts.crictl import ContainerInfo, ParseError, parse_ps
from deployer.model.events import EventKind, poll_until
from deployer.model.report import RestartRecord
from deployer.phases.context import HostContext

__all__ = ["ContainerExited", "RestartRecord", "list_containers", "wait_for_new_pod"]


class ContainerExited(RolloutError):
    """The new apiserver container exited (it crashes at start)."""

    def __init__(self, message: str, *, host: str, phase: str, container_id: str) -> None:
        super().__init__(message, host=host, phase=phase)
        self.container_id = container_id


def list_containers(ctx: HostContext) -> tuple[ContainerInfo, ...] | None:
    """``crictl ps -a`` for kube-apiserver containers; None when crictl fails."""
    result = ctx.run(
        [ctx.state.crictl, "ps", "-a", "-o", "json", "--name", "^kube-apiserver$"],
        ok_exit_codes=range(256),
        timeout_s=30,
    )
    if not result.ok:
        return None
    try:
        return parse_ps(result.stdout)
    except ParseError:
        return None


def wait_for_new_pod(
    ctx: HostContext,
    *,
    old_ids: Collection[str],
    old_pod_uid: str | None,
    old_id: str | None,
    timeout_s: float,
    phase: str = "restart",
) -> RestartRecord:
    """Poll crictl until a container of a new pod runs; fail fast if it exits instead.

    "New" means a container crictl did not list before the push (``old_ids``) in a pod other
    than the one that ran before (``old_pod_uid``). Going back to an earlier manifest gives
    back that earlier pod uid, so uids seen in the past are not excluded, only the current one;
    and a crash of the current pod keeps its uid, so it is never taken for the restart.

    Raises:
        ContainerExited: the new pod's container exited (crash at start).
        RolloutError: no new pod within ``timeout_s`` (kubelet did not act).
    """
    started = ctx.clock.monotonic()
    ctx.emit(
        phase,
        EventKind.WAIT,
        f"waiting for kubelet to restart kube-apiserver (up to {timeout_s:g}s)",
    )

    def probe() -> ContainerInfo | ContainerExited | None:
        containers = list_containers(ctx)
        if containers is None:
            return None
        fresh = [c for c in containers if c.id not in old_ids and c.pod_uid != old_pod_uid]
        for container in fresh:
            if container.is_running:
                return container
        exited = [c for c in fresh if c.state == "CONTAINER_EXITED"]
        if exited:
            return ContainerExited(
                f"the new kube-apiserver container {exited[0].id[:13]} exited "
                f"(restarts: {exited[0].restart_count})",
                host=ctx.name,
                phase=phase,
                container_id=exited[0].id,
            )
        return None

    found = poll_until(ctx.clock, probe, timeout_s=timeout_s, interval_s=0.25)
    if isinstance(found, ContainerExited):
        raise found
    if not isinstance(found, ContainerInfo):
        raise RolloutError(
            f"kubelet did not start a new kube-apiserver pod within {timeout_s:g}s "
            "(is kubelet running? does it watch this manifests folder?)",
            host=ctx.name,
            phase=phase,
            hint="check `systemctl status kubelet` and `journalctl -u kubelet` on the host",
        )
    return RestartRecord(
        old_id=old_id, new_id=found.id, seconds=round(ctx.clock.monotonic() - started, 3)
    )
