"""The packaged per-version facts agree with each other and with upstream, and the generator
that makes the field trees reads Go declarations as the Go JSON decoder sees them."""

from __future__ import annotations

import importlib.util
import json
import sys
from importlib import resources
from pathlib import Path
from types import ModuleType

import pytest

from deployer.companions import KINDS, supported_minors
from deployer.companions.facts import Gvk, field_tree, gate_default, loader_facts, minor_key
from deployer.errors import InputError

TOOL = Path(__file__).resolve().parents[3] / "tools" / "make_companion_fields.py"


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_companion_fields", TOOL)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["make_companion_fields"] = module
    spec.loader.exec_module(module)
    return module


def test_minors_run_from_1_28_to_1_37() -> None:
    assert supported_minors() == tuple(f"1.{n}" for n in range(28, 38))


@pytest.mark.parametrize("minor", supported_minors())
@pytest.mark.parametrize("kind", KINDS)
def test_every_accepted_version_has_a_field_tree(kind: str, minor: str) -> None:
    facts = loader_facts(kind, minor)
    for gvk in facts.accepted:
        assert field_tree(gvk, minor) is not None, gvk


def test_which_minor_reads_which_version() -> None:
    def versions(kind: str, minor: str) -> list[str]:
        return [g.api_version.rsplit("/", 1)[-1] for g in loader_facts(kind, minor).accepted]

    assert versions("AuthenticationConfiguration", "1.28") == []
    assert versions("AuthenticationConfiguration", "1.29") == ["v1alpha1"]
    assert versions("AuthenticationConfiguration", "1.33") == ["v1alpha1", "v1beta1"]
    assert versions("AuthenticationConfiguration", "1.34") == ["v1alpha1", "v1beta1", "v1"]
    assert versions("AuthorizationConfiguration", "1.32") == ["v1alpha1", "v1beta1", "v1"]
    assert versions("TracingConfiguration", "1.33") == ["v1alpha1", "v1beta1"]
    assert loader_facts("EgressSelectorConfiguration", "1.31").decoding == "kind-only"
    assert loader_facts("EgressSelectorConfiguration", "1.32").decoding == "strict"
    assert loader_facts("EncryptionConfiguration", "1.30").decoding == "lenient"
    assert loader_facts("EncryptionConfiguration", "1.31").decoding == "strict"
    assert loader_facts("AdmissionConfiguration", "1.31").decoding == "lenient"
    assert loader_facts("AdmissionConfiguration", "1.32").decoding == "strict"


def test_fields_follow_the_version_that_added_them() -> None:
    def issuer_fields(minor: str) -> set[str]:
        tree = field_tree(
            Gvk("apiserver.config.k8s.io/v1beta1", "AuthenticationConfiguration"), minor
        )
        assert tree is not None
        return set(tree["fields"]["jwt"]["items"]["fields"]["issuer"]["fields"])

    assert "egressSelectorType" not in issuer_fields("1.33")
    assert "egressSelectorType" in issuer_fields("1.34")
    root = field_tree(Gvk("apiserver.config.k8s.io/v1beta1", "AuthenticationConfiguration"), "1.30")
    assert root is not None
    assert "anonymous" not in root["fields"]


def test_gate_defaults_match_kube_features() -> None:
    assert gate_default("KMSv1", "1.28") is True
    assert gate_default("KMSv1", "1.29") is False
    assert gate_default("StructuredAuthenticationConfiguration", "1.29") is False
    assert gate_default("StructuredAuthenticationConfiguration", "1.30") is True
    assert gate_default("StructuredAuthenticationConfiguration", "1.37") is True  # removed: on
    assert gate_default("AnonymousAuthConfigurableEndpoints", "1.31") is False


def test_a_minor_without_facts_is_invalid_input() -> None:
    with pytest.raises(InputError, match=r"no companion-file facts for Kubernetes 1.27"):
        loader_facts("Policy", "1.27")
    with pytest.raises(InputError, match=r"not of the form major.minor"):
        minor_key("v1.31")


def test_the_packaged_field_data_is_what_the_generator_writes() -> None:
    data = json.loads(
        resources.files("deployer.companions.data").joinpath("fields.json").read_text("utf-8")
    )
    assert set(data["versions"]) == set(supported_minors())
    used = {sid for v in data["versions"].values() for sid in v["kinds"].values()}
    assert used == set(data["schemas"])  # no orphan trees


GO_TYPES = """
type Policy struct {
	metav1.TypeMeta `json:",inline"`
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Rules []PolicyRule `json:"rules"`
	Ignored string `json:"-"`
}

type PolicyRule struct {
	Level Level `json:"level"`
	Timeout *metav1.Duration `json:"timeout,omitempty"`
	Size *int32 `json:"size,omitempty"`
	Identity *IdentityConfiguration `json:"identity,omitempty"`
	Extra map[string]string `json:"extra,omitempty"`
}

type IdentityConfiguration struct{}

type Level string
"""


def test_the_generator_reads_go_struct_declarations() -> None:
    gen = _generator()
    pkg = gen.Package(gen.strip_comments(GO_TYPES))
    tree = pkg.tree("Policy")
    assert set(tree["fields"]) == {"apiVersion", "kind", "metadata", "rules"}
    rule = tree["fields"]["rules"]["items"]["fields"]
    assert rule["level"] == {"type": "string"}
    assert rule["timeout"] == {"type": "duration"}
    assert rule["size"] == {"type": "int"}
    assert rule["identity"] == {"type": "object", "fields": {}}
    assert rule["extra"] == {"type": "map", "values": {"type": "string"}}


def test_the_generator_reads_registered_kinds() -> None:
    gen = _generator()
    register = """
const GroupName = "apiserver.config.k8s.io"
var SchemeGroupVersion = schema.GroupVersion{Group: GroupName, Version: "v1"}
func addKnownTypes(scheme *runtime.Scheme) error {
	scheme.AddKnownTypes(SchemeGroupVersion,
		&AdmissionConfiguration{},
		&EncryptionConfiguration{},
	)
	scheme.AddKnownTypeWithName(
		schema.GroupVersionKind{Group: "", Version: "v1", Kind: "EncryptionConfig"},
		&EncryptionConfiguration{},
	)
	return nil
}
"""
    assert gen.registered(register) == [
        ("apiserver.config.k8s.io", "v1", "AdmissionConfiguration"),
        ("apiserver.config.k8s.io", "v1", "EncryptionConfiguration"),
        ("", "v1", "EncryptionConfig"),
    ]
