"""The table of flags that name host files."""

from __future__ import annotations

from pathlib import PurePosixPath

from deployer.render import referenced_files
from deployer.render.paths import PATH_FLAGS, PathKind, ReferencedFile


def test_files_read_are_listed_read_only() -> None:
    found = referenced_files({"client-ca-file": "/etc/kubernetes/pki/ca.crt", "v": "2"})
    assert found == [
        ReferencedFile(
            "client-ca-file",
            PurePosixPath("/etc/kubernetes/pki/ca.crt"),
            must_be_writable=False,
            is_dir=False,
            value="/etc/kubernetes/pki/ca.crt",
        )
    ]


def test_the_audit_log_needs_its_folder_writable_unless_it_goes_to_stdout() -> None:
    (log,) = referenced_files({"audit-log-path": "/var/log/kubernetes/audit.log"})
    assert (log.path, log.must_be_writable, log.is_dir) == (
        PurePosixPath("/var/log/kubernetes"),
        True,
        True,
    )
    assert referenced_files({"audit-log-path": "-"}) == []


def test_cert_dir_counts_only_without_serving_certificates() -> None:
    assert [f.flag for f in referenced_files({"cert-dir": "/var/run/kubernetes"})] == ["cert-dir"]
    with_cert = referenced_files({"cert-dir": "/var/run/kubernetes", "tls-cert-file": "/c.crt"})
    assert [f.flag for f in with_cert] == ["tls-cert-file"]


def test_sni_pairs_and_repeated_flags_give_one_entry_per_path() -> None:
    found = referenced_files(
        {
            "tls-sni-cert-key": "/sni/a.crt,/sni/a.key:a.example,b.example",
            "service-account-key-file": ["/pki/sa-old.pub", "/pki/sa.pub"],
        }
    )
    assert [(f.flag, str(f.path)) for f in found] == [
        ("service-account-key-file", "/pki/sa-old.pub"),
        ("service-account-key-file", "/pki/sa.pub"),
        ("tls-sni-cert-key", "/sni/a.crt"),
        ("tls-sni-cert-key", "/sni/a.key"),
    ]


def test_empty_values_name_no_file_and_relative_paths_are_flagged() -> None:
    assert referenced_files({"oidc-ca-file": ""}) == []
    (relative,) = referenced_files({"token-auth-file": "tokens.csv"})
    assert not relative.is_absolute


def test_the_table_covers_the_flags_the_brief_names() -> None:
    named = {
        "tls-cert-file", "tls-private-key-file", "client-ca-file", "etcd-cafile", "etcd-certfile",
        "etcd-keyfile", "kubelet-client-certificate", "kubelet-client-key",
        "proxy-client-cert-file", "proxy-client-key-file", "requestheader-client-ca-file",
        "service-account-key-file", "service-account-signing-key-file", "audit-policy-file",
        "audit-log-path", "encryption-provider-config", "admission-control-config-file",
        "authorization-config", "authentication-config", "token-auth-file", "oidc-ca-file",
        "tracing-config-file", "egress-selector-config-file", "authorization-webhook-config-file",
        "authentication-token-webhook-config-file", "tls-sni-cert-key",
    }  # fmt: skip
    assert named <= set(PATH_FLAGS)
    assert PATH_FLAGS["audit-log-path"] is PathKind.WRITTEN_FILE
