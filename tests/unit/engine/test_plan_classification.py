"""plan's restart decision on real-world-shaped manifests: in sync, cosmetic, or change.

The manifests are tests/data/pod_defaults/manifests (kubeadm 1.28-1.33, kind, minikube, a
CKS-style hand edit, API defaults written out, a saved mirror pod).
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

import pytest

from deployer.desired import DesiredState, desired_state
from deployer.facts.observe import DirEntry, HostObservation
from deployer.model.host import Host
from deployer.model.manifest import Manifest
from deployer.model.plan import ChangeKind, HostPlan
from deployer.podspec.compare import flag_changes, image_change
from deployer.rollout.plan import plan_host

DATA = Path(__file__).parents[2] / "data" / "pod_defaults" / "manifests"


def _state() -> DesiredState:
    state, problems = desired_state(Host(name="cp1", address="10.0.0.11"))
    assert problems == []
    return state


def _plan(live: bytes, desired: bytes) -> HostPlan:
    observed = HostObservation(
        manifest=live,
        listing=(DirEntry("kube-apiserver.yaml", "f"),),
        containers=None,
        running_args=None,
        kubelet_rc=0,
    )
    manifest = Manifest.from_content(
        PurePosixPath("/etc/kubernetes/manifests/kube-apiserver.yaml"), desired
    )
    return plan_host(_state(), manifest, observed)


def _read(name: str) -> bytes:
    return (DATA / name).read_bytes()


@pytest.mark.parametrize("live", ["explicit-defaults-1.31.yaml", "kubeadm-1.31.json"])
def test_api_defaults_written_out_are_cosmetic_not_a_restart(live: str) -> None:
    plan = _plan(_read(live), _read("kubeadm-1.31.yaml"))
    assert plan.kind is ChangeKind.COSMETIC
    assert not plan.needs_restart
    assert plan.needs_change
    note = next(n for n in plan.notes if n.startswith("cosmetic"))
    if live.startswith("explicit"):
        assert "spec.dnsPolicy" in plan.field_paths
        assert "spec.dnsPolicy" in note
    else:
        assert plan.field_paths == ()
        assert "formatting only" in note


def test_same_bytes_are_in_sync() -> None:
    plan = _plan(_read("kubeadm-1.31.yaml"), _read("kubeadm-1.31.yaml"))
    assert plan.kind is ChangeKind.NONE


def test_patch_upgrade_is_named_in_the_summary() -> None:
    live = _read("kubeadm-1.33.yaml")
    desired = live.replace(b"v1.33.0", b"v1.33.5")
    plan = _plan(live, desired)
    assert plan.kind is ChangeKind.UPDATE
    assert plan.image_change == "image v1.33.0 -> v1.33.5: a patch upgrade"
    assert plan.flag_changes == () and plan.field_paths == ()


def test_mirror_pod_fields_are_reported_as_field_paths() -> None:
    plan = _plan(_read("mirror-pod-1.31.yaml"), _read("kubeadm-1.31.yaml"))
    assert plan.kind is ChangeKind.UPDATE
    assert {"spec.nodeName", "spec.tolerations", "metadata.uid"} <= set(plan.field_paths)
    assert any("pod fields differ" in n and "spec.tolerations" in n for n in plan.notes)


def test_hand_edit_reports_flags_moves_and_volumes() -> None:
    plan = _plan(_read("cks-audit-1.31.yaml"), _read("kubeadm-1.31.yaml"))
    assert plan.kind is ChangeKind.UPDATE
    text = [str(c) for c in plan.flag_changes]
    assert "- --audit-log-maxage=30" in text
    assert "~ --enable-admission-plugins: NodeRestriction,PodSecurity -> NodeRestriction" in text
    assert "spec.volumes[audit-log]" in plan.field_paths
    # the command line itself is summarised per flag, not as a field path
    assert "spec.containers[kube-apiserver].command" not in plan.field_paths


def test_bare_boolean_and_order_are_flag_changes() -> None:
    old = ["kube-apiserver", "--a=1", "--profiling", "--b=2", "--c=3"]
    new = ["kube-apiserver", "--a=1", "--c=3", "--b=2", "--profiling=true"]
    changes = flag_changes(old, new)
    assert changes and all(c.old == c.new for c in changes)  # no value changed
    written = [c.detail for c in changes if c.flag == "profiling"]
    assert any("--profiling -> --profiling=true" in d for d in written)
    moved = {c.flag for c in changes if c.detail.startswith("moved")}
    assert len(moved) == 2 and moved < {"b", "c", "profiling"}


@pytest.mark.parametrize(
    ("old", "new", "text"),
    [
        ("k8s/kube-apiserver:v1.31.4", "k8s/kube-apiserver:v1.32.0", "a minor upgrade"),
        ("k8s/kube-apiserver:v1.31.4", "k8s/kube-apiserver:v1.31.2", "a patch downgrade"),
        ("a/kube-apiserver:v1.31.4", "b/kube-apiserver:v1.31.4", "another image (same version)"),
    ],
)
def test_image_change_kinds(old: str, new: str, text: str) -> None:
    change = image_change(old, new)
    assert change is not None and change.endswith(text)
    assert image_change(old, old) is None
