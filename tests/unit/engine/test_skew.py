"""The version-skew rule: what a rollout may do to a control plane's kube-apiserver minors."""

from __future__ import annotations

from pathlib import PurePosixPath
from types import MappingProxyType

import pytest

from deployer.desired import desired_state
from deployer.engine.skew import check_skew, running_minor, skew_problems
from deployer.errors import ExitCode, InputError
from deployer.facts.observe import DirEntry, HostObservation
from deployer.model.host import Host, VarOrigin
from deployer.model.manifest import Manifest
from deployer.model.plan import HostPlan
from deployer.rollout.plan import plan_host

PATH = PurePosixPath("/etc/kubernetes/manifests/kube-apiserver.yaml")


def _manifest(version: str) -> bytes:
    return (
        "apiVersion: v1\nkind: Pod\nmetadata: {name: kube-apiserver, namespace: kube-system}\n"
        "spec:\n  containers:\n  - name: kube-apiserver\n"
        f"    image: registry.k8s.io/kube-apiserver:v{version}\n"
        "    command: [kube-apiserver, --secure-port=6443]\n"
    ).encode()


def _plan(name: str, running: str | None, target: str) -> HostPlan:
    origins = {"kubernetes_version": VarOrigin("host", "host_vars/cp.yml", 2)}
    host = Host(
        name=name,
        address="10.0.0.1",
        vars=MappingProxyType({"kubernetes_version": target}),
        origins=MappingProxyType(origins),
    )
    state, problems = desired_state(host)
    assert problems == []
    observed = HostObservation(
        manifest=None if running is None else _manifest(running),
        listing=(DirEntry("kube-apiserver.yaml", "f"),),
        containers=(),
        running_args=None,
        kubelet_rc=0,
    )
    return plan_host(
        state, Manifest.from_content(PATH, _manifest(state.kubernetes_version)), observed
    )


def test_running_minor_comes_from_the_live_image_tag() -> None:
    assert running_minor(_plan("cp1", "1.35.7", "1.36")) == "1.35"
    assert running_minor(_plan("cp1", None, "1.36")) is None


@pytest.mark.parametrize(
    "hosts",
    [
        [("cp1", "1.35.7", "1.36"), ("cp2", "1.35.7", "1.36"), ("cp3", "1.35.7", "1.36")],
        [("cp1", "1.36.3", "1.36"), ("cp2", "1.35.7", "1.36"), ("cp3", "1.35.7", "1.35")],
        [("cp1", "1.36.3", "1.35"), ("cp2", "1.36.3", "1.35")],
        [("cp1", None, "1.37"), ("cp2", "1.36.3", "1.37")],
    ],
    ids=["one-minor-upgrade", "half-way", "one-minor-downgrade", "new-host"],
)
def test_rollouts_within_one_minor_go_ahead(hosts: list[tuple[str, str | None, str]]) -> None:
    assert skew_problems([_plan(*h) for h in hosts]) == []


def test_a_jump_of_two_minors_is_refused_naming_the_host_and_the_step() -> None:
    plans = [_plan("cp1", "1.34.10", "1.36"), _plan("cp2", "1.34.10", "1.36")]
    with pytest.raises(InputError) as caught:
        check_skew(plans)
    assert caught.value.exit_code is ExitCode.INVALID_INPUT
    first = caught.value.problems[0]
    assert first.message == (
        "cp1 runs 1.34; kubernetes_version 1.36 is an upgrade of more than one minor in one rollout"
    )
    assert first.hint == "roll out 1.35 to every host first, then the next minor"
    assert first.location() == "host_vars/cp.yml:2"
    assert [p.host for p in caught.value.problems] == ["cp1", "cp2"]


def test_hosts_already_two_minors_apart_are_refused_before_anything_else() -> None:
    plans = [_plan("cp1", "1.33.13", "1.34"), _plan("cp2", "1.35.7", "1.35")]
    (problem,) = skew_problems(plans)
    assert problem.message == (
        "the control plane already spans 1.33 (cp1) to 1.35 (cp2): more than one minor apart, "
        "against the upstream skew policy"
    )


def test_a_rollout_that_would_span_two_minors_while_it_runs_is_refused() -> None:
    plans = [_plan("cp1", "1.35.7", "1.35"), _plan("cp2", "1.36.3", "1.37")]
    (problem,) = skew_problems(plans)
    assert problem.message == (
        "during this rollout the control plane would span 1.35 (cp1) to 1.37 (cp2, after this "
        "rollout): "
        "more than one minor apart"
    )
