"""Import on real-world-shaped manifests: the variables render the same pod kubelet runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from deployer import podspec
from deployer.desired import desired_state
from deployer.errors import InputError
from deployer.importer.extract import extract_host, reproduce
from deployer.model.host import Host
from deployer.render import ManifestRenderer, parse

DATA = Path(__file__).parents[2] / "data" / "pod_defaults" / "manifests"
ADOPTABLE = sorted(p for p in DATA.iterdir() if not p.name.startswith("mirror-pod"))


def _render(variables: dict[str, Any]) -> bytes:
    state, problems = desired_state(Host(name="cp1", address="cp1", vars=variables))
    assert problems == []
    return ManifestRenderer().render(state).content


@pytest.mark.parametrize("path", ADOPTABLE, ids=[p.name for p in ADOPTABLE])
def test_imported_variables_render_the_same_defaulted_pod(path: Path) -> None:
    content = path.read_bytes()
    item = reproduce(extract_host("cp1", str(path), content), content, {})
    assert item.not_reproduced == []
    rendered = parse.load_pod(_render(item.vars))
    assert podspec.same_pod(parse.load_pod(content), rendered)


def test_kubeadm_manifest_needs_nothing_but_flags_and_the_exact_version() -> None:
    content = (DATA / "kubeadm-1.33.yaml").read_bytes()
    item = reproduce(extract_host("cp1", "f", content), content, {})
    assert set(item.vars) == {"kubernetes_version", "apiserver_flags"}
    assert item.vars["kubernetes_version"] == "1.33.0"  # pinned: no silent patch upgrade


def test_hand_edit_keeps_flag_order_bare_flags_and_appended_volumes() -> None:
    content = (DATA / "cks-audit-1.31.yaml").read_bytes()
    item = reproduce(extract_host("cp1", "f", content), content, {})
    assert item.vars["apiserver_bare_flags"] == ["profiling"]
    assert item.vars["apiserver_flag_order"][-6:] == [
        "audit-policy-file",
        "audit-log-path",
        "audit-log-maxage",
        "audit-log-maxbackup",
        "profiling",
        "encryption-provider-config",
    ]
    assert item.vars["apiserver_volume_order"] == "listed"
    assert [v["name"] for v in item.vars["apiserver_extra_volumes"]] == [
        "audit-policy",
        "audit-log",
        "enc",
    ]
    assert "--profiling" in _render(item.vars).decode()


def test_minikube_replaces_one_kubeadm_volume_in_place() -> None:
    content = (DATA / "minikube-1.30.yaml").read_bytes()
    item = reproduce(extract_host("cp1", "f", content), content, {})
    assert "apiserver_default_volumes" not in item.vars
    assert [v["hostPath"] for v in item.vars["apiserver_extra_volumes"]] == [
        "/var/lib/minikube/certs"
    ]


def test_a_saved_mirror_pod_keeps_its_fields_and_says_what_cannot_be_templated() -> None:
    content = (DATA / "mirror-pod-1.31.yaml").read_bytes()
    item = reproduce(extract_host("cp1", "f", content), content, {})
    fields = item.vars["apiserver_pod_fields"]
    assert fields["nodeName"] == "cp1"
    assert fields["tolerations"] == [{"effect": "NoExecute", "operator": "Exists"}]
    assert "metadata.uid" in item.not_reproduced
    assert any("metadata.uid is never templated" in n for n in item.notes)


@pytest.mark.parametrize(
    "content",
    [
        b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n",
        b"apiVersion: v1\nkind: Pod\nmetadata: {name: etcd}\nspec:\n  containers:\n"
        b"  - {name: etcd, image: 'registry.k8s.io/etcd:3.5.15-0'}\n",
        b"{not yaml",
    ],
)
def test_a_file_that_is_not_a_kube_apiserver_pod_is_refused_naming_host_and_file(
    content: bytes,
) -> None:
    with pytest.raises(InputError) as caught:
        extract_host("cp2", "/etc/kubernetes/manifests/kube-apiserver.yaml", content)
    assert "cp2: /etc/kubernetes/manifests/kube-apiserver.yaml" in str(caught.value)
