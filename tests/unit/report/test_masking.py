from __future__ import annotations

import doctest

import pytest

import deployer.report.masking as masking
from deployer.report.masking import mask_secrets, mask_token_auth_file, mask_value

PEM = (
    "-----BEGIN EC PRIVATE KEY-----\n"
    "MHcCAQEEIIGlRnT3J6SzaOcS0Y3Kc6x1fYfIfS6Yp3rZk2b0ZQ6QoAoGCCqGSM49\n"
    "-----END EC PRIVATE KEY-----"
)
CERT = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUJ\n-----END CERTIFICATE-----"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # private keys go, certificates (public) stay
        (
            f"key:\n{PEM}\nend",
            "key:\n-----BEGIN EC PRIVATE KEY-----***-----END EC PRIVATE KEY-----\nend",
        ),
        (
            "-----BEGIN PRIVATE KEY-----\nMIIE truncated",
            "-----BEGIN PRIVATE KEY-----***-----END PRIVATE KEY-----",
        ),
        (CERT, CERT),
        # kubeconfig-like YAML, also inside a diff and list items
        ("    client-key-data: LS0tLS1CRUdJTg==", "    client-key-data: ***"),
        ("+    client-key-data: LS0tLS1CRUdJTg==", "+    client-key-data: ***"),
        ("- token: abc.def", "- token: ***"),
        (
            "users:\n- name: admin\n  user:\n    token: 0123abcd\n",
            "users:\n- name: admin\n  user:\n    token: ***\n",
        ),
        ("    password: hunter2  ", "    password: ***"),
        ("  tokenFile: /var/run/secrets/token", "  tokenFile: /var/run/secrets/token"),
        ("automountServiceAccountToken: false", "automountServiceAccountToken: false"),
        # JSON
        (
            '{"client-key-data": "LS0t", "server": "https://x"}',
            '{"client-key-data": "***", "server": "https://x"}',
        ),
        ('{"access_token":"ya29.a0Af"}', '{"access_token":"***"}'),
        # flags: secret values go, paths, booleans and durations stay
        ("- --oidc-client-secret=s3cr3t", "- --oidc-client-secret=***"),
        (
            "--token-auth-file=/etc/kubernetes/tokens.csv",
            "--token-auth-file=/etc/kubernetes/tokens.csv",
        ),
        ("--enable-bootstrap-token-auth=true", "--enable-bootstrap-token-auth=true"),
        (
            "--service-account-max-token-expiration=48h",
            "--service-account-max-token-expiration=48h",
        ),
        ("kubectl --token abcdef123 get pods", "kubectl --token *** get pods"),
        ("kubectl --token=abcdef123 get pods", "kubectl --token=*** get pods"),
        ('--password="two words"', '--password="***"'),
        # bearer and other Authorization schemes, URLs with a password
        ("Authorization: Bearer eyJhbGciOi.x.y", "Authorization: Bearer ***"),
        ("curl -H 'Authorization: Basic dXNlcjpwYXNz'", "curl -H 'Authorization: Basic ***'"),
        ("https://admin:pa55@10.0.0.1:6443/", "https://admin:***@10.0.0.1:6443/"),
        # static token file lines (token,user,uid[,"groups"])
        (
            '31ada4fd-adec-460c-809a-9e56ceb75269,admin,1,"system:masters"',
            '***,admin,1,"system:masters"',
        ),
        ("+a1b2c3d4e5,kubelet,2", "+***,kubelet,2"),
        # things that only look a little like secrets stay readable
        (
            "NamespaceLifecycle,LimitRanger,ServiceAccount",
            "NamespaceLifecycle,LimitRanger,ServiceAccount",
        ),
        (
            "    - --enable-admission-plugins=NodeRestriction,Foo",
            "    - --enable-admission-plugins=NodeRestriction,Foo",
        ),
        ("/readyz stayed 500 for 30 s", "/readyz stayed 500 for 30 s"),
    ],
)
def test_mask_secrets(text: str, expected: str) -> None:
    assert mask_secrets(text) == expected


def test_masking_is_idempotent() -> None:
    text = f"{PEM}\n--oidc-client-secret=x1y2z3\ntoken: abc\nBearer zzz"
    once = mask_secrets(text)
    assert mask_secrets(once) == once


def test_a_known_token_file_is_masked_line_by_line() -> None:
    content = 'plainword,admin,1,"system:masters"\n\nother,bob,2\n'
    assert mask_token_auth_file(content) == '***,admin,1,"system:masters"\n\n***,bob,2\n'


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("token", "s3cr3t", "***"),
        ("client_secret", "abc", "***"),
        ("tokenFile", "/etc/tokens.csv", "/etc/tokens.csv"),
        ("note", "Bearer abc", "Bearer ***"),
        ("name", "cp1", "cp1"),
    ],
)
def test_mask_value_uses_the_key_name(name: str, value: str, expected: str) -> None:
    assert mask_value(name, value) == expected


def test_docstring_examples_hold() -> None:
    result = doctest.testmod(masking, raise_on_error=False)
    assert result.attempted >= 4
    assert result.failed == 0
