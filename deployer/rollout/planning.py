"""Plan a run: observe every host, then the rules that hold before anything is touched.

What ``plan``, ``apply`` and ``converge`` all start with: the plan per host (one round trip
each, in parallel), the version-skew rule (DESIGN.md rule 11) and what ``kubeadm upgrade``
would revert (rule 13), read once.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping

from deployer.desired import DesiredState
from deployer.engine.kubeadm_sync import KubeadmRead, attach_kubeadm_config, read_kubeadm_config
from deployer.engine.skew import check_skew
from deployer.errors import DeployerError
from deployer.model.manifest import Manifest
from deployer.model.plan import Plan
from deployer.offline import Prepared
from deployer.rollout.background import Background
from deployer.rollout.observe import build_plan
from deployer.transport.base import Transport
from deployer.transport.pool import default_forks

__all__ = ["plan_run"]


class _ReadAhead:
    """kubeadm-config read through the first selected host while the hosts are observed.

    Why: the ConfigMap is read through the first reachable host after the plan (its kubeconfig
    and one HTTPS request: two round trips). Started as soon as that host is connected, it
    overlaps the other hosts' observation instead of adding to the run. The first host being
    unreachable leaves nothing read ahead; the plan then reads through the next one, as before.
    """

    def __init__(self, first: str | None) -> None:
        self._first = first
        self._read: Background[KubeadmRead] = Background("kubeadm-config")

    def on_connected(self, state: DesiredState, transport: Transport) -> None:
        """The plan's hook: start the read in a thread of its own once the first host is up."""
        if state.host.name != self._first or self._read.started:
            return
        self._read.start(lambda: (state.host.name, read_kubeadm_config(state, transport)))

    def result(self) -> KubeadmRead | None:
        """What was read ahead (None if it was not started)."""
        return self._read.result()


def plan_run(
    prepared: Prepared,
    transports: MutableMapping[str, Transport | DeployerError],
    *,
    forks: int | None,
    run_id: str,
) -> Plan:
    """Observe and plan every selected host; check the skew rule; attach kubeadm-config.

    A host that cannot be connected to has its transport replaced by the error
    (:func:`~deployer.rollout.observe.build_plan`).

    Raises:
        InputError: the rollout would break the version-skew rule (nothing touched).
    """

    def rerender(state: DesiredState, digests: Mapping[str, str]) -> Manifest:
        return prepared.renderer.render(state, file_digests=digests)

    ahead = _ReadAhead(prepared.states[0].host.name if prepared.states else None)
    the_plan = build_plan(
        prepared.states,
        prepared.manifests,
        transports,
        forks=default_forks(len(prepared.states), forks),
        run_id=run_id,
        rerender=rerender,
        on_connected=ahead.on_connected,
    )
    check_skew(the_plan.hosts)  # DESIGN.md rule 11, before anything is touched
    return attach_kubeadm_config(the_plan, transports, read_ahead=ahead.result())
