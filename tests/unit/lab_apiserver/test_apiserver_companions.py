"""The stand-in's own loaders of companion files: upstream's checks and message texts.

Expected texts are the ones the cited k8s.io/apiserver functions build (see each loader's
docstring); each case names the behaviour it pins.
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest

from deployer.lab.apiserver.companions.admission import admission_error
from deployer.lab.apiserver.companions.audit import policy_error
from deployer.lab.apiserver.companions.authentication import authentication_error
from deployer.lab.apiserver.companions.authorization import authorization_error
from deployer.lab.apiserver.companions.egress import egress_config_error
from deployer.lab.apiserver.companions.encryption import load_encryption
from deployer.lab.apiserver.companions.tracing import tracing_error
from deployer.lab.apiserver.main import main

POLICY = "/etc/kubernetes/audit/policy.yaml"
ENC = "/etc/kubernetes/enc/enc.yaml"
GOOD_POLICY = b"apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Metadata\n"
GOOD_ENC = b"""apiVersion: apiserver.config.k8s.io/v1
kind: EncryptionConfiguration
resources:
- resources: [secrets]
  providers:
  - aescbc:
      keys:
      - name: key1
        secret: MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=
  - identity: {}
"""
FAILED = re.compile(r'^E\d{4} [\d:.]+ +\d+ run\.go:72\] "command failed" err="(.*)"$', re.M)


@pytest.mark.parametrize(
    ("data", "minor", "expected"),
    [
        pytest.param(
            None,
            31,
            f'loading audit policy file: failed to read file path "{POLICY}": '
            f"open {POLICY}: no such file or directory",
            id="missing",
        ),
        pytest.param(
            b"rules:\n- level: Metadata\n  - x\n",
            31,
            "loading audit policy file: failed decoding: yaml: line 2: did not find expected key"
            f": from file {POLICY}",
            id="yaml-syntax-parser-line",
        ),
        pytest.param(
            GOOD_POLICY.replace(b"/v1", b"/v1beta1"),
            31,
            'loading audit policy file: failed decoding: no kind "Policy" is registered for '
            'version "audit.k8s.io/v1beta1" in scheme "k8s.io/apiserver/pkg/audit/scheme.go:30"'
            f": from file {POLICY}",
            id="removed-version",
        ),
        pytest.param(
            b"kind: Policy\nrules:\n- level: Metadata\n",
            31,
            "loading audit policy file: unknown group version field "
            "audit.k8s.io/__internal, Kind=Policy in policy",
            id="no-apiversion",
        ),
        pytest.param(
            b"",
            31,
            "loading audit policy file: unknown group version field "
            "audit.k8s.io/__internal, Kind=Policy in policy",
            id="empty-file",
        ),
        pytest.param(
            GOOD_POLICY.replace(b"Metadata", b"Everything"),
            31,
            'loading audit policy file: rules[0].level: Unsupported value: "Everything": '
            'supported values: "None", "Metadata", "Request", "RequestResponse"',
            id="unknown-level",
        ),
        pytest.param(
            GOOD_POLICY.replace(
                b"- level: Metadata\n", b"- level: None\n  resourceNames: [x]\n"
            ).replace(b"resourceNames: [x]", b"resources: [{resourceNames: [x]}]"),
            33,
            "loading audit policy file: rules[0].resources.resourceNames: Invalid value: "
            '[]string{"x"}: using resourceNames requires at least one resource',
            id="list-value-go-syntax",
        ),
        pytest.param(
            GOOD_POLICY.replace(
                b"- level: Metadata\n", b"- level: None\n  resourceNames: [x]\n"
            ).replace(b"resourceNames: [x]", b"resources: [{resourceNames: [x]}]"),
            34,
            "loading audit policy file: rules[0].resources.resourceNames: Invalid value: "
            '["x"]: using resourceNames requires at least one resource',
            id="list-value-json-from-1.34",
        ),
        pytest.param(
            b"apiVersion: audit.k8s.io/v1\nkind: Policy\n",
            31,
            "loading audit policy file: loaded illegal policy with 0 rules",
            id="no-rules",
        ),
    ],
)
def test_audit_policy_errors(data: bytes | None, minor: int, expected: str) -> None:
    assert policy_error(POLICY, data, minor)[0] == expected


def test_audit_policy_unknown_field_only_warns_as_upstream_falls_back_to_lenient() -> None:
    error, policy = policy_error(POLICY, GOOD_POLICY + b"  verbz: [get]\n", 31)
    assert error is None and policy is not None
    assert policy.warning == (
        "Audit policy contains errors, falling back to lenient decoding: "
        'strict decoding error: unknown field "rules[0].verbz"'
    )


@pytest.mark.parametrize(
    ("data", "minor", "expected"),
    [
        pytest.param(
            None,
            28,
            "error while parsing file: error opening encryption provider configuration file "
            f'"{ENC}": open {ENC}: no such file or directory',
            id="missing-1.28",
        ),
        pytest.param(
            None,
            31,
            "error while parsing file: error while loading file: error reading encryption "
            f'provider configuration file "{ENC}": open {ENC}: no such file or directory',
            id="missing-1.31",
        ),
        pytest.param(
            b"",
            31,
            "error while parsing file: error while loading file: encryption provider "
            f'configuration file "{ENC}" is empty',
            id="empty",
        ),
        pytest.param(
            GOOD_ENC.replace(b"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=", b"c2hvcnQ="),
            31,
            "error while parsing file: resources[0].providers[0].aescbc.keys[0].secret: Invalid "
            'value: "REDACTED": secret is not of the expected length, got 5, expected one of '
            "[16 24 32]",
            id="short-aes-key",
        ),
        pytest.param(
            GOOD_ENC.replace(b"aescbc", b"secretbox").replace(
                b"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=", b"MDEyMzQ1Njc4OWFiY2RlZg=="
            ),
            31,
            "error while parsing file: resources[0].providers[0].secretbox.keys[0].secret: "
            'Invalid value: "REDACTED": secret is not of the expected length, got 16, '
            "expected one of [32]",
            id="secretbox-needs-32",
        ),
        pytest.param(
            GOOD_ENC.replace(b"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=", b"not base64!"),
            31,
            "error while parsing file: resources[0].providers[0].aescbc.keys[0].secret: Invalid "
            'value: "REDACTED": secrets must be base64 encoded',
            id="not-base64",
        ),
        pytest.param(
            GOOD_ENC.replace(b"secret:", b"secrt:"),
            31,
            "error while parsing file: error decoding encryption provider configuration file "
            f'"{ENC}": strict decoding error: unknown field '
            '"resources[0].providers[0].aescbc.keys[0].secrt"',
            id="strict-from-1.31",
        ),
        pytest.param(
            GOOD_ENC.replace(b"kind: EncryptionConfiguration", b"kind: EncryptionConfigurations"),
            31,
            "error while parsing file: error decoding encryption provider configuration file "
            f'"{ENC}": no kind "EncryptionConfigurations" is registered for version '
            '"apiserver.config.k8s.io/v1" in scheme '
            '"k8s.io/apiserver/pkg/server/options/encryptionconfig/config.go:130"',
            id="unknown-kind",
        ),
        pytest.param(
            GOOD_ENC.replace(b"EncryptionConfiguration", b"AdmissionConfiguration"),
            31,
            "error while parsing file: got unexpected config type: "
            "apiserver.config.k8s.io/v1, Kind=AdmissionConfiguration",
            id="other-registered-kind",
        ),
        pytest.param(
            GOOD_ENC + b"- resources: ['*.']\n  providers: [{identity: {}}]\n"
            b"- resources: [pods]\n  providers: [{identity: {}}]\n",
            31,
            'error while building transformers: resource "pods" is masked by earlier rule "*."',
            id="masked-resource",
        ),
        pytest.param(
            GOOD_ENC.replace(b"  - identity: {}\n", b"  - kms: {name: k, endpoint: unix:///k}\n"),
            31,
            "error while building transformers: KMSv1 is deprecated and will only receive "
            "security updates going forward. Use KMSv2 instead.  Set --feature-gates=KMSv1=true "
            "to use the deprecated KMSv1 feature.",
            id="kms-v1-gate-off",
        ),
    ],
)
def test_encryption_config_errors(data: bytes | None, minor: int, expected: str) -> None:
    assert load_encryption(ENC, data, minor, reload=False, kms_v1=False)[0] == expected


def test_encryption_element_with_no_or_two_providers_prints_the_struct() -> None:
    two = GOOD_ENC.replace(b"  - identity: {}\n", b"    identity: {}\n  - {}\n")
    assert load_encryption(ENC, two, 34, reload=False, kms_v1=False)[0] == (
        "error while parsing file: [resources[0].providers[0]: Invalid value: "
        '{"AESGCM":null,"AESCBC":{"Keys":[{"Name":"key1","Secret":'
        '"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="}]},"Secretbox":null,"Identity":{},'
        '"KMS":null}: more than one provider specified in a single element, should split into '
        "different list elements, resources[0].providers[1]: Invalid value: "
        '{"AESGCM":null,"AESCBC":null,"Secretbox":null,"Identity":null,"KMS":null}: provider '
        "does not contain any of the expected providers: KMS, AESGCM, AESCBC, Secretbox, "
        "Identity]"
    )
    empty = GOOD_ENC.replace(b"  - identity: {}\n", b"  - {}\n")
    assert load_encryption(ENC, empty, 31, reload=False, kms_v1=False)[0] == (
        "error while parsing file: resources[0].providers[1]: Invalid value: "
        "apiserver.ProviderConfiguration{AESGCM:(*apiserver.AESConfiguration)(nil), "
        "AESCBC:(*apiserver.AESConfiguration)(nil), "
        "Secretbox:(*apiserver.SecretboxConfiguration)(nil), "
        "Identity:(*apiserver.IdentityConfiguration)(nil), "
        "KMS:(*apiserver.KMSConfiguration)(nil)}: provider does not contain any of the expected "
        "providers: KMS, AESGCM, AESCBC, Secretbox, Identity"
    ), "%#v before 1.34"


def test_encryption_identity_first_is_accepted_as_upstream_does() -> None:
    reordered = GOOD_ENC.replace(b"  - identity: {}\n", b"").replace(
        b"  providers:\n", b"  providers:\n  - identity: {}\n"
    )
    error, config = load_encryption(ENC, reordered, 34, reload=False, kms_v1=False)
    assert error is None and config is not None
    assert config.hash.startswith("sha256:")


def test_authorization_config_webhook_missing_fields() -> None:
    data = b"""apiVersion: apiserver.config.k8s.io/v1
kind: AuthorizationConfiguration
authorizers:
- type: Webhook
  name: webhook
  webhook:
    timeout: 3s
    connectionInfo:
      type: KubeConfigFile
- type: Fancy
"""
    assert authorization_error("/a.yaml", data, 32, lambda _: True) == (
        "[authorizers[0].subjectAccessReviewVersion: Required value, "
        "authorizers[0].failurePolicy: Required value, "
        "authorizers[0].connectionInfo.kubeConfigFile: Required value, "
        'authorizers[1].type: Unsupported value: "Fancy": supported values: "ABAC", '
        '"AlwaysAllow", "AlwaysDeny", "Node", "RBAC", "Webhook"]'
    )
    assert authorization_error("/a.yaml", data, 31, lambda _: True) == (
        "failed to load AuthorizationConfiguration from file: no kind "
        '"AuthorizationConfiguration" is registered for version "apiserver.config.k8s.io/v1" '
        'in scheme "k8s.io/apiserver/pkg/apis/apiserver/load/load.go:32"'
    ), "v1 arrived in 1.32"


def test_authorization_config_kube_apiserver_checks_and_empty_file() -> None:
    named = b"""apiVersion: apiserver.config.k8s.io/v1
kind: AuthorizationConfiguration
authorizers:
- type: Node
  name: nodes
- type: RBAC
  name: rbac
"""
    assert authorization_error("/a.yaml", named, 32, lambda _: True) == (
        "expected name node for authorizer Node instead of nodes"
    )
    assert authorization_error("/a.yaml", b"", 32, lambda _: True) == (
        "authorizers: Required value: at least one authorization mode must be defined"
    ), "an empty file is the default configuration, which has no authorizer"
    assert authorization_error("/a.yaml", None, 29, lambda _: True) == (
        "failed to load AuthorizationConfiguration from file: "
        "open /a.yaml: no such file or directory"
    ), "1.29 read inside the load wrapper"


def test_admission_egress_and_tracing_texts() -> None:
    assert admission_error("/adm.yaml", None, 29) == (
        "failed to initialize admission: failed to read plugin config: unable to read admission "
        'control configuration from "/adm.yaml" [open /adm.yaml: no such file or directory]'
    )
    assert admission_error("/adm.yaml", b"podNodeSelectorPluginConfig: {}\n", 31) is None
    egress = b"""apiVersion: apiserver.k8s.io/v1beta1
kind: EgressSelectorConfiguration
egressSelections:
- name: master
  connection: {proxyProtocol: Direct}
"""
    assert egress_config_error(egress, 31) == (
        "failed to validate egress selector configuration: service.connection: Unsupported "
        'value: "master": supported values: "cluster", "controlplane", "etcd"'
    )
    tracing = b"apiVersion: apiserver.config.k8s.io/v1beta1\nkind: TracingConfiguration\nrate: 1\n"
    assert tracing_error(tracing, 31) is None, "lenient before 1.32"
    assert tracing_error(tracing, 32) == (
        "failed to read tracing config: unable to decode tracing configuration data: "
        'strict decoding error: unknown field "rate"'
    )
    bad = tracing.replace(
        b"rate: 1", b"samplingRatePerMillion: 2000000\nendpoint: http://otel:4317"
    )
    assert tracing_error(bad, 34) == (
        "failed to validate tracing configuration: [samplingRatePerMillion: Invalid value: "
        "2000000: sampling rate per million must be less than or equal to one million, "
        'endpoint: Invalid value: "http://otel:4317": unsupported scheme: http.  Options are '
        "none, dns, unix, or unix-abstract.  See https://github.com/grpc/grpc/blob/master/doc/"
        "naming.md]"
    )


def test_authorization_config_outside_every_mount_fails_validation(tmp_path: Path) -> None:
    pki = "/etc/kubernetes/pki"
    mounts = json.dumps([{"mountPath": pki, "hostPath": str(tmp_path), "readOnly": True}])
    argv = [
        "--etcd-servers=https://127.0.0.1:2379",
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
        f"--service-account-signing-key-file={pki}/sa.key",
        f"--service-account-key-file={pki}/sa.pub",
        f"--tls-cert-file={pki}/apiserver.crt",
        f"--tls-private-key-file={pki}/apiserver.key",
        "--authorization-config=/etc/kubernetes/authz/config.yaml",
    ]
    (tmp_path / "sa.key").write_text("x")
    err = io.StringIO()
    env = {"DEPLOYER_LAB_VERSION": "1.32.9", "DEPLOYER_LAB_MOUNTS": mounts}
    assert main(argv, env, io.StringIO(), err) == 1
    match = FAILED.search(err.getvalue())
    assert match, err.getvalue()
    assert match.group(1) == "open /etc/kubernetes/authz/config.yaml: no such file or directory"


AUTHN = b"""apiVersion: apiserver.config.k8s.io/v1beta1
kind: AuthenticationConfiguration
jwt:
- issuer:
    url: http://issuer.example.com?x=1
    audiences: [a, b]
  claimMappings:
    username: {claim: sub, prefix: ""}
"""


def test_authentication_config_issuer_and_audiences() -> None:
    path = "/etc/kubernetes/authn.yaml"
    assert authentication_error(path, AUTHN, 31) == (
        "invalid authentication configuration: ["
        'jwt[0].issuer.url: Invalid value: "http://issuer.example.com?x=1": URL scheme must be '
        "https, "
        'jwt[0].issuer.url: Invalid value: "http://issuer.example.com?x=1": URL must not contain '
        "a query, "
        'jwt[0].issuer.audienceMatchPolicy: Invalid value: "": audienceMatchPolicy must be '
        "MatchAny for multiple audiences]"
    )
    no_url = AUTHN.replace(b"url: http://issuer.example.com?x=1", b"url: ''")
    assert authentication_error(path, no_url, 33) == (
        "invalid authentication configuration: [jwt[0].issuer.url: Required value: URL is "
        'required, jwt[0].issuer.audienceMatchPolicy: Invalid value: "": audienceMatchPolicy '
        "must be MatchAny for multiple audiences]"
    )
    assert authentication_error(path, no_url, 34) == (
        "invalid authentication configuration: [jwt[0].issuer.url: Required value, "
        'jwt[0].issuer.audienceMatchPolicy: Invalid value: "": audienceMatchPolicy must be '
        "MatchAny for multiple audiences]"
    ), "v0.34 dropped the detail"
    assert authentication_error(path, None, 31) == (
        f'failed to load authentication configuration from file "{path}": '
        f"open {path}: no such file or directory"
    )
    assert authentication_error(path, b"", 31) == (
        f'failed to load authentication configuration from file "{path}": empty config data'
    )
    typo = AUTHN.replace(b"jwt:", b"jwts:")
    assert authentication_error(path, typo, 31) == (
        f'failed to load authentication configuration from file "{path}": '
        'strict decoding error: unknown field "jwts"'
    )


def test_missing_egress_and_tracing_files_join_the_validate_aggregate(tmp_path: Path) -> None:
    pki = "/etc/kubernetes/pki"
    mounts = json.dumps([{"mountPath": pki, "hostPath": str(tmp_path), "readOnly": True}])
    (tmp_path / "sa.key").write_text("x")
    argv = [
        "--etcd-servers=https://127.0.0.1:2379",
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
        f"--service-account-signing-key-file={pki}/sa.key",
        f"--service-account-key-file={pki}/sa.pub",
        f"--tls-cert-file={pki}/apiserver.crt",
        f"--tls-private-key-file={pki}/apiserver.key",
        f"--egress-selector-config-file={pki}/egress.yaml",
        "--tracing-config-file=/etc/kubernetes/tracing.yaml",
    ]
    err = io.StringIO()
    env = {"DEPLOYER_LAB_VERSION": "1.31.13", "DEPLOYER_LAB_MOUNTS": mounts}
    assert main(argv, env, io.StringIO(), err) == 1
    match = FAILED.search(err.getvalue())
    assert match, err.getvalue()
    assert match.group(1) == (
        f"[egress-selector-config-file {pki}/egress.yaml does not exist, "
        "tracing-config-file /etc/kubernetes/tracing.yaml does not exist]"
    )
