"""Read kube-apiserver's command line through the project's flag schema (one seam).

Why a seam: the stand-in must parse exactly as the real binary (pflag's rules, the version's flag
set, the same error texts), and the project already models that in ``deployer.schema``. This
module is the only place that knows that API, and it turns typed values into what the stand-in
needs (strings, lists, seconds) plus pflag's ``String()`` forms for the ``FLAG:`` dump.
"""

from __future__ import annotations

import datetime
import enum
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

__all__ = [
    "FlagParseError",
    "ParsedArgs",
    "Stage",
    "StartupProblem",
    "UnsupportedVersion",
    "aggregate",
    "go_duration",
    "parse_args",
    "startup_problems",
]


class FlagParseError(Exception):
    """pflag refused the command line; ``str()`` is the text the binary prints after ``Error: ``."""


class UnsupportedVersion(Exception):
    """The image's version has no flag schema: the lab cannot imitate that binary."""


@dataclass(frozen=True, slots=True)
class ParsedArgs:
    """The parsed command line."""

    #: Every flag's typed value, defaults included.
    values: Mapping[str, object]
    #: The flags given on the command line.
    set_flags: frozenset[str]
    #: Lines pflag prints on stderr (deprecated flags), in order.
    warnings: tuple[str, ...]
    #: Arguments that are not flags (kube-apiserver refuses them).
    positional: tuple[str, ...]
    #: ``(name, pflag String())`` of every flag, sorted, for the ``FLAG:`` dump at ``-v>=1``.
    dump: tuple[tuple[str, str], ...]
    #: ``--version``: ``false``, ``true``, ``raw`` or a version override.
    version_requested: str
    #: ``-h``/``--help`` was given.
    help_requested: bool
    #: The schema's objects, handed back to :func:`validation_errors`.
    raw: object
    schema: object

    def text(self, name: str, default: str = "") -> str:
        """Return a string flag ('' and None read as ``default``)."""
        value = self.values.get(name)
        if value is None or value == "":
            return default
        return str(value)

    def items(self, name: str) -> tuple[str, ...]:
        """Return a list flag (stringSlice/stringArray) as a tuple of strings."""
        value = self.values.get(name)
        if value is None or value == "":
            return ()
        if isinstance(value, str):
            return tuple(part for part in value.split(",") if part)
        if isinstance(value, Sequence):
            return tuple(str(part) for part in value)
        return (str(value),)

    def flag(self, name: str, default: bool = False) -> bool:
        """Return a bool flag."""
        value = self.values.get(name)
        if value is None:
            return default
        if isinstance(value, str):
            return value.lower() in ("true", "1", "t")
        return bool(value)

    def number(self, name: str, default: int) -> int:
        """Return an int flag."""
        value = self.values.get(name)
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, int | float | str):
            return int(value)
        return default

    def seconds(self, name: str, default: float = 0.0) -> float:
        """Return a duration flag in seconds."""
        value = self.values.get(name)
        if value is None or value == "":
            return default
        seconds = getattr(value, "seconds", None)  # the schema's Duration
        if isinstance(seconds, int | float):
            return float(seconds)
        if isinstance(value, datetime.timedelta):
            return value.total_seconds()
        return parse_go_duration(str(value))


_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_UNIT_S = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_go_duration(text: str) -> float:
    """Read a Go duration (``1m30s``) already accepted by the flag parser, in seconds."""
    text = text.strip()
    sign = -1.0 if text.startswith("-") else 1.0
    body = text.lstrip("+-")
    if body in ("0", ""):
        return 0.0
    total = sum(float(n) * _UNIT_S[unit] for n, unit in _DURATION_PART.findall(body))
    return sign * total


def go_duration(seconds: float) -> str:
    """Format seconds as Go's ``time.Duration.String()`` (``0s``, ``1m0s``, ``1.5s``)."""
    if seconds == 0:
        return "0s"
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    if seconds < 1:
        for unit, scale in (("ms", 1e-3), ("µs", 1e-6), ("ns", 1e-9)):
            if seconds >= scale:
                return f"{sign}{_trim(seconds / scale)}{unit}"
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    out = sign
    if hours:
        out += f"{int(hours)}h"
    if hours or minutes:
        out += f"{int(minutes)}m"
    return out + f"{_trim(secs)}s"


def _trim(number: float) -> str:
    text = f"{number:.9f}".rstrip("0").rstrip(".")
    return text or "0"


def parse_args(minor: str, argv: Sequence[str]) -> ParsedArgs:
    """Parse ``argv`` with the flag set of Kubernetes ``minor`` (``"1.31"``).

    Raises:
        FlagParseError: pflag would refuse the command line (unknown flag, missing or bad value).
        UnsupportedVersion: the project has no flag schema for ``minor``.
    """
    from deployer.errors import InputError
    from deployer.schema import PflagError, load_flag_schema, parse_command_line, supported_versions

    try:
        schema = load_flag_schema(minor)
    except InputError as err:
        known = ", ".join(supported_versions())
        raise UnsupportedVersion(
            f"the lab's kube-apiserver has no flag set for Kubernetes {minor} (it has {known})"
        ) from err
    try:
        parsed = parse_command_line(schema, list(argv))
    except PflagError as err:
        raise FlagParseError(str(err)) from err
    values = parsed.values
    dump = tuple(
        (name, _pflag_string(schema.flags[name].type, values[name]))
        for name in sorted(values)
        if name in schema.flags
    )
    return ParsedArgs(
        values=values,
        set_flags=parsed.set_flags,
        warnings=parsed.warnings,
        positional=tuple(a for a in parsed.args if a),
        dump=dump,
        version_requested=parsed.version_requested,
        help_requested=parsed.help_requested,
        raw=parsed,
        schema=schema,
    )


class Stage(enum.IntEnum):
    """The binary's startup stages, in order (the schema's ``Stage``)."""

    PRE_RUN = 1
    LOGGING = 2
    COMPLETE = 3
    VALIDATE = 4
    CONFIG = 5


@dataclass(frozen=True, slots=True)
class StartupProblem:
    """One reason the binary would exit instead of serving, decided by flag values alone."""

    stage: Stage
    #: The exact ``err="..."`` text (before klog's quoting).
    message: str
    #: The flag to blame, when one is.
    flag: str | None


def startup_problems(args: ParsedArgs) -> list[StartupProblem]:
    """Return every flag-value startup problem, in the order the binary meets them."""
    from deployer.schema import FlagSchema, ParsedFlags, check_startup

    if not isinstance(args.raw, ParsedFlags) or not isinstance(args.schema, FlagSchema):
        raise TypeError("ParsedArgs was not made by parse_args")
    return [
        StartupProblem(Stage(int(error.stage)), error.message, error.flag)
        for error in check_startup(args.raw, args.schema)
    ]


def aggregate(messages: Sequence[str]) -> str:
    """Join errors as apimachinery's ``NewAggregate(...).Error()`` (the schema's rule)."""
    from deployer.schema.gofmt import aggregate as go_aggregate

    return go_aggregate(messages)


def _pflag_string(kind: str, value: object) -> str:
    """Render a value as its pflag ``Value.String()`` does, per pflag type (``FLAG:`` lines)."""
    from deployer.schema.gofmt import go_format_float

    if value is None:
        return "<nil>" if kind == "ip" else ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if kind in ("float32", "float64") and isinstance(value, int | float):
        return go_format_float(float(value), 32 if kind == "float32" else 64)
    if isinstance(value, Mapping):
        items = sorted((str(key), item) for key, item in value.items())
        if kind == "colonSeparatedMultimapStringString":
            return ",".join(f"{key}:{item}" for key, values in items for item in _seq(values))
        pairs = ",".join(f"{key}={_pflag_string('', item)}" for key, item in items)
        return f"[{pairs}]" if kind == "stringToString" else pairs
    if isinstance(value, list | tuple | frozenset | set):
        if kind == "pattern=N,...":  # klog's moduleSpec: pattern=N,...
            return ",".join(
                f"{getattr(item, 'pattern', item)}={getattr(item, 'level', '')}" for item in value
            )
        return "[" + ",".join(str(item) for item in value) + "]"
    return str(value)


def _seq(value: object) -> tuple[object, ...]:
    return tuple(value) if isinstance(value, list | tuple) else (value,)
