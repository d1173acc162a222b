"""``Validate()`` rules of the generic server (``k8s.io/apiserver pkg/server/options``).

Run options, etcd, priority and fairness, serving, audit and metrics, in the binary's order.

Each function returns the errors of one Go ``Validate`` method, with the exact texts of
``kube-apiserver-validation.md`` sections 2, 4 and 5.
"""

from __future__ import annotations

import re

from deployer.schema.gofmt import go_format_float
from deployer.schema.gostrconv import go_quote, go_trim_space
from deployer.schema.startup_model import CheckContext, Stage, StartupError
from deployer.schema.startup_recent import metrics_errors_136

__all__ = [
    "apf_errors",
    "audit_errors",
    "etcd_errors",
    "metrics_errors",
    "run_options_errors",
    "serving_errors",
]

_V = Stage.VALIDATE


def _err(message: str, flag: str | None) -> StartupError:
    return StartupError(message, flag, _V)


_RUN_OPTIONS = frozenset(
    {
        "livez-grace-period",
        "max-requests-inflight",
        "max-mutating-requests-inflight",
        "request-timeout",
        "goaway-chance",
        "min-request-timeout",
        "shutdown-delay-duration",
        "shutdown-watch-termination-grace-period",
        "storage-initialization-timeout",
        "strict-transport-security-directives",
        "cors-allowed-origins",
    }
)
_HSTS_INVALID = (
    "--strict-transport-security-directives invalid, allowed values: max-age=expireTime, "
    "includeSubDomains, preload. see https://tools.ietf.org/html/rfc6797#section-6.1 for more "
    "information"
)
_CORS_HELP = (
    "List of allowed origins for CORS, comma separated. An allowed origin can be a regular "
    "expression to support subdomain matching. If this list is empty CORS will not be enabled. "
    "Please ensure each expression matches the entire hostname by anchoring to the start with "
    "'^' or including the '//' prefix, and by anchoring to the end with '$' or including the ':' "
    "port separator suffix. Examples of valid expressions are '//example\\.com(:|$)' and "
    "'^https://example\\.com(:|$)'"
)


def _hsts_errors(c: CheckContext) -> list[StartupError]:
    """validateHSTSDirectives: max-age=N, includeSubDomains or preload."""
    flag = "strict-transport-security-directives"
    errors: list[StartupError] = []
    for directive in c.parsed.strings(flag):
        if not go_trim_space(directive):
            errors.append(_err("empty value in strict-transport-security-directives", flag))
            continue
        if directive not in ("includeSubDomains", "preload"):
            parts = directive.split("=")
            if len(parts) != 2 or parts[0] != "max-age":
                errors.append(_err(_HSTS_INVALID, flag))
    return errors


def _cors_errors(c: CheckContext) -> list[StartupError]:
    """validateCorsAllowedOriginList: each expression must pin the host's start and end.

    Go's RE2 compile errors are not reproduced (Python's ``re`` accepts a different language).
    """
    flag = "cors-allowed-origins"
    errors: list[StartupError] = []
    for expression in c.parsed.strings(flag):
        if not expression:
            errors.append(_err(f"empty value in --cors-allowed-origins, help: {_CORS_HELP}", flag))
            continue
        pins_start = "^" in expression or "//" in expression
        pins_end = "$" in expression or ":" in expression
        if not (pins_start and pins_end):
            errors.append(
                _err(
                    "--cors-allowed-origins has an invalid regular expression: regular expression "
                    f"does not pin to start/end of host in the origin header, help: {_CORS_HELP}",
                    flag,
                )
            )
    return errors


def run_options_errors(c: CheckContext) -> list[StartupError]:
    """ServerRunOptions.Validate: negative values and the GOAWAY chance."""
    p = c.parsed
    if not p.any_set(_RUN_OPTIONS):
        return []  # the defaults are valid
    errors: list[StartupError] = []
    if p.duration_ns("livez-grace-period") < 0:
        errors.append(
            _err("--livez-grace-period can not be a negative value", "livez-grace-period")
        )
    for flag in ("max-requests-inflight", "max-mutating-requests-inflight"):
        if p.integer(flag) < 0:
            errors.append(_err(f"--{flag} can not be negative value", flag))
    if p.duration_ns("request-timeout") < 0:
        errors.append(_err("--request-timeout can not be negative value", "request-timeout"))
    chance = p.number("goaway-chance")
    if chance < 0 or chance > 0.02:
        errors.append(
            _err("--goaway-chance can not be less than 0 or greater than 0.02", "goaway-chance")
        )
    if p.integer("min-request-timeout") < 0:
        errors.append(
            _err("--min-request-timeout can not be negative value", "min-request-timeout")
        )
    if c.has_flag("storage-initialization-timeout") and (
        p.duration_ns("storage-initialization-timeout") < 0
    ):
        errors.append(
            _err(
                "--storage-initialization-timeout can not be negative value",
                "storage-initialization-timeout",
            )
        )
    if p.duration_ns("shutdown-delay-duration") < 0:
        errors.append(
            _err("--shutdown-delay-duration can not be negative value", "shutdown-delay-duration")
        )
    if p.duration_ns("shutdown-watch-termination-grace-period") < 0:
        errors.append(
            _err(
                "shutdown-watch-termination-grace-period, if provided, can not be a negative value",
                "shutdown-watch-termination-grace-period",
            )
        )
    errors.extend(_hsts_errors(c))
    errors.extend(_cors_errors(c))
    return errors


_MEDIA_TYPES = ("application/json", "application/vnd.kubernetes.protobuf", "application/yaml")
_OVERRIDES = (
    "--etcd-servers-overrides invalid, must be of format: group/resource#servers, "
    "where servers are URLs, semicolon separated"
)


def etcd_errors(c: CheckContext) -> list[StartupError]:
    """EtcdOptions.Validate."""
    p = c.parsed
    errors: list[StartupError] = []
    if not p.strings("etcd-servers"):
        errors.append(_err("--etcd-servers must be specified", "etcd-servers"))
    backend = p.text("storage-backend")
    if backend and backend != "etcd3":
        errors.append(
            _err(
                "--storage-backend invalid, allowed values: etcd3. "
                "If not specified, it will default to 'etcd3'",
                "storage-backend",
            )
        )
    for override in p.strings("etcd-servers-overrides"):
        tokens = override.split("#")
        if len(tokens) != 2 or len(tokens[0].split("/")) != 2:
            errors.append(_err(_OVERRIDES, "etcd-servers-overrides"))
        elif c.minor >= 34 and "" in tokens[1].split(";"):
            # 1.34's ParseEtcdServersOverrides also refuses an empty server (same message).
            errors.append(_err(_OVERRIDES, "etcd-servers-overrides"))
    if p.boolean("encryption-provider-config-automatic-reload") and not p.text(
        "encryption-provider-config"
    ):
        errors.append(
            _err(
                "--encryption-provider-config-automatic-reload must be set with "
                "--encryption-provider-config",
                "encryption-provider-config-automatic-reload",
            )
        )
    media = p.text("storage-media-type")
    if media and media not in _MEDIA_TYPES:
        errors.append(
            _err(
                f"--storage-media-type {go_quote(media)} invalid, allowed values: "
                + ", ".join(_MEDIA_TYPES),
                "storage-media-type",
            )
        )
    return errors


def _runtime_config_string(c: CheckContext) -> str:
    """cliflag.ConfigurationMap.String(): sorted ``key=value`` pairs joined by commas."""
    items = c.parsed.mapping("runtime-config")
    return ",".join(f"{k}={items[k]}" for k in sorted(items))


def apf_errors(c: CheckContext) -> list[StartupError]:
    """validateAPIPriorityAndFairness: APF needs its flowcontrol API group enabled."""
    if not c.parsed.boolean("enable-priority-and-fairness", True):
        return []
    if not c.parsed.mapping("runtime-config"):
        return []
    enabled = _runtime_config_string(c)
    group = (
        "flowcontrol.apiserver.k8s.io/v1"
        if c.minor >= 29
        else "flowcontrol.apiserver.k8s.io/v1beta3"
    )
    for key in (group, "api/ga", "api/all"):
        if f"{key}=false" in enabled:
            return [
                _err(
                    f"--runtime-config={key}=false conflicts with "
                    "--enable-priority-and-fairness=true",
                    "runtime-config",
                )
            ]
        if f"{key}=true" in enabled:
            return []
    return []


def serving_errors(c: CheckContext) -> list[StartupError]:
    """SecureServingOptions.Validate with ``Required=true`` (0 cannot turn serving off)."""
    port = c.parsed.integer("secure-port", 6443)
    if port < 1 or port > 65535:
        return [
            _err(
                f"--secure-port {port} must be between 1 and 65535, inclusive. "
                "It cannot be turned off with 0",
                "secure-port",
            )
        ]
    return []


_AUDIT_MODES = ("batch", "blocking", "blocking-strict")
_AUDIT_GROUP_VERSION = "audit.k8s.io/v1"


def _batch_error(c: CheckContext, plugin: str) -> StartupError | None:
    p = c.parsed
    mode = p.text(f"audit-{plugin}-mode")
    flag = f"audit-{plugin}-mode"
    if mode not in _AUDIT_MODES:
        text = f'invalid audit {plugin} mode {mode}, allowed modes are "{",".join(_AUDIT_MODES)}"'
        return _err(text, flag)
    if mode != "batch":
        return None
    checks = (
        ("buffer size", "batch-buffer-size", p.integer(f"audit-{plugin}-batch-buffer-size")),
        ("max batch size", "batch-max-size", p.integer(f"audit-{plugin}-batch-max-size")),
    )
    for what, suffix, value in checks:
        if value <= 0:
            return _err(
                f"invalid audit batch {plugin} {what} {value}, must be a positive number",
                f"audit-{plugin}-{suffix}",
            )
    if p.boolean(f"audit-{plugin}-batch-throttle-enable"):
        qps = p.number(f"audit-{plugin}-batch-throttle-qps")
        if qps <= 0:
            return _err(
                f"invalid audit batch {plugin} throttle QPS {go_format_float(qps, 32)}, "
                "must be a positive number",
                f"audit-{plugin}-batch-throttle-qps",
            )
        burst = p.integer(f"audit-{plugin}-batch-throttle-burst")
        if burst <= 0:
            return _err(
                f"invalid audit batch {plugin} throttle burst {burst}, must be a positive number",
                f"audit-{plugin}-batch-throttle-burst",
            )
    return None


def _truncate_error(c: CheckContext, plugin: str) -> StartupError | None:
    p = c.parsed  # checked even with truncation disabled, as the binary does
    event = p.integer(f"audit-{plugin}-truncate-max-event-size")
    batch = p.integer(f"audit-{plugin}-truncate-max-batch-size")
    if event <= 0:
        return _err(
            f"invalid audit truncate {plugin} max event size {event}, must be a positive number",
            f"audit-{plugin}-truncate-max-event-size",
        )
    if batch < event:
        return _err(
            f"invalid audit truncate {plugin} max batch size {batch}, must be greater than "
            f"max event size ({event})",
            f"audit-{plugin}-truncate-max-batch-size",
        )
    return None


def _group_version_error(c: CheckContext, plugin: str) -> StartupError | None:
    text = c.parsed.text(f"audit-{plugin}-version")
    if text == _AUDIT_GROUP_VERSION:
        return None
    flag = f"audit-{plugin}-version"
    if text.count("/") > 1:
        return _err(f"unexpected GroupVersion string: {text}", flag)
    return _err(f'invalid group version, allowed versions are ["{_AUDIT_GROUP_VERSION}"]', flag)


def audit_errors(c: CheckContext) -> list[StartupError]:
    """AuditOptions.Validate: the log backend (when a path is set), then the webhook backend."""
    p = c.parsed
    found: list[StartupError | None] = []
    if p.text("audit-log-path"):
        found += [_batch_error(c, "log"), _truncate_error(c, "log"), _group_version_error(c, "log")]
        fmt = p.text("audit-log-format")
        if fmt not in ("legacy", "json"):
            found.append(
                _err(
                    f'invalid audit log format {fmt}, allowed formats are "legacy,json"',
                    "audit-log-format",
                )
            )
        for suffix in ("maxage", "maxbackup", "maxsize"):
            value = p.integer(f"audit-log-{suffix}")
            if value < 0:
                found.append(
                    _err(
                        f"--audit-log-{suffix} {value} can't be a negative number",
                        f"audit-log-{suffix}",
                    )
                )
    if p.text("audit-webhook-config-file"):
        found += [
            _batch_error(c, "webhook"),
            _truncate_error(c, "webhook"),
            _group_version_error(c, "webhook"),
        ]
    return [e for e in found if e is not None]


_METRICS_FLAGS = frozenset({"show-hidden-metrics-for-version", "allow-metric-labels"})
#: From 1.36 the disabled-metrics names and the allow-list manifest are validated too.
_METRICS_FLAGS_136 = _METRICS_FLAGS | {"disabled-metrics", "allow-metric-labels-manifest"}
_METRIC_LABEL = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*,[a-zA-Z_][a-zA-Z0-9_]*")


def metrics_errors(c: CheckContext) -> list[StartupError]:
    """Run metrics Options.Validate: hidden-metrics version and the label allow-list keys."""
    errors: list[StartupError] = []
    if c.minor >= 36:
        return metrics_errors_136(c) if c.parsed.any_set(_METRICS_FLAGS_136) else errors
    if not c.parsed.any_set(_METRICS_FLAGS):
        return errors
    wanted = c.parsed.text("show-hidden-metrics-for-version")
    previous = f"1.{c.minor - 1}"
    if wanted and wanted != previous:
        errors.append(
            _err(
                f"--show-hidden-metrics-for-version must be omitted or have the value "
                f"'{previous}'. Only the previous minor version is allowed",
                "show-hidden-metrics-for-version",
            )
        )
    for key in c.parsed.mapping("allow-metric-labels"):
        match = _METRIC_LABEL.search(key)
        if match is None or match.group() != key:
            errors.append(
                _err(
                    "--allow-metric-labels must have a list of kv pair with format "
                    "`metricName,labelName=labelValue, labelValue,...`",
                    "allow-metric-labels",
                )
            )
            break
    return errors
