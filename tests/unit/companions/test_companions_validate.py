"""The entry points: kind resolution, exit codes, problems that name file and flag, and the
Go URL parser the URL checks depend on."""

from __future__ import annotations

from pathlib import Path

import pytest

from deployer.companions import Options, check_companion, resolve_secrets, validate_companion
from deployer.companions.fielderrors import FieldPath, invalid
from deployer.companions.gourl import GoURLError, parse_url
from deployer.errors import ExitCode, ValidationError, exit_code_for
from deployer.inventory.yamlfile import load_yaml_text
from deployer.model.host import Secret

POLICY = {"apiVersion": "audit.k8s.io/v1", "kind": "Policy", "rules": [{"level": "Metadata"}]}


def test_a_good_file_has_no_problem() -> None:
    assert validate_companion("audit.yaml", POLICY, "1.31") == ()
    assert check_companion("audit.yaml", POLICY, "1.31") == ()


def test_a_bad_file_is_exit_6_naming_file_and_flag() -> None:
    bad = {**POLICY, "rules": [{"level": "Verbose"}]}
    with pytest.raises(ValidationError) as caught:
        check_companion("policies/audit.yaml", bad, "1.31")
    assert exit_code_for(caught.value) is ExitCode.INVALID_INPUT
    text = str(caught.value)
    assert "[policies/audit.yaml] [--audit-policy-file] Policy: rules[0].level: Unsupported" in text
    assert "hint: kube-apiserver would refuse to start with this file" in text


def test_warnings_do_not_fail() -> None:
    lenient = {**POLICY, "rules": [{"level": "Metadata", "verb": ["get"]}]}
    (warning,) = check_companion("audit.yaml", lenient, "1.31")
    assert warning.is_warning


def test_an_unknown_kind_names_the_kinds_deployer_knows() -> None:
    (problem,) = validate_companion("x.yaml", {"apiVersion": "v1", "kind": "ConfigMap"}, "1.31")
    assert problem.message == "unknown companion kind ConfigMap"
    assert problem.hint is not None
    assert "EncryptionConfiguration" in problem.hint
    (none,) = validate_companion("x.yaml", ["a", "list"], "1.31")
    assert none.message == "unknown companion kind (none)"


def test_a_document_that_is_not_an_object() -> None:
    (problem,) = validate_companion("x.yaml", ["a"], "1.31", kind="Policy")
    assert problem.message == "Policy: couldn't get version/kind: the document is a array"


def test_a_kind_the_minor_does_not_read() -> None:
    doc = {"apiVersion": "apiserver.config.k8s.io/v1alpha1", "kind": "AuthenticationConfiguration"}
    (problem,) = validate_companion("authn.yaml", doc, "1.28")
    assert problem.message == (
        "AuthenticationConfiguration: kube-apiserver 1.28 has no --authentication-config: it "
        "reads no AuthenticationConfiguration file"
    )


def test_an_unknown_api_version_hints_at_the_accepted_ones() -> None:
    doc = {**POLICY, "apiVersion": "audit.k8s.io/v2"}
    (problem,) = validate_companion("audit.yaml", doc, "1.33")
    assert (
        problem.hint == "kube-apiserver 1.33 reads --audit-policy-file as: audit.k8s.io/v1 Policy"
    )


def test_missing_kind_and_api_version() -> None:
    (no_kind,) = validate_companion(
        "a.yaml", {"apiVersion": "audit.k8s.io/v1"}, "1.31", kind="Policy"
    )
    assert no_kind.message == "Policy: Object 'Kind' is missing"
    (no_version,) = validate_companion("a.yaml", {"kind": "Policy"}, "1.31")
    assert no_version.message == "Policy: Object 'apiVersion' is missing"


def test_a_bad_duration_is_go_s_parse_error() -> None:
    doc = {
        "apiVersion": "apiserver.config.k8s.io/v1",
        "kind": "AuthorizationConfiguration",
        "authorizers": [{"type": "Webhook", "name": "w", "webhook": {"timeout": "3 seconds"}}],
    }
    (problem,) = validate_companion("authz.yaml", doc, "1.32")
    assert problem.message == (
        "AuthorizationConfiguration: authorizers[0].webhook.timeout: "
        'time: unknown unit " seconds" in duration "3 seconds"'
    )


def test_kms_v1_names_must_be_unique_when_the_config_reloads() -> None:
    kms = {"name": "kms", "endpoint": "unix:///kms.sock"}
    doc = {
        "apiVersion": "apiserver.config.k8s.io/v1",
        "kind": "EncryptionConfiguration",
        "resources": [{"resources": ["secrets"], "providers": [{"kms": kms}, {"kms": kms}]}],
    }
    gates = {"KMSv1": True}
    assert validate_companion("e.yaml", doc, "1.31", options=Options(gates=gates)) == ()
    (problem,) = validate_companion(
        "e.yaml", doc, "1.31", options=Options(gates=gates, encryption_reload=True)
    )
    assert problem.message.endswith("duplicate KMS provider name kms, names must be unique")


def test_secret_values_print_as_the_mask() -> None:
    error = invalid(FieldPath(("a",)), [Secret("hunter2")], "bad")
    assert error.text(json_values=True) == 'a: Invalid value: ["***"]: bad'
    assert error.text(json_values=False) == 'a: Invalid value: []interface {}{"***"}: bad'


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (":foo", 'parse ":foo": missing protocol scheme'),
        ("1a:b", 'parse "1a:b": first path segment in URL cannot contain colon'),
        ("https://host:abc/x", 'parse "https://host:abc/x": invalid port ":abc" after host'),
        ("https://[::1/x", "parse \"https://[::1/x\": missing ']' in host"),
        ("https://a\nb", 'parse "https://a\\nb": net/url: invalid control character in URL'),
    ],
)
def test_go_url_errors(raw: str, message: str) -> None:
    with pytest.raises(GoURLError) as caught:
        parse_url(raw)
    assert str(caught.value) == message


def test_go_url_parts() -> None:
    url = parse_url("HTTPS://user@idp.example.com:8443/realms/x?a=1#f")
    assert (url.scheme, url.has_user, url.host, url.path) == (
        "https",
        True,
        "idp.example.com:8443",
        "/realms/x",
    )
    assert (url.raw_query, url.fragment) == ("a=1", "f")
    assert parse_url("unix:///var/run/kms.sock").scheme == "unix"
    assert parse_url("/var/run/kms.sock").scheme == ""


LINED = """\
apiVersion: apiserver.config.k8s.io/v1
kind: EncryptionConfiguration
resources:
  - resources: [secrets]
    providers:
      - aescbc:
          keys:
            - name: key1
              secret: {secret_env: SHORT}
      - identity: {}
      - aesgcm:
          kes: []
"""


def test_problems_carry_the_line_of_the_field(tmp_path: Path) -> None:
    parsed = load_yaml_text(LINED, "enc.yaml")
    assert parsed.problems == []
    doc = resolve_secrets(
        parsed.data, file="enc.yaml", base_dir=tmp_path, environ={"SHORT": "YQ=="}
    )
    (strict,) = validate_companion("enc.yaml", doc, "1.31")
    assert strict.line == 12
    assert str(strict).startswith("[enc.yaml:12] [--encryption-provider-config]")
    lenient = validate_companion("enc.yaml", doc, "1.30")
    assert [(p.line, p.is_warning) for p in lenient] == [(12, True), (9, False), (11, False)]
