"""The adoption variables: what they render, and the mistakes they refuse."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from deployer.desired import desired_state
from deployer.errors import TemplateError
from deployer.model.host import Host
from deployer.render import ManifestRenderer

BASE: dict[str, Any] = {
    "kubernetes_version": "1.31.4",
    "apiserver_flags": {"advertise-address": "10.0.0.1", "secure-port": 6443, "profiling": True},
}


def _render(**variables: Any) -> dict[str, Any]:
    state, problems = desired_state(Host(name="cp1", address="cp1", vars={**BASE, **variables}))
    assert problems == []
    pod: dict[str, Any] = yaml.safe_load(ManifestRenderer().render(state).content)
    return pod


def _problems(**variables: Any) -> str:
    state, problems = desired_state(Host(name="cp1", address="cp1", vars={**BASE, **variables}))
    assert problems == []
    with pytest.raises(TemplateError) as caught:
        ManifestRenderer().render(state)
    return str(caught.value) + " ".join(str(p) for p in getattr(caught.value, "problems", ()))


def test_flag_order_and_bare_flags() -> None:
    pod = _render(
        apiserver_flag_order=["secure-port", "profiling"], apiserver_bare_flags=["profiling"]
    )
    assert pod["spec"]["containers"][0]["command"] == [
        "kube-apiserver",
        "--secure-port=6443",
        "--profiling",
        "--advertise-address=10.0.0.1",
    ]


def test_default_volumes_dropped_and_listed_order_kept() -> None:
    extra = [
        {"name": "z-last", "hostPath": "/z", "mountPath": "/z"},
        {"name": "a-first", "hostPath": "/a", "mountPath": "/a", "readOnly": True},
    ]
    pod = _render(
        apiserver_default_volumes=False,
        apiserver_volume_order="listed",
        apiserver_extra_volumes=extra,
    )
    assert [v["name"] for v in pod["spec"]["volumes"]] == ["z-last", "a-first"]
    mounts = pod["spec"]["containers"][0]["volumeMounts"]
    assert [m["name"] for m in mounts] == ["z-last", "a-first"]


def test_no_volumes_at_all_renders_no_empty_lists() -> None:
    pod = _render(apiserver_default_volumes=False)
    assert "volumes" not in pod["spec"]
    assert "volumeMounts" not in pod["spec"]["containers"][0]


def test_pod_and_container_fields_add_replace_and_remove() -> None:
    pod = _render(
        apiserver_pod_fields={
            "tolerations": [{"operator": "Exists", "effect": "NoExecute"}],
            "nodeName": "cp1",
            "priority": None,
            "priorityClassName": "system-cluster-critical",
        },
        apiserver_container_fields={"resources": {"requests": {"cpu": "1", "memory": "1Gi"}}},
        apiserver_pod_labels={"tier": None, "team": "platform"},
        apiserver_pod_annotations={"example.com/owner": "sre"},
    )
    spec = pod["spec"]
    assert spec["tolerations"] == [{"operator": "Exists", "effect": "NoExecute"}]
    assert spec["nodeName"] == "cp1"
    assert "priority" not in spec
    assert spec["priorityClassName"] == "system-cluster-critical"
    assert spec["containers"][0]["resources"] == {"requests": {"cpu": "1", "memory": "1Gi"}}
    assert pod["metadata"]["labels"] == {"component": "kube-apiserver", "team": "platform"}
    assert pod["metadata"]["annotations"]["example.com/owner"] == "sre"


def test_label_values_that_yaml_would_retype_stay_strings() -> None:
    pod = _render(apiserver_pod_labels={"on": "yes", "version": "1.31"})
    assert pod["metadata"]["labels"]["on"] == "yes"
    assert pod["metadata"]["labels"]["version"] == "1.31"


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        ({"apiserver_pod_fields": {"containers": []}}, "containers cannot be set here"),
        ({"apiserver_container_fields": {"command": ["sh"]}}, "command cannot be set here"),
        ({"apiserver_container_fields": {"x": 1.5}}, "floats are not allowed"),
        ({"apiserver_volume_order": "random"}, "expected sorted or listed"),
        ({"apiserver_default_volumes": "no"}, "expected true or false"),
        ({"apiserver_flag_order": "secure-port"}, "expected a list of flag names"),
        ({"apiserver_bare_flags": ["secure-port"]}, "a bare flag means true"),
        ({"apiserver_pod_labels": {"a": 1}}, "expected a mapping of text"),
    ],
)
def test_mistakes_are_reported_with_the_variable(variables: dict[str, Any], expected: str) -> None:
    assert expected in _problems(**variables)
