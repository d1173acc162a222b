"""validate_flags: problems an operator can act on, located in the inventory."""

from __future__ import annotations

from collections.abc import Mapping

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deployer.errors import InputProblem
from deployer.model.host import VarOrigin
from deployer.schema import load_flag_schema, supported_versions, validate_flags

KUBEADM = {
    "advertise-address": "192.168.10.11",
    "authorization-mode": "Node,RBAC",
    "enable-admission-plugins": "NodeRestriction",
    "etcd-servers": "https://127.0.0.1:2379",
    "secure-port": "6443",
    "service-account-issuer": "https://kubernetes.default.svc.cluster.local",
    "service-account-key-file": "/etc/kubernetes/pki/sa.pub",
    "service-account-signing-key-file": "/etc/kubernetes/pki/sa.key",
    "service-cluster-ip-range": "10.96.0.0/12",
    "tls-cert-file": "/etc/kubernetes/pki/apiserver.crt",
    "tls-private-key-file": "/etc/kubernetes/pki/apiserver.key",
}
ORIGIN = VarOrigin(level="group:control_plane", file="group_vars/control_plane.yml", line=7)


def problems(minor: str = "1.31", drop: tuple[str, ...] = (), **changes: str) -> list[InputProblem]:
    flags: dict[str, str] = {k: v for k, v in KUBEADM.items() if k not in drop}
    flags.update({k.replace("_", "-"): v for k, v in changes.items()})
    origins: Mapping[str, VarOrigin] = dict.fromkeys(flags, ORIGIN)
    return validate_flags(flags, minor, host="cp1", origins=origins)


def errors(minor: str = "1.31", drop: tuple[str, ...] = (), **changes: str) -> list[InputProblem]:
    return [p for p in problems(minor, drop, **changes) if not p.is_warning]


@pytest.mark.parametrize("minor", supported_versions())
def test_kubeadm_flags_have_no_problem(minor: str) -> None:
    assert problems(minor) == []


def test_unknown_flag_suggests_the_closest_name_and_locates_it() -> None:
    (problem,) = errors(etcd_server="https://127.0.0.1:2379")
    assert problem.message == "unknown flag: --etcd-server"
    assert problem.flag == "etcd-server"
    assert problem.host == "cp1"
    assert problem.location() == "group_vars/control_plane.yml:7"
    assert problem.hint is not None
    assert problem.hint.startswith("did you mean --etcd-servers?")


def test_unknown_flag_without_a_close_name_has_no_suggestion() -> None:
    (problem,) = errors(zzzz="1")
    assert problem.hint is not None
    assert "did you mean" not in problem.hint


@pytest.mark.parametrize(
    ("flag", "minor", "message"),
    [
        (
            "insecure-port",
            "1.31",
            "--insecure-port was removed in 1.24 (insecure HTTP serving removed; since 1.20 only "
            "0 was accepted)",
        ),
        ("logtostderr", "1.28", "--logtostderr was removed in 1.26"),
        ("cloud-provider", "1.33", "--cloud-provider was removed in 1.33"),
        (
            "cloud-provider-gce-lb-src-cidrs",
            "1.31",
            "--cloud-provider-gce-lb-src-cidrs was removed in 1.31",
        ),
        (
            "azure-container-registry-config",
            "1.30",
            "--azure-container-registry-config is not a kube-apiserver flag",
        ),
    ],
)
def test_removed_flags_say_when(flag: str, minor: str, message: str) -> None:
    (problem,) = errors(minor, (), **{flag.replace("-", "_"): "x"})
    assert problem.message.startswith(message)
    assert problem.flag == flag


def test_flag_from_a_newer_version_names_where_it_exists() -> None:
    (problem,) = errors("1.28", authentication_config="/etc/kubernetes/authn.yaml")
    assert problem.message == (
        "--authentication-config is not a flag of kube-apiserver 1.28 (it exists in 1.29-1.37)"
    )


def test_value_errors_use_the_binary_text() -> None:
    (problem,) = errors(secure_port="https")
    assert problem.message == (
        'invalid argument "https" for "--secure-port" flag: strconv.ParseInt: parsing "https": '
        "invalid syntax"
    )
    assert problem.flag == "secure-port"


def test_deprecated_flag_is_a_warning_with_the_message() -> None:
    found = problems(apiserver_count="3")
    assert [p.is_warning for p in found] == [True]
    assert found[0].message == (
        "Flag --apiserver-count has been deprecated, apiserver-count is deprecated and will be "
        "removed in a future version."
    )


def test_required_flags_for_a_kubeadm_control_plane() -> None:
    found = errors(drop=("service-account-key-file",))
    assert [p.message for p in found] == [
        "--service-account-key-file is required for a kubeadm-shaped control plane"
    ]
    assert found[0].file is None  # not set anywhere, so no inventory line to point at


def test_missing_required_flag_reported_once_with_the_binary_text() -> None:
    messages = [p.message for p in errors(drop=("etcd-servers",))]
    assert messages == ["--etcd-servers must be specified"]


def test_startup_errors_become_problems_on_their_flag() -> None:
    (problem,) = errors(service_cluster_ip_range="10.0.0.0/8")
    assert problem.message == (
        "specified --service-cluster-ip-range is too large; for 32-bit addresses, the mask must "
        "be >= 12"
    )
    assert problem.flag == "service-cluster-ip-range"
    assert problem.line == 7


def test_every_problem_is_reported_at_once() -> None:
    found = errors(secure_port="0", goaway_chance="1", nope="x")
    assert {p.flag for p in found} == {"secure-port", "goaway-chance", "nope"}


def test_comma_in_a_string_array_is_a_warning() -> None:
    found = problems(service_account_key_file="/a.pub,/b.pub")
    assert [(p.flag, p.is_warning) for p in found] == [("service-account-key-file", True)]


def test_unlisted_feature_gate_is_a_warning_from_1_31() -> None:
    found = problems(feature_gates="NoSuchGate=true,APIServerTracing=false")
    assert [p.message for p in found] == [
        "feature gate NoSuchGate is not among the gates listed for 1.31"
    ]
    assert found[0].is_warning


def test_node_authorizer_without_node_restriction_is_a_warning() -> None:
    found = problems(enable_admission_plugins="PodSecurity")
    assert [(p.flag, p.is_warning) for p in found] == [("enable-admission-plugins", True)]


def test_help_and_version_are_refused() -> None:
    assert [p.flag for p in errors(version="true")] == ["version"]


def test_unsupported_version_is_one_problem() -> None:
    (problem,) = validate_flags(KUBEADM, "1.20", host="cp1", origins={})
    assert "1.20" in problem.message


def test_names_given_with_underscores_or_dashes_are_normalized() -> None:
    flags = {**KUBEADM, "--max_requests_inflight": "10"}
    assert validate_flags(flags, "1.31", host="cp1", origins={}) == []


def test_emulated_version_other_than_1_31_is_refused_on_1_31() -> None:
    assert [p.flag for p in errors(emulated_version="kube=1.30")] == ["emulated-version"]
    assert errors(emulated_version="kube=1.31") == []


def test_identical_messages_are_reported_once() -> None:
    found = errors(etcd_servers_overrides="a#x,b#y")
    assert len(found) == 1
    assert found[0].flag == "etcd-servers-overrides"


_NAMES = sorted(load_flag_schema("1.31").flags) + ["insecure-port", "etcd-server"]


@settings(max_examples=100)
@given(st.dictionaries(st.sampled_from(_NAMES), st.text(max_size=20), max_size=5))
def test_any_values_give_problems_never_exceptions(changes: dict[str, str]) -> None:
    found = validate_flags({**KUBEADM, **changes}, "1.31", host="cp1", origins={})
    assert all(p.host == "cp1" and p.hint for p in found)
