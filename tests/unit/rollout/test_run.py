"""The run's policy: the one exit-code function, the degraded refusal, ``--check``'s preflight."""

from __future__ import annotations

import dataclasses

import pytest
from simhost import MANIFEST_PATH, MANIFESTS, SimHost, manifest

from deployer.desired import desired_state
from deployer.errors import ExitCode
from deployer.model.events import NullReporter
from deployer.model.manifest import Manifest
from deployer.model.plan import Plan
from deployer.model.report import HostReport, Outcome
from deployer.rollout.outcome import Ending, run_exit_code
from deployer.rollout.plan import plan_host
from deployer.rollout.run import check_hosts, refuse_degraded

OLD = manifest("v1.31.13")
NEW = manifest("v1.31.13", "--audit-log-maxage=30")


def _reports(*outcomes: Outcome) -> tuple[HostReport, ...]:
    return tuple(HostReport(f"cp{i}", o) for i, o in enumerate(outcomes, 1))


@pytest.mark.parametrize(
    ("outcomes", "ending", "code"),
    [
        ((Outcome.CHANGED, Outcome.CHANGED), Ending.COMPLETED, ExitCode.OK),
        ((Outcome.CHANGED, Outcome.SKIPPED), Ending.STOPPED, ExitCode.ROLLED_BACK),
        ((Outcome.CHANGED, Outcome.CHANGED), Ending.STOPPED, ExitCode.OK),
        ((Outcome.ROLLED_BACK, Outcome.SKIPPED), Ending.COMPLETED, ExitCode.ROLLED_BACK),
        ((Outcome.ROLLBACK_FAILED, Outcome.SKIPPED), Ending.STOPPED, ExitCode.ROLLBACK_FAILED),
        ((Outcome.PENDING,), Ending.COMPLETED, ExitCode.PENDING),
        ((Outcome.SKIPPED,), Ending.INTERRUPTED, ExitCode.ROLLED_BACK),
        ((Outcome.CHANGED, Outcome.ROLLBACK_FAILED), Ending.ABORTED, ExitCode.ROLLBACK_FAILED),
        ((Outcome.SKIPPED, Outcome.UNREACHABLE), Ending.REFUSED, ExitCode.UNREACHABLE),
        ((Outcome.SKIPPED, Outcome.SKIPPED), Ending.REFUSED, ExitCode.ROLLED_BACK),
        ((Outcome.ROLLED_BACK,), Ending.REPAIRED, ExitCode.ROLLED_BACK),
        ((Outcome.ROLLBACK_FAILED,), Ending.REPAIRED, ExitCode.ROLLBACK_FAILED),
    ],
)
def test_run_exit_code(outcomes: tuple[Outcome, ...], ending: Ending, code: ExitCode) -> None:
    assert run_exit_code(_reports(*outcomes), ending) is code


def _plan(host: SimHost, desired: bytes = NEW) -> Plan:
    state, problems = desired_state(host.host)
    assert problems == []
    observed = host.observe(host.transport, state)
    return Plan(
        "run-1", (plan_host(state, Manifest.from_content(MANIFEST_PATH, desired), observed),)
    )


def test_check_refuses_what_preflight_would_refuse_and_touches_nothing() -> None:
    host = SimHost(OLD, files={MANIFESTS / "kube-apiserver.yaml.bak": b"old copy"})
    plan = _plan(host)
    refused = check_hosts(plan, {"cp1": host.transport}, clock=host.clock, reporter=NullReporter())
    assert set(refused) == {"cp1"}
    assert "stray files" in refused["cp1"].message
    assert host.transport.puts == []
    forced = check_hosts(
        plan, {"cp1": host.transport}, clock=host.clock, reporter=NullReporter(), force=True
    )
    assert forced == {}


def test_check_passes_a_change_preflight_accepts() -> None:
    host = SimHost(OLD)
    plan = _plan(host)
    assert (
        check_hosts(plan, {"cp1": host.transport}, clock=host.clock, reporter=NullReporter()) == {}
    )


def test_degraded_control_plane_refuses_with_pending_hosts_skipped() -> None:
    plan = _plan(SimHost(OLD))
    unready = dataclasses.replace(plan.hosts[0], is_ready=False, ready_detail="etcd failed")
    degraded = Plan(plan.run_id, (unready,))
    reports = (HostReport("cp1", Outcome.PENDING),)
    refusal = refuse_degraded(degraded, reports, force=False)
    assert refusal is not None
    assert "cp1 (etcd failed)" in refusal.message
    assert [r.outcome for r in refusal.reports] == [Outcome.SKIPPED]
    assert run_exit_code(refusal.reports, Ending.REFUSED) is ExitCode.ROLLED_BACK
    assert refuse_degraded(degraded, reports, force=True) is None
    assert refuse_degraded(plan, reports, force=False) is None
