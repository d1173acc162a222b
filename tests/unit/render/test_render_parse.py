"""Reading manifests back: command lines, flags and decoded-pod equality."""

from __future__ import annotations

import pytest
import yaml
from render_fixtures import KUBEADM_FILE, make_state

from deployer.render import (
    ManifestError,
    PodLoader,
    load_pod,
    manifest_argv,
    parse_flags,
    parse_manifest_command,
    render_manifest,
    semantic_equal,
)


def _rendered() -> bytes:
    return render_manifest(make_state()).content


def test_the_command_of_a_rendered_and_of_a_kubeadm_manifest() -> None:
    ours, kubeadm = (
        parse_manifest_command(_rendered()),
        parse_manifest_command(KUBEADM_FILE.read_bytes()),
    )
    assert ours == kubeadm
    command, args = ours
    assert args == [] and command[0] == "kube-apiserver"
    assert "--advertise-address=192.0.2.10" in command


def test_argv_is_command_then_args() -> None:
    pod = yaml.safe_load(_rendered())
    container = pod["spec"]["containers"][0]
    container["args"] = container["command"][1:]
    container["command"] = ["kube-apiserver"]
    content = yaml.safe_dump(pod)
    assert manifest_argv(content) == manifest_argv(_rendered())
    assert parse_manifest_command(content)[0] == ["kube-apiserver"]


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (b"kind: Pod\n", "no spec.containers"),
        (b"spec: {containers: [{name: other}]}\n", "no container named 'kube-apiserver'"),
        (b"spec: {containers: [{name: kube-apiserver, command: x}]}\n", "not a list of strings"),
        (b"a: [\n", "not valid YAML (line 2"),
        (b"a: 1\n---\nb: 2\n", "2 YAML documents"),
    ],
)
def test_malformed_manifests_raise_manifest_error(content: bytes, needle: str) -> None:
    with pytest.raises(ManifestError) as caught:
        parse_manifest_command(content)
    assert needle in str(caught.value)


def test_parse_flags_groups_occurrences_by_normalized_name() -> None:
    argv = [
        "kube-apiserver",
        "--service-account-key-file=/a.pub",
        "--service_account_key_file=/b.pub",
        "--profiling",
        "positional",
        "--",
    ]
    assert parse_flags(argv) == {
        "service-account-key-file": ["/a.pub", "/b.pub"],
        "profiling": ["true"],
    }


def test_cosmetic_differences_are_semantically_equal() -> None:
    ours = _rendered()
    pod = load_pod(ours)
    reordered = yaml.safe_dump(pod, sort_keys=True, default_flow_style=True)
    commented = b"# managed by deployer\n" + ours.replace(b"status: {}\n", b"")
    with_nulls = ours.replace(b"  labels:", b"  creationTimestamp: null\n  labels:")
    loader = PodLoader()
    for other in (reordered, commented, with_nulls, KUBEADM_FILE.read_bytes()):
        assert semantic_equal(ours, other)
        assert semantic_equal(ours, other, load=loader.load)


def test_real_changes_are_not_semantically_equal() -> None:
    ours = _rendered()
    assert not semantic_equal(ours, render_manifest(make_state({"v": "2"})).content)
    quoted_port = ours.replace(b"port: 6443", b'port: "6443"', 1)
    assert not semantic_equal(ours, quoted_port)  # a string port is a named port to kubelet
    pod = load_pod(ours)
    pod["spec"]["volumes"].reverse()  # type: ignore[index]
    assert not semantic_equal(ours, yaml.safe_dump(pod))  # list order is part of the pod


def test_unparsable_manifests_are_equal_only_byte_for_byte() -> None:
    garbage = b"a: [\n"
    assert semantic_equal(garbage, garbage)
    assert not semantic_equal(garbage, b"a: [ \n")
    assert not semantic_equal(garbage, _rendered())
