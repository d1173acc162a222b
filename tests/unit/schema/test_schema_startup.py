"""Startup checks: each rule refuses what the binary refuses and accepts what it accepts."""

from __future__ import annotations

import pytest

from deployer.schema import (
    ParsedFlags,
    check_startup,
    load_flag_schema,
    parse_command_line,
    startup_errors,
    startup_failure,
    supported_versions,
)
from deployer.schema.startup_model import Stage

#: A kubeadm-shaped command line that starts.
GOOD = (
    "--advertise-address=192.168.10.11",
    "--authorization-mode=Node,RBAC",
    "--enable-admission-plugins=NodeRestriction",
    "--etcd-servers=https://127.0.0.1:2379",
    "--secure-port=6443",
    "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
    "--service-account-key-file=/etc/kubernetes/pki/sa.pub",
    "--service-account-signing-key-file=/etc/kubernetes/pki/sa.key",
    "--service-cluster-ip-range=10.96.0.0/12",
    "--tls-cert-file=/etc/kubernetes/pki/apiserver.crt",
    "--tls-private-key-file=/etc/kubernetes/pki/apiserver.key",
)


#: The same without the repeatable flags the tables below add again (slices append).
BASE = tuple(a for a in GOOD if not a.startswith("--authorization-mode"))


def without(*prefixes: str) -> tuple[str, ...]:
    return tuple(a for a in BASE if not a.startswith(prefixes))


def parsed(*extra: str, minor: str = "1.31", base: tuple[str, ...] = BASE) -> ParsedFlags:
    return parse_command_line(load_flag_schema(minor), [*base, *extra])


def errors(*extra: str, minor: str = "1.31", base: tuple[str, ...] = BASE) -> list[str]:
    return startup_errors(parsed(*extra, minor=minor, base=base), load_flag_schema(minor))


@pytest.mark.parametrize("minor", supported_versions())
def test_kubeadm_command_line_starts_in_every_version(minor: str) -> None:
    assert errors(minor=minor, base=GOOD) == []


def test_bare_binary_reports_the_known_aggregate() -> None:
    schema = load_flag_schema("1.31")
    assert startup_failure(parse_command_line(schema, []), schema) == (
        "[--etcd-servers must be specified, service-account-issuer is a required flag, "
        "--service-account-signing-key-file and --service-account-issuer are required flags]"
    )


# (extra flags, the exact message expected among the errors)
REFUSED = [
    (("--livez-grace-period=-1s",), "--livez-grace-period can not be a negative value"),
    (("--max-requests-inflight=-1",), "--max-requests-inflight can not be negative value"),
    (
        ("--max-mutating-requests-inflight=-1",),
        "--max-mutating-requests-inflight can not be negative value",
    ),
    (("--request-timeout=-1s",), "--request-timeout can not be negative value"),
    (("--min-request-timeout=-1",), "--min-request-timeout can not be negative value"),
    (("--goaway-chance=0.03",), "--goaway-chance can not be less than 0 or greater than 0.02"),
    (("--goaway-chance=-0.01",), "--goaway-chance can not be less than 0 or greater than 0.02"),
    (("--shutdown-delay-duration=-5s",), "--shutdown-delay-duration can not be negative value"),
    (
        ("--shutdown-watch-termination-grace-period=-1s",),
        "shutdown-watch-termination-grace-period, if provided, can not be a negative value",
    ),
    (
        ("--storage-initialization-timeout=-1s",),
        "--storage-initialization-timeout can not be negative value",
    ),
    (
        ("--storage-backend=etcd2",),
        "--storage-backend invalid, allowed values: etcd3. If not specified, it will default to "
        "'etcd3'",
    ),
    (
        ("--storage-media-type=text/plain",),
        '--storage-media-type "text/plain" invalid, allowed values: application/json, '
        "application/vnd.kubernetes.protobuf, application/yaml",
    ),
    (
        ("--etcd-servers-overrides=events#https://e:2379",),
        "--etcd-servers-overrides invalid, must be of format: group/resource#servers, where "
        "servers are URLs, semicolon separated",
    ),
    (
        ("--encryption-provider-config-automatic-reload",),
        "--encryption-provider-config-automatic-reload must be set with "
        "--encryption-provider-config",
    ),
    (
        ("--runtime-config=flowcontrol.apiserver.k8s.io/v1=false",),
        "--runtime-config=flowcontrol.apiserver.k8s.io/v1=false conflicts with "
        "--enable-priority-and-fairness=true",
    ),
    (
        ("--runtime-config=api/ga=false,batch/v1=true",),
        "--runtime-config=api/ga=false conflicts with --enable-priority-and-fairness=true",
    ),
    (("--runtime-config=api/all=false",), "invalid key with only api/all=false"),
    (
        ("--secure-port=0",),
        "--secure-port 0 must be between 1 and 65535, inclusive. It cannot be turned off with 0",
    ),
    (
        ("--secure-port=70000",),
        "--secure-port 70000 must be between 1 and 65535, inclusive. It cannot be turned off "
        "with 0",
    ),
    (
        ("--service-account-issuer=:bad",),
        "service-account-issuer \":bad\" contained a ':' but was not a valid URL: "
        'parse ":bad": missing protocol scheme',
    ),
    (("--service-account-issuer=",), "service-account-issuer should not be an empty string"),
    (
        ("--service-account-issuer=https://kubernetes.default.svc.cluster.local",),
        'service-account-issuer "https://kubernetes.default.svc.cluster.local" is already '
        "specified",
    ),
    (
        ("--service-account-jwks-uri=http://x/keys",),
        "service-account-jwks-uri requires https scheme, parsed as: http://x/keys",
    ),
    (
        ("--oidc-client-id=kubernetes",),
        "oidc-issuer-url and oidc-client-id must be specified together when any oidc-* flags are "
        "set",
    ),
    (
        ("--authentication-config=/a.yaml", "--oidc-issuer-url=https://x", "--oidc-client-id=y"),
        "authentication-config file and oidc-* flags are mutually exclusive",
    ),
    (
        (
            "--authentication-config=/a.yaml",
            "--feature-gates=StructuredAuthenticationConfiguration=false",
        ),
        "set --feature-gates=StructuredAuthenticationConfiguration=true to use "
        "authentication-config file",
    ),
    (("--authorization-mode=rbac",), 'authorization-mode "rbac" is not a valid mode'),
    (
        ("--authorization-mode=Node,RBAC,Node",),
        'authorization-mode ["Node" "RBAC" "Node"] has mode specified more than once',
    ),
    (
        ("--authorization-mode=ABAC",),
        "authorization-mode ABAC's authorization policy file not passed",
    ),
    (
        ("--authorization-mode=Webhook",),
        "authorization-mode Webhook's authorization config file not passed",
    ),
    (
        ("--authorization-policy-file=/p",),
        "cannot specify --authorization-policy-file without mode ABAC",
    ),
    (
        ("--authorization-webhook-config-file=/w",),
        "cannot specify --authorization-webhook-config-file without mode Webhook",
    ),
    (
        ("--authorization-config=/authz.yaml", "--authorization-mode=RBAC"),
        "--authorization-config can not be specified when --authorization-mode or "
        "--authorization-webhook-* flags are defined",
    ),
    (
        ("--audit-log-path=/var/log/a.log", "--audit-log-format=xml"),
        'invalid audit log format xml, allowed formats are "legacy,json"',
    ),
    (
        ("--audit-log-path=/var/log/a.log", "--audit-log-mode=async"),
        'invalid audit log mode async, allowed modes are "batch,blocking,blocking-strict"',
    ),
    (
        ("--audit-log-path=/var/log/a.log", "--audit-log-maxage=-1"),
        "--audit-log-maxage -1 can't be a negative number",
    ),
    (
        ("--audit-log-path=/var/log/a.log", "--audit-log-maxbackup=-2"),
        "--audit-log-maxbackup -2 can't be a negative number",
    ),
    (
        ("--audit-webhook-config-file=/w", "--audit-webhook-batch-buffer-size=0"),
        "invalid audit batch webhook buffer size 0, must be a positive number",
    ),
    (
        ("--audit-webhook-config-file=/w", "--audit-webhook-batch-throttle-qps=-1"),
        "invalid audit batch webhook throttle QPS -1, must be a positive number",
    ),
    (
        ("--enable-admission-plugins=NodeRestriction,Foo",),
        'enable-admission-plugins plugin "Foo" is unknown',
    ),
    (("--disable-admission-plugins=Bar",), 'disable-admission-plugins plugin "Bar" is unknown'),
    (
        ("--disable-admission-plugins=NodeRestriction",),
        "[NodeRestriction] in enable-admission-plugins and disable-admission-plugins overlapped",
    ),
    (
        ("--admission-control=NodeRestriction",),
        "admission-control and enable-admission-plugins/disable-admission-plugins flags are "
        "mutually exclusive",
    ),
    (("--admission-control=Nope",), 'admission-control plugin "Nope" is unknown'),
    (
        ("--show-hidden-metrics-for-version=1.29",),
        "--show-hidden-metrics-for-version must be omitted or have the value '1.30'. Only the "
        "previous minor version is allowed",
    ),
    (
        ("--feature-gates=UnknownVersionInteroperabilityProxy=true",),
        "UnknownVersionInteroperabilityProxy feature requires StorageVersionAPI feature flag to be "
        "enabled",
    ),
    (
        ("--peer-ca-file=/ca",),
        "--peer-ca-file requires UnknownVersionInteroperabilityProxy feature to be turned on",
    ),
    (
        ("--peer-advertise-ip=10.0.0.1",),
        "--peer-advertise-ip requires UnknownVersionInteroperabilityProxy feature to be turned on",
    ),
    (
        ("--feature-gates=AuthorizeNodeWithSelectors=true",),
        "AuthorizeNodeWithSelectors feature requires AuthorizeWithSelectors feature to be enabled",
    ),
    (
        ("--feature-gates=DRAControlPlaneController=true",),
        "DRAControlPlaneController feature requires DynamicResourceAllocation feature to be "
        "enabled",
    ),
    (("--cloud-provider=foo",), "unknown --cloud-provider: foo"),
    (
        ("--cloud-provider=gce",),
        "when using --cloud-provider set to 'gce', please set DisableCloudProviders feature to "
        "false",
    ),
    (
        ("--service-cluster-ip-range=10.0.0.0/8",),
        "specified --service-cluster-ip-range is too large; for 32-bit addresses, the mask must "
        "be >= 12",
    ),
    (
        ("--service-cluster-ip-range=10.96.0.0/12,fd00::/64",),
        "specified --service-cluster-ip-range[1] is too large; for 128-bit addresses, the mask "
        "must be >= 108",
    ),
    (
        ("--service-cluster-ip-range=10.96.0.0/12,10.97.0.0/16",),
        "--service-cluster-ip-range[0] and --service-cluster-ip-range[1] must be of different IP "
        "family",
    ),
    (
        ("--service-cluster-ip-range=10.96.0.0/12,fd00::/108,fd01::/108",),
        "--service-cluster-ip-range must not contain more than two entries",
    ),
    (
        ("--service-cluster-ip-range=fd00::/108",),
        'service IP family "fd00::/108" must match public address family "192.168.10.11"',
    ),
    (
        ("--kubernetes-service-node-port=70000",),
        "--kubernetes-service-node-port 70000 must be between 0 and 65535, inclusive. If 0, the "
        "Kubernetes master service will be of type ClusterIP",
    ),
    (
        ("--kubernetes-service-node-port=80",),
        "kubernetes service node port range 30000-32767 doesn't contain 80",
    ),
    (
        ("--strict-transport-security-directives=max-age=1,preload,foo",),
        "--strict-transport-security-directives invalid, allowed values: max-age=expireTime, "
        "includeSubDomains, preload. see https://tools.ietf.org/html/rfc6797#section-6.1 for more "
        "information",
    ),
    (
        ('--strict-transport-security-directives=" ",preload',),
        "empty value in strict-transport-security-directives",
    ),
    (
        ("--cors-allowed-origins=example.com",),
        "--cors-allowed-origins has an invalid regular expression: regular expression does not "
        "pin to start/end of host in the origin header, help: List of allowed origins for CORS, "
        "comma separated. An allowed origin can be a regular expression to support subdomain "
        "matching. If this list is empty CORS will not be enabled. Please ensure each expression "
        "matches the entire hostname by anchoring to the start with '^' or including the '//' "
        "prefix, and by anchoring to the end with '$' or including the ':' port separator suffix. "
        "Examples of valid expressions are '//example\\.com(:|$)' and "
        "'^https://example\\.com(:|$)'",
    ),
    (
        ("--audit-log-path=/a.log", "--audit-log-truncate-max-batch-size=10"),
        "invalid audit truncate log max batch size 10, must be greater than max event size "
        "(102400)",
    ),
    (
        ("--audit-log-path=/a.log", "--audit-log-version=audit.k8s.io/v1beta1"),
        'invalid group version, allowed versions are ["audit.k8s.io/v1"]',
    ),
    (
        ("--apiserver-count=0",),
        "--apiserver-count should be a positive number, but value '0' provided",
    ),
    (("--logging-format=foo",), 'format: Invalid value: "foo": Unsupported log format'),
    (
        ("--logging-format=json", "--feature-gates=LoggingBetaOptions=false"),
        "format: Forbidden: Log format json is disabled, see LoggingBetaOptions feature",
    ),
    (
        ("--logging-format=json", "--vmodule=a=2"),
        "vmodule: Forbidden: Only supported for text log format",
    ),
    (
        ("--log-text-split-stream",),
        "options.text.splitStream: Forbidden: Feature LoggingAlphaOptions is disabled",
    ),
    (
        ("--log-json-info-buffer-size=1Mi",),
        "options.json.infoBufferSize: Forbidden: Feature LoggingAlphaOptions is disabled",
    ),
    (
        ("--service-cluster-ip-range=10.0.0.0/30",),
        "error determining service IP ranges for primary service cidr: the service cluster IP "
        "range must be at least 8 IP addresses",
    ),
    (("--service-cluster-ip-range=10.0.0.0",), "service-cluster-ip-range[0] is not a valid cidr"),
    (
        ("--service-cluster-ip-range=10.96.0.0/12, fd00::/108",),
        "service-cluster-ip-range[1] is not an ip net",
    ),
    (
        ("--service-account-max-token-expiration=30m",),
        "the service-account-max-token-expiration must be between 1 hour and 2^32 seconds",
    ),
    (("--tls-min-version=VersionTLS14",), 'unknown tls version "VersionTLS14"'),
    (
        ("--tls-cipher-suites=TLS_AES_128_GCM_SHA256,FOO",),
        "Cipher suite FOO not supported or doesn't exist",
    ),
    (("--watch-cache-sizes=pods",), "invalid value of watch cache size: pods"),
    (("--watch-cache-sizes=pods#x",), "invalid size of watch cache size: pods#x"),
    (("--watch-cache-sizes=pods#-1",), "watch cache size cannot be negative: pods#-1"),
    (("--feature-gates=wardle:Foo=true",), "component not registered: wardle"),
    (
        ("--feature-gates=A=true,kube:B=true",),
        "set kube feature gates with default empty prefix or kube: prefix consistently, do not "
        "mix use",
    ),
    (("--feature-gates=Foo",), "missing bool value for Foo"),
    (
        ("--feature-gates=Foo=maybe",),
        'invalid value of Foo=maybe, err: strconv.ParseBool: parsing "maybe": invalid syntax',
    ),
    (("--emulated-version=kube=1.31.1",), "patch version not allowed, got: kube=1.31.1"),
    (
        ("--emulated-version=kube=1.30,kube=1.31",),
        "duplicate version flag, kube=1.30 and kube=1.31",
    ),
    (("--emulated-version=wardle=1.2",), "component not registered: wardle"),
]


@pytest.mark.parametrize(("extra", "message"), REFUSED, ids=[m[:60] for _, m in REFUSED])
def test_each_startup_check_refuses_with_the_binary_text(
    extra: tuple[str, ...], message: str
) -> None:
    assert message in errors(*extra)


# The same flags with values the binary accepts: no error at all.
ACCEPTED = [
    (
        "--livez-grace-period=0s",
        "--request-timeout=30s",
        "--goaway-chance=0.02",
        "--max-requests-inflight=0",
    ),
    ("--storage-backend=etcd3", "--storage-media-type=application/json"),
    (
        "--strict-transport-security-directives=max-age=31536000,includeSubDomains,preload",
        "--cors-allowed-origins=//example\\.com(:|$),^https://a\\.b$",
    ),
    ("--etcd-servers-overrides=/events#https://e:2379;https://f:2379",),
    ("--encryption-provider-config=/e.yaml", "--encryption-provider-config-automatic-reload"),
    ("--runtime-config=flowcontrol.apiserver.k8s.io/v1=true,api/all=false",),
    (
        "--runtime-config=api/all=false",
        "--enable-priority-and-fairness=false",
        "--runtime-config=v1=true",
    ),
    ("--secure-port=65535",),
    ("--service-account-issuer=https://other.example", "--service-account-jwks-uri=https://x/keys"),
    ("--oidc-issuer-url=https://idp", "--oidc-client-id=k8s", "--oidc-groups-claim=groups"),
    ("--authentication-config=/a.yaml",),
    ("--authorization-mode=Node,RBAC,ABAC", "--authorization-policy-file=/p"),
    ("--authorization-mode=Webhook", "--authorization-webhook-config-file=/w"),
    ("--authorization-config=/authz.yaml",),
    ("--audit-log-path=/var/log/a.log", "--audit-log-format=legacy", "--audit-log-maxage=30"),
    ("--audit-webhook-config-file=/w", "--audit-webhook-mode=blocking-strict"),
    (
        "--enable-admission-plugins=NodeRestriction,PodSecurity",
        "--disable-admission-plugins=AlwaysDeny",
    ),
    ("--show-hidden-metrics-for-version=1.30", "--allow-metric-labels=metric_a,label_b=x"),
    (
        "--feature-gates=UnknownVersionInteroperabilityProxy=true,StorageVersionAPI=true",
        "--peer-ca-file=/ca",
    ),
    ("--feature-gates=kube:AuthorizeNodeWithSelectors=true,kube:AuthorizeWithSelectors=true",),
    ("--cloud-provider=external",),
    ("--service-cluster-ip-range=10.96.0.0/12,fd00::/108", "--kubernetes-service-node-port=30080"),
    ("--service-cluster-ip-range=fd00::/108", "--endpoint-reconciler-type=none"),
    ("--service-cluster-ip-range=10.0.0.0/29",),
    ("--logging-format=json", "--vmodule="),
    ("--log-text-split-stream", "--feature-gates=LoggingAlphaOptions=true"),
    ("--service-account-max-token-expiration=24h",),
    ("--tls-min-version=VersionTLS12", "--tls-cipher-suites=TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"),
    ("--watch-cache-sizes=pods#100,apps/deployments#0",),
    ("--emulated-version=kube=1.31", "--feature-gates=kube:APIServerTracing=false"),
]


@pytest.mark.parametrize("extra", ACCEPTED, ids=[a[0][:50] for a in ACCEPTED])
def test_valid_values_of_the_same_flags_start(extra: tuple[str, ...]) -> None:
    assert errors(*extra) == []


def test_token_request_needs_issuer_and_signing_key_together() -> None:
    together = (
        "--service-account-signing-key-file, --service-account-issuer, and --api-audiences "
        "should be specified together"
    )
    no_key = without("--service-account-signing-key-file")
    assert together in errors("--api-audiences=x", base=no_key)
    assert together in errors(base=no_key)
    assert together not in errors()


def test_authorization_mode_empty_is_an_error_only_in_1_28() -> None:
    assert "at least one authorization-mode must be passed" in errors(
        "--authorization-mode=", minor="1.28"
    )
    assert errors("--authorization-mode=", minor="1.29") == []


def test_structured_authn_gate_is_off_in_1_29() -> None:
    assert (
        "set --feature-gates=StructuredAuthenticationConfiguration=true to use "
        "authentication-config file"
    ) in errors("--authentication-config=/a.yaml", minor="1.29")
    assert errors("--authentication-config=/a.yaml", minor="1.30") == []


def test_admission_plugin_names_follow_the_version() -> None:
    assert (
        errors("--enable-admission-plugins=NodeRestriction,SecurityContextDeny", minor="1.29") == []
    )
    assert 'enable-admission-plugins plugin "SecurityContextDeny" is unknown' in errors(
        "--enable-admission-plugins=NodeRestriction,SecurityContextDeny", minor="1.30"
    )
    assert 'enable-admission-plugins plugin "MutatingAdmissionPolicy" is unknown' in errors(
        "--enable-admission-plugins=MutatingAdmissionPolicy", minor="1.31"
    )
    assert (
        errors("--enable-admission-plugins=NodeRestriction,MutatingAdmissionPolicy", minor="1.32")
        == []
    )


def test_gates_are_not_checked_before_1_31_at_pre_run() -> None:
    assert errors("--emulated-version=kube=1.31.1", minor="1.33") == [
        "patch version not allowed, got: kube=1.31.1"
    ]


def test_failure_reports_only_the_first_stage() -> None:
    schema = load_flag_schema("1.31")
    gate_and_validate = parse_command_line(
        schema, ["--feature-gates=wardle:A=true", "--secure-port=0"]
    )
    assert startup_failure(gate_and_validate, schema) == "component not registered: wardle"
    complete = parse_command_line(
        schema, [*GOOD, "--service-cluster-ip-range=x", "--secure-port=0"]
    )
    assert startup_failure(complete, schema) == "service-cluster-ip-range[0] is not a valid cidr"
    one = parse_command_line(schema, [*GOOD, "--secure-port=0"])
    assert startup_failure(one, schema) == (
        "--secure-port 0 must be between 1 and 65535, inclusive. It cannot be turned off with 0"
    )
    assert startup_failure(parse_command_line(schema, list(GOOD)), schema) is None


def test_errors_carry_stage_and_flag() -> None:
    schema = load_flag_schema("1.31")
    found = check_startup(
        parse_command_line(schema, [*GOOD, "--tls-min-version=x", "--v=1"]), schema
    )
    assert [(e.flag, e.stage) for e in found] == [("tls-min-version", Stage.CONFIG)]
