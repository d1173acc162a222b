"""Plan a run: observe every host, then the rules that hold before anything is touched.

What ``plan``, ``apply`` and ``converge`` all start with: the plan per host (one round trip
each, in parallel), the version-skew rule (DESIGN.md rule 11) and what ``kubeadm upgrade``
would revert (rule 13), read once.
"""

from __future__ import annotations

from collections.abc import Mapping

from deployer.desired import DesiredState
from deployer.engine.kubeadm_sync import attach_kubeadm_config
from deployer.engine.skew import check_skew
from deployer.errors import DeployerError
from deployer.model.manifest import Manifest
from deployer.model.plan import Plan
from deployer.offline import Prepared
from deployer.rollout.observe import build_plan
from deployer.transport.base import Transport
from deployer.transport.pool import default_forks

__all__ = ["plan_run"]


def plan_run(
    prepared: Prepared,
    transports: Mapping[str, Transport | DeployerError],
    *,
    forks: int | None,
    run_id: str,
) -> Plan:
    """Observe and plan every selected host; check the skew rule; attach kubeadm-config.

    Raises:
        InputError: the rollout would break the version-skew rule (nothing touched).
    """

    def rerender(state: DesiredState, digests: Mapping[str, str]) -> Manifest:
        return prepared.renderer.render(state, file_digests=digests)

    the_plan = build_plan(
        prepared.states,
        prepared.manifests,
        dict(transports),
        forks=default_forks(len(prepared.states), forks),
        run_id=run_id,
        rerender=rerender,
    )
    check_skew(the_plan.hosts)  # DESIGN.md rule 11, before anything is touched
    return attach_kubeadm_config(the_plan, transports)
