"""The planner decides from data alone: every case here is an observation and a manifest."""

from __future__ import annotations

from pathlib import PurePosixPath

import pytest

from deployer.desired import desired_state
from deployer.errors import DeployerError, ExitCode
from deployer.facts.crictl import ContainerInfo
from deployer.facts.observe import DirEntry, HostObservation
from deployer.locks import LockHeld
from deployer.model.host import Host
from deployer.model.manifest import Manifest
from deployer.model.plan import ChangeKind
from deployer.model.report import HostReport, Outcome
from deployer.rollout.outcome import exit_code_for_run
from deployer.rollout.plan import plan_host

MANIFEST = b"""apiVersion: v1
kind: Pod
metadata: {name: kube-apiserver, namespace: kube-system}
spec:
  containers:
  - name: kube-apiserver
    image: registry.k8s.io/kube-apiserver:v1.31.13
    command: [kube-apiserver, --audit-log-maxage=30, --secure-port=6443]
"""


def _state() -> object:
    state, problems = desired_state(Host(name="cp1", address="10.0.0.1"))
    assert problems == []
    return state


def _observed(
    manifest: bytes | None, *, running_args: tuple[str, ...] | None = None, running: bool = True
) -> HostObservation:
    container = ContainerInfo(
        id="c" * 64,
        name="kube-apiserver",
        state="CONTAINER_RUNNING" if running else "CONTAINER_EXITED",
        created_at_ns=1,
        pod_name="kube-apiserver-cp1",
        pod_uid="u" * 32,
        attempt=0,
        restart_count=0 if running else 5,
    )
    return HostObservation(
        manifest=manifest,
        listing=(DirEntry("kube-apiserver.yaml", "f"),),
        containers=(container,),
        running_args=running_args,
        kubelet_rc=0,
    )


def _desired(content: bytes) -> Manifest:
    return Manifest.from_content(
        PurePosixPath("/etc/kubernetes/manifests/kube-apiserver.yaml"), content
    )


def test_identical_bytes_are_in_sync() -> None:
    plan = plan_host(_state(), _desired(MANIFEST), _observed(MANIFEST))  # type: ignore[arg-type]
    assert plan.kind is ChangeKind.NONE
    assert not plan.needs_change


def test_absent_manifest_is_a_create_with_every_flag_added() -> None:
    plan = plan_host(_state(), _desired(MANIFEST), _observed(None))  # type: ignore[arg-type]
    assert plan.kind is ChangeKind.CREATE
    assert plan.diff.startswith("--- /dev/null")
    assert [str(c) for c in plan.flag_changes] == [
        "+ --audit-log-maxage=30",
        "+ --secure-port=6443",
    ]


def test_flag_change_is_summarised_per_flag() -> None:
    new = MANIFEST.replace(b"--audit-log-maxage=30", b"--audit-log-maxage=60")
    plan = plan_host(_state(), _desired(new), _observed(MANIFEST))  # type: ignore[arg-type]
    assert plan.kind is ChangeKind.UPDATE
    assert plan.needs_restart
    assert [str(c) for c in plan.flag_changes] == ["~ --audit-log-maxage: 30 -> 60"]
    assert "-    command: [kube-apiserver, --audit-log-maxage=30" in plan.diff


def test_cosmetic_change_needs_no_restart() -> None:
    reformatted = MANIFEST.replace(
        b"metadata: {name: kube-apiserver, namespace: kube-system}",
        b"metadata:\n  namespace: kube-system\n  name: kube-apiserver",
    )
    plan = plan_host(_state(), _desired(reformatted), _observed(MANIFEST))  # type: ignore[arg-type]
    assert plan.kind is ChangeKind.COSMETIC
    assert plan.needs_change and not plan.needs_restart


def test_running_container_that_differs_from_the_file_is_noted() -> None:
    observed = _observed(
        MANIFEST, running_args=("kube-apiserver", "--audit-log-maxage=7", "--secure-port=6443")
    )
    plan = plan_host(_state(), _desired(MANIFEST), observed)  # type: ignore[arg-type]
    assert plan.kind is ChangeKind.NONE
    assert any("does not match the manifest on disk" in n and "7 -> 30" in n for n in plan.notes)


def test_strays_and_a_dead_apiserver_are_noted() -> None:
    observed = _observed(MANIFEST, running=False)
    observed = HostObservation(
        manifest=observed.manifest,
        listing=(
            DirEntry("kube-apiserver.yaml", "f"),
            DirEntry("kube-apiserver.yaml.bak", "f"),
            DirEntry(".kube-apiserver.yaml.x", "f"),
        ),
        containers=observed.containers,
        running_args=None,
        kubelet_rc=3,
    )
    plan = plan_host(_state(), _desired(MANIFEST), observed)  # type: ignore[arg-type]
    notes = " | ".join(plan.notes)
    assert "kube-apiserver.yaml.bak" in notes and ".kube-apiserver.yaml.x" not in notes
    assert "no running kube-apiserver container" in notes
    assert "kubelet is not running" in notes


def test_unreachable_host_plans_nothing() -> None:
    plan = plan_host(_state(), _desired(MANIFEST), None, unreachable="refused")  # type: ignore[arg-type]
    assert plan.unreachable == "refused" and not plan.needs_change


@pytest.mark.parametrize(
    ("outcomes", "code"),
    [
        ([Outcome.UNCHANGED, Outcome.CHANGED], ExitCode.OK),
        ([Outcome.PENDING, Outcome.UNCHANGED], ExitCode.PENDING),
        ([Outcome.UNREACHABLE, Outcome.PENDING], ExitCode.UNREACHABLE),
        ([Outcome.ROLLED_BACK, Outcome.SKIPPED, Outcome.UNREACHABLE], ExitCode.ROLLED_BACK),
        ([Outcome.ROLLED_BACK, Outcome.ROLLBACK_FAILED], ExitCode.ROLLBACK_FAILED),
        ([Outcome.FAILED, Outcome.SKIPPED], ExitCode.ROLLED_BACK),
    ],
)
def test_exit_code_takes_the_most_severe_outcome(outcomes: list[Outcome], code: ExitCode) -> None:
    reports = [HostReport(f"h{i}", o) for i, o in enumerate(outcomes)]
    assert exit_code_for_run(reports) is code


def test_a_host_failing_on_a_lock_exits_7() -> None:
    held = LockHeld(path="/x", holder=None, host="cp1")
    reports = [HostReport("cp1", Outcome.FAILED, error=held), HostReport("cp2", Outcome.SKIPPED)]
    assert exit_code_for_run(reports) is ExitCode.LOCKED
    other = [HostReport("cp1", Outcome.FAILED, error=DeployerError("stale"))]
    assert exit_code_for_run(other) is ExitCode.ROLLED_BACK


def test_kubeadm_null_fields_are_the_same_pod_for_kubelet() -> None:
    kubeadm_written = MANIFEST.replace(
        b"metadata: {name: kube-apiserver, namespace: kube-system}",
        b"metadata: {name: kube-apiserver, namespace: kube-system, creationTimestamp: null}",
    )
    plan = plan_host(_state(), _desired(MANIFEST), _observed(kubeadm_written))  # type: ignore[arg-type]
    assert plan.kind is ChangeKind.COSMETIC
