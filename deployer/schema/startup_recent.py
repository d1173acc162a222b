"""Startup checks that 1.35 and later added or reworded, with the binary's texts.

Why a module of their own: they are the deltas of ``kube-apiserver-1.34-and-later.md`` (sources:
kubernetes/apiserver ``pkg/server/options`` and kubernetes/component-base at tags v0.35.0 and
v0.36.0), and keeping them together shows at a glance what a new minor changed. The older
checks stay where they were; a check here either applies from the minor named in its rule or
replaces the older text from that minor on.

Where the reference gives only a detail and not the whole line, the field path and the way the
value is printed follow apimachinery's ``field.Error`` (``<path>: Invalid value: <value>:
<detail>``; a ``fmt.Stringer`` such as a duration printed bare, a string quoted); that layout
is inferred, the detail texts are read in source.
"""

from __future__ import annotations

import re

from deployer.schema.gostrconv import go_quote
from deployer.schema.startup_model import CheckContext, Stage, StartupError
from deployer.schema.valuetypes import Duration

__all__ = [
    "curve_errors",
    "log_flush_errors",
    "metrics_errors_136",
    "runtime_config_only_all_false",
]

#: component-base metrics/api/v1: what a ``--disabled-metrics`` entry must look like (1.36).
_METRIC_NAME = "^[a-zA-Z_:][a-zA-Z0-9_:]*$"
_METRIC_NAME_RE = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL_NAME = "^[a-zA-Z_][a-zA-Z0-9_]*$"
_LABEL_NAME_RE = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")


def log_flush_errors(c: CheckContext) -> list[StartupError]:
    """1.35+: ``--log-flush-frequency`` must be above zero (logs/api/v1 Validate)."""
    if c.minor < 35 or not c.parsed.is_set("log-flush-frequency"):
        return []
    value = c.parsed.values.get("log-flush-frequency")
    if isinstance(value, Duration) and value.ns <= 0:
        return [
            StartupError(
                f"flushFrequency: Invalid value: {value}: Must be greater than zero",
                "log-flush-frequency",
                Stage.LOGGING,
            )
        ]
    return []


def curve_errors(c: CheckContext) -> list[StartupError]:
    """1.36+: ``--tls-curve-preferences`` ids (component-base cli/flag/curves_flag.go).

    Applied while building the serving config, so only the first error is reported. Whether an
    id is supported by the binary's Go release is not checked: the set depends on the Go
    version, and refusing a curve the binary accepts would be worse than missing one.
    """
    if not c.has_flag("tls-curve-preferences") or not c.parsed.is_set("tls-curve-preferences"):
        return []
    seen: set[int] = set()
    value = c.parsed.values.get("tls-curve-preferences")
    for curve in value if isinstance(value, tuple) else ():
        if not isinstance(curve, int):
            continue
        if not 1 <= curve <= 65535:
            message = f"curve preference {curve} is out of range (must be 1-65535)"
        elif curve in seen:
            message = f"duplicate curve preference {curve}"
        else:
            seen.add(curve)
            continue
        return [StartupError(message, "tls-curve-preferences", Stage.CONFIG)]
    return []


def runtime_config_only_all_false(c: CheckContext) -> str:
    """The text for ``--runtime-config=api/all=false`` alone (reworded in 1.36)."""
    if c.minor >= 36:
        return "invalid runtime-config with only api/all=false"
    return "invalid key with only api/all=false"


def _hidden_metrics_error(c: CheckContext) -> StartupError | None:
    wanted = c.parsed.text("show-hidden-metrics-for-version")
    previous = f"1.{c.minor - 1}"
    if not wanted or wanted == previous:
        return None
    return StartupError(
        f"metrics.showHiddenMetricsForVersion: Invalid value: {go_quote(wanted)}: must be "
        f"omitted or have the value '{previous}'; only the previous minor version is allowed",
        "show-hidden-metrics-for-version",
        Stage.VALIDATE,
    )


def _disabled_metrics_errors(c: CheckContext) -> list[StartupError]:
    errors = []
    for index, name in enumerate(c.parsed.strings("disabled-metrics")):
        if _METRIC_NAME_RE.fullmatch(name) is None:
            errors.append(
                StartupError(
                    f"metrics.disabledMetrics[{index}]: Invalid value: {go_quote(name)}: must be "
                    f"fully qualified metric names matching {go_quote(_METRIC_NAME)}, got "
                    f"{go_quote(name)}",
                    "disabled-metrics",
                    Stage.VALIDATE,
                )
            )
    return errors


def _label_key_errors(c: CheckContext) -> list[StartupError]:
    for key in c.parsed.mapping("allow-metric-labels"):
        metric, comma, label = key.partition(",")
        if comma and _METRIC_NAME_RE.fullmatch(metric) and _LABEL_NAME_RE.fullmatch(label):
            continue
        return [
            StartupError(
                f"metrics.allowListMapping: Invalid value: {go_quote(key)}: must have keys with "
                f"format `metricName,labelName` where metricName matches "
                f"{go_quote(_METRIC_NAME)} and labelName matches {go_quote(_LABEL_NAME)}",
                "allow-metric-labels",
                Stage.VALIDATE,
            )
        ]
    return []


def metrics_errors_136(c: CheckContext) -> list[StartupError]:
    """1.36+: metrics Options.Validate through metrics/api/v1 field errors (path ``metrics``)."""
    errors: list[StartupError] = []
    hidden = _hidden_metrics_error(c)
    if hidden is not None:
        errors.append(hidden)
    errors.extend(_disabled_metrics_errors(c))
    errors.extend(_label_key_errors(c))
    if c.parsed.mapping("allow-metric-labels") and c.parsed.text("allow-metric-labels-manifest"):
        errors.append(
            StartupError(
                "cannot specify both allowListMapping and allowListMappingManifest",
                "allow-metric-labels-manifest",
                Stage.VALIDATE,
            )
        )
    return errors
