"""kube-apiserver's startup checks that flag values alone decide, with the binary's exact texts.

Order of the real binary (``kube-apiserver-validation.md`` section 0), which this follows:
pre-run (gates, 1.31+) -> logging flags -> ``Complete()`` -> ``Validate()`` -> config building.
The binary stops at the first stage that fails; :func:`startup_failure` returns exactly what it
would log in ``"command failed" err="..."``. The offline validator wants every problem at once,
so :func:`check_startup` / :func:`startup_errors` report all stages.

Checks that need files (reading certificates, the signing key, config files) are not here.

Example:
    >>> from deployer.schema import load_flag_schema, parse_command_line
    >>> schema = load_flag_schema("1.31")
    >>> startup_failure(parse_command_line(schema, []), schema)  # doctest: +NORMALIZE_WHITESPACE
    '[--etcd-servers must be specified, service-account-issuer is a required flag,
      --service-account-signing-key-file and --service-account-issuer are required flags]'
"""

from __future__ import annotations

from collections.abc import Callable

from deployer.schema.gates import gate_values, prerun_error
from deployer.schema.gofmt import aggregate
from deployer.schema.gostrconv import GoValueError, atoi, go_quote
from deployer.schema.model import FlagSchema
from deployer.schema.parsed import ParsedFlags
from deployer.schema.startup_auth import (
    admission_errors,
    api_enablement_errors,
    authentication_errors,
    authorization_errors,
    gate_dependency_errors,
    token_request_errors,
)
from deployer.schema.startup_model import CheckContext, Stage, StartupError
from deployer.schema.startup_network import (
    cloud_provider_errors,
    service_ranges,
    service_validate_errors,
)
from deployer.schema.startup_recent import curve_errors, log_flush_errors
from deployer.schema.startup_server import (
    apf_errors,
    audit_errors,
    etcd_errors,
    metrics_errors,
    run_options_errors,
    serving_errors,
)
from deployer.schema.tlsnames import CIPHER_SUITES, TLS_VERSIONS
from deployer.schema.valuetypes import Duration, Quantity

__all__ = ["Stage", "StartupError", "check_startup", "startup_errors", "startup_failure"]

_Rule = Callable[[CheckContext], list[StartupError]]

#: ``Validate()`` in the order the binary appends errors (controlplane options, then
#: kube-apiserver's own: cloud provider, service ranges, node port, family, apiserver count).
_VALIDATE_RULES: tuple[_Rule, ...] = (
    run_options_errors,
    etcd_errors,
    apf_errors,
    serving_errors,
    authentication_errors,
    authorization_errors,
    audit_errors,
    admission_errors,
    api_enablement_errors,
    token_request_errors,
    metrics_errors,
    gate_dependency_errors,
    cloud_provider_errors,
)

_LOGGING_FLAGS = frozenset(
    {
        "feature-gates",
        "logging-format",
        "vmodule",
        "log-text-split-stream",
        "log-text-info-buffer-size",
        "log-json-split-stream",
        "log-json-info-buffer-size",
    }
)
_CONFIG_FLAGS = frozenset({"tls-cipher-suites", "tls-min-version", "watch-cache-sizes"})
_MAX_TOKEN_EXPIRATION_NS = (1 << 32) * 1_000_000_000
_HOUR_NS = 3_600_000_000_000


def _logging_errors(c: CheckContext) -> list[StartupError]:
    """logsapi.Validate: field errors rooted at the logging configuration."""
    p = c.parsed
    stage = Stage.LOGGING
    errors: list[StartupError] = []
    if not p.any_set(_LOGGING_FLAGS):
        return errors
    fmt = p.text("logging-format")
    if fmt not in ("text", "json"):
        errors.append(
            StartupError(
                f"format: Invalid value: {go_quote(fmt)}: Unsupported log format",
                "logging-format",
                stage,
            )
        )
    elif fmt == "json" and not c.gates.enabled("LoggingBetaOptions"):
        errors.append(
            StartupError(
                "format: Forbidden: Log format json is disabled, see LoggingBetaOptions feature",
                "logging-format",
                stage,
            )
        )
    if p.values.get("vmodule") and fmt not in ("", "text"):
        errors.append(
            StartupError("vmodule: Forbidden: Only supported for text log format", "vmodule", stage)
        )
    if not c.gates.enabled("LoggingAlphaOptions"):
        for kind in ("text", "json"):
            split, buffer = f"log-{kind}-split-stream", f"log-{kind}-info-buffer-size"
            size = p.values.get(buffer)
            checks = (
                ("splitStream", split, p.boolean(split)),
                ("infoBufferSize", buffer, isinstance(size, Quantity) and not size.is_zero),
            )
            for field, flag, is_used in checks:
                if is_used:
                    errors.append(
                        StartupError(
                            f"options.{kind}.{field}: Forbidden: Feature LoggingAlphaOptions is "
                            "disabled",
                            flag,
                            stage,
                        )
                    )
    return errors


def _complete_errors(c: CheckContext, ranges_error: StartupError | None) -> list[StartupError]:
    """Complete() stops at its first error: service ranges, then the token lifetime bounds."""
    if ranges_error is not None:
        return [ranges_error]
    p = c.parsed
    issuers = p.strings("service-account-issuer")
    expiration = p.values.get("service-account-max-token-expiration")
    if (
        p.text("service-account-signing-key-file")
        and issuers
        and issuers[0]
        and isinstance(expiration, Duration)
        and expiration.ns != 0
        and not _HOUR_NS <= expiration.ns <= _MAX_TOKEN_EXPIRATION_NS
    ):
        return [
            StartupError(
                "the service-account-max-token-expiration must be between 1 hour and 2^32 seconds",
                "service-account-max-token-expiration",
                Stage.COMPLETE,
            )
        ]
    return []


def _watch_cache_error(c: CheckContext) -> StartupError | None:
    for item in c.parsed.strings("watch-cache-sizes"):
        tokens = item.split("#")
        message = None
        if len(tokens) != 2:
            message = f"invalid value of watch cache size: {item}"
        else:
            try:
                if atoi(tokens[1]) < 0:
                    message = f"watch cache size cannot be negative: {item}"
            except GoValueError:
                message = f"invalid size of watch cache size: {item}"
        if message:
            return StartupError(message, "watch-cache-sizes", Stage.CONFIG)
    return None


def _config_errors(c: CheckContext) -> list[StartupError]:
    """Config building after Validate(): cipher suites, TLS version, watch cache sizes."""
    p = c.parsed
    if not p.any_set(_CONFIG_FLAGS):
        return []
    for cipher in p.strings("tls-cipher-suites"):
        if cipher not in CIPHER_SUITES:
            return [
                StartupError(
                    f"Cipher suite {cipher} not supported or doesn't exist",
                    "tls-cipher-suites",
                    Stage.CONFIG,
                )
            ]
    version = p.text("tls-min-version")
    if version and version not in TLS_VERSIONS:
        return [
            StartupError(
                f"unknown tls version {go_quote(version)}", "tls-min-version", Stage.CONFIG
            )
        ]
    error = _watch_cache_error(c)
    return [error] if error else []


def check_startup(parsed: ParsedFlags, schema: FlagSchema) -> list[StartupError]:
    """Return every startup error of every stage, in the order the binary would meet them."""
    context = CheckContext(parsed=parsed, schema=schema, gates=gate_values(parsed, schema))
    errors: list[StartupError] = []
    pre = prerun_error(parsed, schema)
    if pre:
        errors.append(StartupError(pre, "feature-gates", Stage.PRE_RUN))
    errors.extend(_logging_errors(context))
    errors.extend(log_flush_errors(context))
    ranges = service_ranges(context)
    errors.extend(_complete_errors(context, ranges.error))
    for rule in _VALIDATE_RULES:
        errors.extend(rule(context))
    errors.extend(service_validate_errors(context, ranges))
    errors.extend(_config_errors(context))
    errors.extend(curve_errors(context))
    return errors


def startup_errors(parsed: ParsedFlags, schema: FlagSchema) -> list[str]:
    """Return the messages of :func:`check_startup`, exactly as the binary logs each one."""
    return [e.message for e in check_startup(parsed, schema)]


def startup_failure(parsed: ParsedFlags, schema: FlagSchema) -> str | None:
    """Return what the binary logs as ``"command failed" err="..."``, or None if it would start.

    Only the first failing stage counts; ``Validate()`` and logging errors are aggregated
    (``[a, b]``, duplicates dropped), the other stages report their first error.
    """
    errors = check_startup(parsed, schema)
    if not errors:
        return None
    first = min(e.stage for e in errors)
    messages = [e.message for e in errors if e.stage == first]
    return aggregate(messages) if first.aggregates else messages[0]
