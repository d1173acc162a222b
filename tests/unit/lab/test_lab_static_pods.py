"""Static pods as the kubelet stand-in parses them, and its file source's store."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from deployer.lab.kubelet.pods import (
    PodParseError,
    container_hash,
    image_version,
    parse_static_pod,
    sorted_sources,
)
from deployer.lab.kubelet.source import FileSource

POD = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "kube-apiserver", "namespace": "kube-system"},
    "spec": {
        "containers": [
            {
                "name": "kube-apiserver",
                "image": "registry.k8s.io/kube-apiserver:v1.31.13",
                "command": ["kube-apiserver", "--secure-port=6443"],
                "volumeMounts": [{"name": "k8s-certs", "mountPath": "/etc/kubernetes/pki"}],
            }
        ],
        "volumes": [
            {"name": "k8s-certs", "hostPath": {"path": "/etc/kubernetes/pki", "type": "Directory"}}
        ],
    },
}
SOURCE = "/etc/kubernetes/manifests/kube-apiserver.yaml"


def _parse(doc: object, source: str = SOURCE, node: str = "Lab-CP1") -> object:
    return parse_static_pod(yaml.safe_dump(doc).encode(), source=source, node_name=node)


def test_name_uid_and_defaults_follow_kubelet() -> None:
    pod = parse_static_pod(yaml.safe_dump(POD).encode(), source=SOURCE, node_name="Lab-CP1")
    assert pod.name == "kube-apiserver-lab-cp1"
    assert pod.full_name == "kube-apiserver-lab-cp1_kube-system"
    assert len(pod.uid) == 32
    assert int(pod.uid, 16) >= 0
    assert pod.grace_period_s == 30
    (container,) = pod.containers
    assert container.volume_mounts == (("k8s-certs", "/etc/kubernetes/pki", False),)
    assert pod.volumes["k8s-certs"].path_type == "Directory"


def test_uid_ignores_bytes_but_not_meaning_nor_file_name() -> None:
    base = parse_static_pod(yaml.safe_dump(POD).encode(), source=SOURCE, node_name="n")
    flow = parse_static_pod(
        ("# comment\n" + yaml.safe_dump(POD, default_flow_style=True)).encode(),
        source=SOURCE,
        node_name="n",
    )
    assert flow.uid == base.uid
    changed = yaml.safe_load(yaml.safe_dump(POD))
    changed["spec"]["containers"][0]["command"].append("--v=2")
    assert (
        parse_static_pod(yaml.safe_dump(changed).encode(), source=SOURCE, node_name="n").uid
        != base.uid
    )
    bak = parse_static_pod(yaml.safe_dump(POD).encode(), source=SOURCE + ".bak", node_name="n")
    assert bak.uid != base.uid
    assert bak.name == base.name


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.update(kind="Deployment"), "want Pod v1"),
        (lambda d: d["metadata"].pop("name"), "metadata.name: Required value"),
        (lambda d: d["spec"].update(containers=[]), "spec.containers: Required value"),
        (
            lambda d: d["spec"]["containers"][0]["volumeMounts"][0].update(name="nope"),
            "volumeMounts[0].name: Not found",
        ),
        (lambda d: d["spec"]["containers"][0].pop("image"), "image: Required value"),
    ],
)
def test_invalid_pods_are_rejected_with_kubelet_like_messages(mutate: object, message: str) -> None:
    doc = yaml.safe_load(yaml.safe_dump(POD))
    mutate(doc)  # type: ignore[operator]
    with pytest.raises(PodParseError, match=re.escape(message)):
        _parse(doc)


def test_unparsable_yaml_is_a_parse_error() -> None:
    with pytest.raises(PodParseError, match="could not parse"):
        parse_static_pod(b"kind: [", source=SOURCE, node_name="n")


def test_container_hash_is_fnv32a_hex_without_padding() -> None:
    value = container_hash({"name": "kube-apiserver", "command": ["kube-apiserver"]})
    assert re.fullmatch(r"[0-9a-f]{1,8}", value)
    assert value == format(int(value, 16), "x")  # no zero padding
    assert value == container_hash({"command": ["kube-apiserver"], "name": "kube-apiserver"})
    assert value != container_hash({"name": "kube-apiserver", "command": ["kube-apiserver", "-v"]})


def test_image_version_reads_the_tag() -> None:
    assert image_version("registry.k8s.io/kube-apiserver:v1.31.13") == "1.31.13"
    assert image_version("localhost:5000/kube-apiserver:v1.30.2@sha256:abc") == "1.30.2"
    assert image_version("registry.k8s.io/kube-apiserver") == ""


def test_sources_sort_like_os_readdir() -> None:
    assert sorted_sources(["kube-apiserver.yaml.bak", "kube-apiserver.yaml", "Z"]) == [
        "Z",
        "kube-apiserver.yaml",
        "kube-apiserver.yaml.bak",
    ]


def _write(folder: Path, name: str, doc: object) -> None:
    (folder / name).write_text(yaml.safe_dump(doc))


def test_file_source_keys_pods_by_name_and_the_last_file_wins(tmp_path: Path) -> None:
    source = FileSource(
        tmp_path, node_folder="/etc/kubernetes/manifests", node_name="n", relist_s=60
    )
    _write(tmp_path, "kube-apiserver.yaml", POD)
    _write(tmp_path, ".kube-apiserver.yaml.swp", {**POD, "metadata": {"name": "hidden"}})
    assert source.poll(now=0.0)
    (pod,) = source.pods
    assert pod.source.endswith("/kube-apiserver.yaml")

    bak = yaml.safe_load(yaml.safe_dump(POD))
    bak["spec"]["containers"][0]["command"].append("--v=9")
    _write(tmp_path, "kube-apiserver.yaml.bak", bak)
    assert source.poll(now=1.0)
    (pod,) = source.pods
    assert pod.source.endswith(".bak")

    (tmp_path / "kube-apiserver.yaml.bak").unlink()
    assert source.poll(now=2.0)
    assert source.pods == []  # the store key is gone until the next re-list
    source.poll(now=61.0)
    (pod,) = source.pods
    assert pod.source.endswith("/kube-apiserver.yaml")


def test_file_source_keeps_a_pod_whose_file_turns_unparsable_until_relist(tmp_path: Path) -> None:
    source = FileSource(tmp_path, node_folder="/m", node_name="n", relist_s=60)
    _write(tmp_path, "kube-apiserver.yaml", POD)
    source.poll(now=0.0)
    (tmp_path / "kube-apiserver.yaml").write_text("kind: [")
    assert not source.poll(now=1.0)
    assert len(source.pods) == 1
    assert source.poll(now=61.0)
    assert source.pods == []


def test_missing_folder_means_no_pods(tmp_path: Path) -> None:
    source = FileSource(tmp_path / "absent", node_folder="/m", node_name="n")
    assert not source.poll()
    assert source.pods == []
