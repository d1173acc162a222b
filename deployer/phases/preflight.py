"""Preflight: re-check the plan against the live host and refuse to start on a bad host.

Why re-check: a plan can be minutes old; if someone changed the manifest since, deployer must
touch nothing on that host (DESIGN.md rule 3). Files the new flags reference must exist, or
the new apiserver would exit at start and the host would need a rollback it did not have to;
for the same reason the serving and etcd client certificates must fit (``tls_check``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from deployer.companions.planning import live_facts
from deployer.desired import DesiredState
from deployer.errors import RolloutError
from deployer.facts.observe import HostObservation
from deployer.model.manifest import sha256_hex
from deployer.model.plan import HostPlan
from deployer.phases.context import HostContext
from deployer.phases.observe import observe_host
from deployer.phases.tls_check import tls_problems
from deployer.render.paths import referenced_files
from deployer.transport.base import Transport

__all__ = ["Observe", "PreflightFailed", "StalePlan", "preflight"]

#: How a host is observed: :func:`deployer.phases.observe.observe_host` (one round trip); the
#: unit tests give one that reads their fake host's files and containers.
Observe = Callable[[Transport, DesiredState], HostObservation]

#: Free space (KiB) the manifests and backup folders need: two manifests and a record, x10.
_MIN_FREE_KIB = 1024

_CHECK_SCRIPT = r"""
min=$1; shift
for d in "$1" "$2"; do
  avail=$(df -Pk "$d" 2>/dev/null | awk 'NR==2 {print $4}')
  [ -n "$avail" ] && [ "$avail" -lt "$min" ] && echo "lowspace $d $avail"
done
shift 2
for p; do [ -e "$p" ] || echo "missing $p"; done
exit 0
"""


class StalePlan(RolloutError):
    """The live manifest changed since the plan was made; nothing was touched."""


class PreflightFailed(RolloutError):
    """The host is not fit for the change; nothing was touched."""


@dataclass(frozen=True, slots=True)
class PreflightResult:
    """What preflight saw, handed to the next phases."""

    observation: HostObservation


def preflight(
    ctx: HostContext, plan: HostPlan, *, force: bool = False, observe: Observe = observe_host
) -> PreflightResult:
    """Re-observe the host, compare with the plan, check files, space and kubelet.

    Raises:
        StalePlan: the live manifest's digest differs from the planned one.
        PreflightFailed: missing files, no space, kubelet down, stray files (unless forced).
    """
    observation = observe(ctx.transport, ctx.state)
    live = sha256_hex(observation.manifest) if observation.manifest is not None else None
    if live != plan.live_sha256:
        raise StalePlan(
            f"the live manifest changed since it was planned (planned {_short(plan.live_sha256)},"
            f" now {_short(live)}); nothing was touched on this host",
            host=ctx.name,
            phase="preflight",
            hint="run plan again, review the new diff, then apply",
        )
    _check_companions_unchanged(ctx, plan, observation)
    problems: list[str] = []
    strays = observation.stray_files(ctx.state.manifest_path.name)
    if strays and not force:
        problems.append(
            "stray files in the manifests folder run as extra pods: "
            + ", ".join(strays)
            + f" (move them out of {ctx.state.manifest_dir})"
        )
    if observation.kubelet_rc not in (None, 0):
        problems.append(f"kubelet is not running (check exited {observation.kubelet_rc})")
    if observation.listing is None:
        problems.append(f"the manifests folder {ctx.state.manifest_dir} does not exist")
    # A file the rollout writes as a companion need not exist yet: it arrives with the manifest.
    written = {str(c.path) for c in ctx.state.companions}
    files = [f for f in referenced_files(ctx.state.flags) if str(f.path) not in written]
    paths = [str(ctx.path(f.path)) for f in files if not f.is_dir and f.is_absolute]
    dirs = [str(ctx.path(ctx.state.manifest_dir)), str(ctx.path(ctx.state.backup_dir))]
    check = ctx.run(
        ["sh", "-c", _CHECK_SCRIPT, "deployer-preflight", str(_MIN_FREE_KIB), *dirs, *paths]
    )
    root = ctx.state.host_root.rstrip("/")
    for line in check.stdout.splitlines():
        kind, _, rest = line.partition(" ")
        if kind == "missing":
            shown = rest[len(root) :] if root and rest.startswith(root + "/") else rest
            flag = next((f.flag for f in files if str(ctx.path(f.path)) == rest), "?")
            problems.append(f"--{flag} names {shown}, which does not exist on the host")
        elif kind == "lowspace":
            problems.append(f"less than {_MIN_FREE_KIB} KiB free for {rest}")
    problems += tls_problems(ctx, observation.ca_pem)
    if problems:
        raise PreflightFailed(
            "; ".join(problems) + "; nothing was touched on this host",
            host=ctx.name,
            phase="preflight",
            hint="fix the host (or the inventory) and run again",
        )
    return PreflightResult(observation=observation)


def _check_companions_unchanged(
    ctx: HostContext, plan: HostPlan, observation: HostObservation
) -> None:
    """Refuse when a companion file changed on the host since it was planned (a stale plan).

    The backup must hold what the plan's diff was computed against; a file someone edited in
    between would be overwritten unseen.
    """
    seen = live_facts(observation)
    for change in plan.companion_changes:
        fact = seen.get(change.file.path)
        if fact is None:
            continue  # not observed this time: the manifest's check stands
        now = fact.sha256
        if now != change.live_sha256:
            raise StalePlan(
                f"{change.file.path} changed since it was planned (planned"
                f" {_short(change.live_sha256)}, now {_short(now)}); nothing was touched on"
                " this host",
                host=ctx.name,
                phase="preflight",
                hint="run plan again, review the new diff, then apply",
            )


def _short(digest: str | None) -> str:
    return "absent" if digest is None else digest[:12]
