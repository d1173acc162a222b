"""The -vvv request log: kubectl --v=8's shape, and never a credential."""

from __future__ import annotations

import logging

import pytest

from deployer.model.report import CommandResult
from deployer.transport.requestlog import (
    BODY_LIMIT,
    LOGGER_NAME,
    log_command,
    log_exchange,
    log_transfer,
)


def _messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOGGER_NAME]


def test_exchange_is_logged_like_client_gos_debugging_round_tripper(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger=LOGGER_NAME)
    body = b"x" * (BODY_LIMIT + 10)
    log_exchange(
        method="GET",
        url="https://127.0.0.1:6443/metrics",
        request_headers=[("Accept", "*/*"), ("Authorization", "Bearer abc.def.ghi")],
        client_identity="CN=kubernetes-admin,O=system:masters",
        duration_s=0.0042,
        status=200,
        response_headers=[("content-type", "text/plain"), ("audit-id", "1")],
        body=body,
    )
    assert _messages(caplog) == [
        "GET https://127.0.0.1:6443/metrics",
        "Request Headers:",
        "    Accept: */*",
        "    Authorization: <masked>",
        "    (TLS client certificate: CN=kubernetes-admin,O=system:masters)",
        "Response Status: 200 OK in 4 milliseconds",
        "Response Headers:",
        "    Content-Type: text/plain",
        "    Audit-Id: 1",
        f"Response Body: {'x' * BODY_LIMIT} [truncated 10 chars]",
    ]


def test_secrets_in_bodies_and_commands_are_masked(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger=LOGGER_NAME)
    log_exchange(
        method="GET",
        url="https://h:6443/x",
        request_headers=[],
        client_identity=None,
        duration_s=1.0,
        status=500,
        body=b"client-key-data: LS0tLS1CRUdJTiBFQyBQUklWQVRFIEtFWS0tLS0t",
    )
    log_command(
        CommandResult(
            host="cp1",
            argv=("kube-apiserver", "--token-auth-file=/x", "--oidc-client-secret=s3cr3t-value"),
            exit_code=1,
            stdout="out",
            stderr="",
            duration_s=0.25,
        ),
        stdin_bytes=12,
    )
    text = "\n".join(_messages(caplog))
    assert "LS0tLS1" not in text and "s3cr3t" not in text
    assert "Response Status: 500 Internal Server Error in 1000 milliseconds" in text
    assert (
        "[cp1] run kube-apiserver --token-auth-file=/x --oidc-client-secret=*** -> exit 1 in 250 "
        "milliseconds (stdin 12 bytes, stdout 3 bytes, stderr 0 bytes)"
    ) in text


def test_nothing_is_formatted_below_vvv(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER_NAME)
    log_exchange(
        method="GET", url="https://h/x", request_headers=[], client_identity=None, duration_s=0
    )
    assert _messages(caplog) == []


def test_file_reads_are_logged_by_size_only(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger=LOGGER_NAME)
    log_transfer("cp1", "read", "/etc/kubernetes/admin.conf", size=5432, duration_s=0.002)
    assert _messages(caplog) == [
        "[cp1] sftp read /etc/kubernetes/admin.conf: 5432 bytes in 2 milliseconds"
    ]
