"""The stand-in's start, in process and before any socket: what it prints and how it exits."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

from deployer.lab.apiserver.main import main

FAILED = re.compile(r'^E\d{4} [\d:.]+ +\d+ run\.go:72\] "command failed" err="(.*)"$', re.M)
PKI = "/etc/kubernetes/pki"


def run(argv: list[str], env: dict[str, str] | None = None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = main(argv, {"DEPLOYER_LAB_VERSION": "1.31.13", **(env or {})}, out, err)
    return status, out.getvalue(), err.getvalue()


def failure(stderr: str) -> str:
    match = FAILED.search(stderr)
    assert match, stderr
    return match.group(1).replace('\\"', '"')


def test_unknown_flag_is_a_plain_error_line() -> None:
    assert run(["--foo"]) == (1, "", "Error: unknown flag: --foo\n")


def test_bad_value_quotes_pflags_text() -> None:
    status, _, err = run(["--secure-port=abc"])
    assert status == 1
    assert err == (
        'Error: invalid argument "abc" for "--secure-port" flag: '
        'strconv.ParseInt: parsing "abc": invalid syntax\n'
    )


def test_version_flag_prints_the_image_version() -> None:
    assert run(["--version"]) == (0, "Kubernetes v1.31.13\n", "")
    assert run(["--version"], {"DEPLOYER_LAB_VERSION": "1.30.4"})[1] == "Kubernetes v1.30.4\n"


def test_help_prints_usage_and_exits_0() -> None:
    status, out, _ = run(["--help"])
    assert status == 0
    assert "Usage:\n  kube-apiserver [flags]\n" in out


def test_bare_command_line_fails_validation_with_the_aggregate() -> None:
    status, _, err = run(["--tls-cert-file=/x", "--tls-private-key-file=/y"])
    assert status == 1
    assert failure(err) == (
        "[--etcd-servers must be specified, service-account-issuer is a required flag, "
        "--service-account-signing-key-file and --service-account-issuer are required flags]"
    )


def test_pre_run_and_logging_errors_fail_before_the_flag_dump() -> None:
    status, _, err = run(["--feature-gates=wardle:Foo=true", "-v=1"])
    assert status == 1
    assert failure(err) == "component not registered: wardle"
    assert "FLAG:" not in err
    status, _, err = run(["--logging-format=foo", "-v=1"])
    assert failure(err) == 'format: Invalid value: "foo": Unsupported log format'
    assert "FLAG:" not in err


def test_deprecated_flag_warns_then_starts_checking() -> None:
    _, _, err = run(["--apiserver-count=3"])
    assert err.splitlines()[0] == (
        "Flag --apiserver-count has been deprecated, "
        "apiserver-count is deprecated and will be removed in a future version."
    )


def test_signing_key_outside_every_mount_fails_in_complete(tmp_path: Path) -> None:
    mounts = json.dumps([{"mountPath": PKI, "hostPath": str(tmp_path), "readOnly": True}])
    argv = [
        "--etcd-servers=https://127.0.0.1:2379",
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
        "--service-account-signing-key-file=/etc/kubernetes/keys/sa.key",
        f"--tls-cert-file={PKI}/apiserver.crt",
        f"--tls-private-key-file={PKI}/apiserver.key",
        "-v=1",
    ]
    status, _, err = run(argv, {"DEPLOYER_LAB_MOUNTS": mounts})
    assert status == 1
    assert failure(err) == (
        "failed to parse service-account-issuer-key-file: "
        "open /etc/kubernetes/keys/sa.key: no such file or directory"
    )
    assert 'FLAG: --service-account-signing-key-file="/etc/kubernetes/keys/sa.key"' in err
    assert 'FLAG: --advertise-address="<nil>"' in err
    assert 'FLAG: --shutdown-delay-duration="0s"' in err


def test_without_serving_certificates_the_self_signed_pair_cannot_be_written() -> None:
    status, _, err = run(["--etcd-servers=https://127.0.0.1:2379"])
    assert status == 1
    assert failure(err) == (
        "error creating self-signed certificates: mkdir /var/run/kubernetes: permission denied"
    )


def test_an_image_version_without_a_flag_schema_is_refused_clearly() -> None:
    status, _, err = run(["--secure-port=6443"], {"DEPLOYER_LAB_VERSION": "1.40.0"})
    assert status == 1
    assert err.startswith("Error: the lab's kube-apiserver has no flag set for Kubernetes 1.40")


def test_flag_dump_uses_each_pflag_types_string_form() -> None:
    argv = [
        "-v=1",
        "--etcd-servers=https://127.0.0.1:2379,https://127.0.0.2:2379",
        "--allow-metric-labels=a=b",
        "--runtime-config=api/all=true",
        "--vmodule=x=2",
        "--request-timeout=90s",
    ]
    _, _, err = run(argv)
    assert 'FLAG: --etcd-servers="[https://127.0.0.1:2379,https://127.0.0.2:2379]"' in err
    assert 'FLAG: --allow-metric-labels="[a=b]"' in err
    assert 'FLAG: --runtime-config="api/all=true"' in err
    assert 'FLAG: --vmodule="x=2"' in err
    assert 'FLAG: --request-timeout="1m30s"' in err
    assert 'FLAG: --goaway-chance="0"' in err
    assert 'FLAG: --anonymous-auth="true"' in err
