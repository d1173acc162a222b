"""``-vvv``: every HTTPS request through a tunnel and every remote command, logged to stderr.

Why kubectl's shape: operators debug the API with ``kubectl get pods --v=8`` and know its
output, so deployer's probes are logged the way client-go's debugging round tripper prints
them (``k8s.io/client-go/transport/round_trippers.go``: the method and URL, ``Request
Headers:`` one per line, ``Response Status: 200 OK in 3 milliseconds``, ``Response Headers:``)
with the body as ``k8s.io/client-go/rest/request.go`` shows it at ``--v=8``: the first 1024
characters, then ``[truncated N chars]``. Credentials never appear: an ``Authorization``
header is shown as ``<masked>`` (client-go masks it the same way), the client certificate is
named by its subject (public), and bodies and command lines go through
:func:`deployer.report.masking.mask_secrets`. What a command reads on stdin (manifests, sudo
passwords) is counted, never shown.

The lines go to the ``deployer.requests`` logger at DEBUG, which only ``-vvv`` enables.
"""

from __future__ import annotations

import http
import logging
from collections.abc import Sequence

from deployer.model.report import CommandResult
from deployer.report.masking import mask_secrets

__all__ = [
    "BODY_LIMIT",
    "LOGGER_NAME",
    "is_enabled",
    "log_command",
    "log_command_counts",
    "log_exchange",
    "log_transfer",
]

#: The logger ``-vvv`` turns on.
LOGGER_NAME = "deployer.requests"
#: client-go's body limit at ``--v=8`` (``truncateBody`` in ``rest/request.go``).
BODY_LIMIT = 1024
#: Each argument of a logged command is cut here (the observation script is long, and its
#: text is the same every time).
_ARG_LIMIT = 120
_MASKED_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie"})

_log = logging.getLogger(LOGGER_NAME)


def is_enabled() -> bool:
    """True when ``-vvv`` asked for the request log (skip the formatting otherwise)."""
    return _log.isEnabledFor(logging.DEBUG)


def _header_lines(headers: Sequence[tuple[str, str]]) -> list[str]:
    lines = []
    for name, value in headers:
        shown = "<masked>" if name.lower() in _MASKED_HEADERS else mask_secrets(value)
        lines.append(f"    {_canonical(name)}: {shown}")
    return lines


def _canonical(name: str) -> str:
    """Go's canonical header form (``textproto.CanonicalMIMEHeaderKey``): ``Content-Type``."""
    return "-".join(part[:1].upper() + part[1:].lower() for part in name.split("-"))


def _body(body: bytes) -> str:
    text = mask_secrets(body.decode("utf-8", "replace"))
    if len(text) <= BODY_LIMIT:
        return text
    return text[:BODY_LIMIT] + f" [truncated {len(text) - BODY_LIMIT} chars]"


def _status(status: int) -> str:
    try:
        return f"{status} {http.HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)


def log_exchange(
    *,
    method: str,
    url: str,
    request_headers: Sequence[tuple[str, str]],
    client_identity: str | None,
    duration_s: float,
    status: int | None = None,
    response_headers: Sequence[tuple[str, str]] = (),
    body: bytes = b"",
    error: str | None = None,
) -> None:
    """Log one HTTPS request as ``kubectl --v=8`` would (no-op unless ``-vvv``)."""
    if not is_enabled():
        return
    lines = [f"{method} {url}", "Request Headers:", *_header_lines(request_headers)]
    if client_identity:
        lines.append(f"    (TLS client certificate: {client_identity})")
    millis = int(duration_s * 1000)
    if error is not None or status is None:
        lines.append(
            f"Response Error: {mask_secrets(error or 'no response')} in {millis} milliseconds"
        )
    else:
        lines.append(f"Response Status: {_status(status)} in {millis} milliseconds")
        lines += ["Response Headers:", *_header_lines(response_headers)]
        lines.append(f"Response Body: {_body(body)}")
    for line in lines:
        _log.debug("%s", line)


def _arg(arg: str) -> str:
    if len(arg) <= _ARG_LIMIT:
        return arg
    return f"{arg[:_ARG_LIMIT]}…[{len(arg) - _ARG_LIMIT} more chars]"


def log_command(result: CommandResult, *, stdin_bytes: int = 0) -> None:
    """Log one remote command: argv (masked), exit status, duration, bytes (no-op unless -vvv)."""
    if not is_enabled():
        return
    log_command_counts(
        result.host,
        result.argv,
        exit_code=result.exit_code,
        duration_s=result.duration_s,
        stdin_bytes=stdin_bytes,
        stdout_bytes=len(result.stdout.encode()),
        stderr_bytes=len(result.stderr.encode()),
    )


def log_command_counts(
    host: str,
    argv: Sequence[str],
    *,
    exit_code: int,
    duration_s: float,
    stdin_bytes: int = 0,
    stdout_bytes: int = 0,
    stderr_bytes: int = 0,
) -> None:
    """Log a command known by its counts only (a file read whose bytes must not be kept)."""
    if not is_enabled():
        return
    shown = " ".join(_arg(a.replace("\n", "\\n")) for a in argv)
    _log.debug(
        "[%s] run %s -> exit %d in %d milliseconds (stdin %d bytes, stdout %d bytes, "
        "stderr %d bytes)",
        host,
        mask_secrets(shown),
        exit_code,
        int(duration_s * 1000),
        stdin_bytes,
        stdout_bytes,
        stderr_bytes,
    )


def log_transfer(host: str, operation: str, path: str, *, size: int, duration_s: float) -> None:
    """Log one SFTP transfer (``read``, ``write``): path and size, never the content."""
    if not is_enabled():
        return
    _log.debug(
        "[%s] sftp %s %s: %d bytes in %d milliseconds",
        host,
        operation,
        path,
        size,
        int(duration_s * 1000),
    )
