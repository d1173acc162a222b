"""1.34-1.37: each delta of the reference, refused or accepted with the binary's text."""

from __future__ import annotations

import pytest

from deployer.schema import load_flag_schema, parse_command_line, startup_errors, validate_flags
from deployer.schema.startup import startup_failure

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
NEW = ("1.34", "1.35", "1.36", "1.37")


def messages(minor: str, *, warnings: bool = False, **changes: str) -> list[str]:
    flags = {**KUBEADM, **{k.replace("_", "-"): v for k, v in changes.items()}}
    found = validate_flags(flags, minor, host="cp1", origins={})
    return [p.message for p in found if p.is_warning == warnings]


def start(minor: str, *extra: str) -> list[str]:
    schema = load_flag_schema(minor)
    argv = [f"--{k}={v}" for k, v in KUBEADM.items()] + list(extra)
    return startup_errors(parse_command_line(schema, argv), schema)


@pytest.mark.parametrize(
    ("minor", "count"), [("1.33", 175), ("1.34", 175), ("1.35", 176), ("1.36", 177), ("1.37", 177)]
)
def test_flag_count_is_the_references(minor: str, count: int) -> None:
    assert len(load_flag_schema(minor).flags) == count


@pytest.mark.parametrize("minor", NEW)
def test_a_flag_removed_earlier_is_refused_naming_the_release(minor: str) -> None:
    (message,) = messages(minor, cloud_provider="external")
    assert message.startswith("--cloud-provider was removed in 1.33")


def test_min_compatibility_version_is_new_in_1_35() -> None:
    assert messages("1.35", min_compatibility_version="1.34") == []
    (message,) = messages("1.34", min_compatibility_version="1.34")
    assert message == (
        "--min-compatibility-version is not a flag of kube-apiserver 1.34 (it exists in 1.35-1.37)"
    )


def test_tls_curve_preferences_is_new_in_1_36_and_checked() -> None:
    assert start("1.36", "--tls-curve-preferences=29,23") == []
    assert messages("1.35", tls_curve_preferences="29")[0].startswith(
        "--tls-curve-preferences is not a flag of kube-apiserver 1.35"
    )
    assert start("1.36", "--tls-curve-preferences=29,70000") == [
        "curve preference 70000 is out of range (must be 1-65535)"
    ]
    assert start("1.37", "--tls-curve-preferences=29,29") == ["duplicate curve preference 29"]
    (message,) = messages("1.36", tls_curve_preferences="x")
    assert message == (
        'invalid argument "x" for "--tls-curve-preferences" flag: '
        'strconv.ParseInt: parsing "x": invalid syntax'
    )


@pytest.mark.parametrize(("minor", "default"), [("1.35", "0"), ("1.36", "100"), ("1.37", "100")])
def test_audit_log_rotation_defaults_changed_in_1_36(minor: str, default: str) -> None:
    flags = load_flag_schema(minor).flags
    assert flags["audit-log-maxsize"].default == default
    assert flags["audit-log-maxbackup"].default == default
    assert flags["audit-log-maxage"].default == ("366" if default == "100" else "0")


def test_logs_handler_deprecation_follows_the_release() -> None:
    for minor in ("1.35", "1.36"):
        assert messages(minor, warnings=True, enable_logs_handler="true") == [
            "Flag --enable-logs-handler has been deprecated, Log handler functionality is "
            "deprecated"
        ]
        assert not load_flag_schema(minor).flags["enable-logs-handler"].hidden
    assert messages("1.37", warnings=True, enable_logs_handler="true") == []
    assert load_flag_schema("1.37").flags["enable-logs-handler"].no_opt_default == "true"


def test_default_watch_cache_size_is_a_no_op_in_1_37() -> None:
    (warning,) = messages("1.37", warnings=True, default_watch_cache_size="200")
    assert warning == (
        "Flag --default-watch-cache-size has been deprecated, Watch caches are sized "
        "automatically. This flag is no-op and it will be removed in a future version."
    )


def test_node_declared_feature_validator_plugin_arrives_in_1_35() -> None:
    plugins = "NodeRestriction,NodeDeclaredFeatureValidator"
    assert messages("1.35", enable_admission_plugins=plugins) == []
    assert messages("1.34", enable_admission_plugins=plugins) == [
        'enable-admission-plugins plugin "NodeDeclaredFeatureValidator" is unknown'
    ]


@pytest.mark.parametrize(("minor", "refused"), [("1.34", False), ("1.35", True), ("1.37", True)])
def test_log_flush_frequency_must_be_positive_from_1_35(minor: str, refused: bool) -> None:
    expected = ["flushFrequency: Invalid value: 0s: Must be greater than zero"] if refused else []
    assert start(minor, "--log-flush-frequency=0") == expected


@pytest.mark.parametrize(
    ("minor", "message"),
    [
        ("1.35", "invalid key with only api/all=false"),
        ("1.36", "invalid runtime-config with only api/all=false"),
    ],
)
def test_runtime_config_all_false_wording(minor: str, message: str) -> None:
    assert message in start(minor, "--runtime-config=api/all=false")


def test_metrics_validation_through_field_errors_from_1_36() -> None:
    assert start("1.35", "--show-hidden-metrics-for-version=1.33") == [
        "--show-hidden-metrics-for-version must be omitted or have the value '1.34'. Only the "
        "previous minor version is allowed"
    ]
    assert start("1.36", "--show-hidden-metrics-for-version=1.33") == [
        'metrics.showHiddenMetricsForVersion: Invalid value: "1.33": must be omitted or have '
        "the value '1.35'; only the previous minor version is allowed"
    ]
    assert start("1.36", "--show-hidden-metrics-for-version=1.35") == []
    assert start("1.35", "--disabled-metrics=bad-name") == []
    (disabled,) = start("1.36", "--disabled-metrics=bad-name")
    assert disabled.endswith(
        'must be fully qualified metric names matching "^[a-zA-Z_:][a-zA-Z0-9_:]*$", got "bad-name"'
    )
    both = start(
        "1.36",
        "--allow-metric-labels=apiserver_request_total,verb=GET",
        "--allow-metric-labels-manifest=/etc/kubernetes/labels.yaml",
    )
    assert both == ["cannot specify both allowListMapping and allowListMappingManifest"]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("kube=1.34.1", "patch version not allowed, got: kube=1.34.1"),
        ("other=1.34", "component not registered: other"),
        ("1.34,kube=1.33", "duplicate version flag, kube=1.34 and kube=1.33"),
    ],
)
def test_min_compatibility_version_is_parsed_before_the_run(value: str, message: str) -> None:
    schema = load_flag_schema("1.35")
    argv = [f"--{k}={v}" for k, v in KUBEADM.items()] + [f"--min-compatibility-version={value}"]
    assert startup_failure(parse_command_line(schema, argv), schema) == message


def test_emulation_and_compatibility_ranges_of_1_35() -> None:
    assert messages("1.35", emulated_version="1.32", min_compatibility_version="1.32") == []
    assert messages("1.35", emulated_version="1.31") == [
        "emulation version 1.31 is not between [1.32.0, 1.35.0]"
    ]
    assert messages("1.35", emulated_version="1.33", min_compatibility_version="1.34") == [
        "minCompatibilityVersion version 1.34 is not between [1.32.0, 1.33.0]"
    ]
    assert messages("1.31", emulated_version="1.30") == [
        "--emulated-version 1.30: kube-apiserver 1.31 accepts only kube=1.31"
    ]


def _prerun(minor: str, gates: str) -> str | None:
    schema = load_flag_schema(minor)
    argv = [f"--{k}={v}" for k, v in KUBEADM.items()] + [f"--feature-gates={gates}"]
    return startup_failure(parse_command_line(schema, argv), schema)


def test_selector_authorization_gates_are_locked_on_from_1_34() -> None:
    assert _prerun("1.34", "AuthorizeWithSelectors=false") == (
        "cannot set feature gate AuthorizeWithSelectors to false, feature is locked to true"
    )
    assert _prerun("1.34", "AuthorizeNodeWithSelectors=true") is None
    # 1.33 lets it be set; only the dependency check of Validate() objects.
    assert _prerun("1.33", "AuthorizeWithSelectors=false") == (
        "AuthorizeNodeWithSelectors feature requires AuthorizeWithSelectors feature to be enabled"
    )


def test_gates_locked_or_removed_in_1_37() -> None:
    assert _prerun("1.36", "DeclarativeValidationTakeover=true") is None
    assert _prerun("1.37", "DeclarativeValidationTakeover=true") == (
        "cannot set feature gate DeclarativeValidationTakeover to true, feature is locked to false"
    )
    assert _prerun("1.36", "AnyVolumeDataSource=true") is None
    assert _prerun("1.37", "AnyVolumeDataSource=true") == (
        "unrecognized feature gate: AnyVolumeDataSource"
    )


@pytest.mark.parametrize(("minor", "refused"), [("1.33", False), ("1.34", True), ("1.37", True)])
def test_an_empty_etcd_override_server_is_refused_from_1_34(minor: str, refused: bool) -> None:
    message = (
        "--etcd-servers-overrides invalid, must be of format: group/resource#servers, where "
        "servers are URLs, semicolon separated"
    )
    found = start(minor, "--etcd-servers-overrides=/pods#http://etcd4:2379;")
    assert found == ([message] if refused else [])
    assert start(minor, "--etcd-servers-overrides=/pods#http://etcd4:2379;http://etcd5:2379") == []
