"""Both defaulting implementations against the same upstream-derived tables.

deployer.podspec (the planner's, table-driven) and deployer.lab.kubelet.defaults (the lab
kubelet's, written per Go type) must agree with tests/data/pod_defaults, which was written from
upstream's defaults.go / zz_generated.defaults.go / kubelet config/common.go, not from either.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from deployer import podspec
from deployer.lab.kubelet.defaults import decode_pod

DATA = Path(__file__).parents[2] / "data" / "pod_defaults"
CASES = yaml.safe_load((DATA / "cases.yaml").read_text())["cases"]
PAIRS = yaml.safe_load((DATA / "pairs.yaml").read_text())["pairs"]
MANIFESTS = sorted((DATA / "manifests").iterdir())

Defaulter = Callable[[Mapping[str, Any]], dict[str, Any]]
IMPLEMENTATIONS: dict[str, Defaulter] = {"planner": podspec.default_pod, "lab-kubelet": decode_pod}


def _case_pod(case: dict[str, Any], key: str) -> dict[str, Any]:
    if "pod" in case:
        return case["pod"] if key == "pod" else case["defaulted"]
    spec = case["spec"] if key == "pod" else case["defaulted"]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": spec}


def _load(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((DATA / "manifests" / name).read_text())
    return loaded


@pytest.mark.parametrize("impl", IMPLEMENTATIONS)
@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_defaulting_case(impl: str, case: dict[str, Any]) -> None:
    got = IMPLEMENTATIONS[impl](_case_pod(case, "pod"))
    expected = _case_pod(case, "defaulted")
    assert got == expected, podspec.differences(got, expected)


@pytest.mark.parametrize("impl", IMPLEMENTATIONS)
@pytest.mark.parametrize("pair", PAIRS, ids=[f"{p['a']}~{p['b']}" for p in PAIRS])
def test_manifest_pairs(impl: str, pair: dict[str, Any]) -> None:
    default = IMPLEMENTATIONS[impl]
    a, b = default(_load(pair["a"])), default(_load(pair["b"]))
    assert (a == b) is pair["same"]
    assert podspec.differences(a, b) == pair.get("paths", [])


@pytest.mark.parametrize("path", MANIFESTS, ids=[p.name for p in MANIFESTS])
def test_implementations_agree_on_every_manifest(path: Path) -> None:
    pod = yaml.safe_load(path.read_text())
    assert podspec.default_pod(pod) == decode_pod(pod)


@pytest.mark.parametrize("path", MANIFESTS, ids=[p.name for p in MANIFESTS])
def test_defaulting_is_idempotent(path: Path) -> None:
    once = podspec.default_pod(yaml.safe_load(path.read_text()))
    assert podspec.default_pod(once) == once


def test_differences_reports_order_of_named_items() -> None:
    a = {"spec": {"volumes": [{"name": "x"}, {"name": "y"}]}}
    b = {"spec": {"volumes": [{"name": "y"}, {"name": "x"}]}}
    assert podspec.differences(a, b) == ["spec.volumes: order"]


@pytest.mark.parametrize(
    ("image", "tag"),
    [
        ("registry.k8s.io/kube-apiserver:v1.31.0", "v1.31.0"),
        ("localhost:5000/kube-apiserver", "latest"),
        ("kube-apiserver@sha256:" + "a" * 64, ""),
        ("kube-apiserver:v1.31.0@sha256:" + "a" * 64, "v1.31.0"),
    ],
)
def test_image_tag(image: str, tag: str) -> None:
    assert podspec.image_tag(image) == tag
