"""Field errors as k8s.io/apimachinery ``pkg/util/validation/field`` prints them.

Why the lab has its own copy: a companion file kube-apiserver rejects shows up in the pod's log
as the aggregate of these errors (``rules[0].level: Unsupported value: "Everything": supported
values: "None", ...``). The stand-in must print the same text so that what an operator (or the
tool's rollback report) sees in the lab is what a real node shows. Sources, all
k8s.io/apimachinery: ``pkg/util/validation/field/errors.go`` (``Error.Error``,
``ErrorBody``, ``ErrorType.String``, ``NotSupported``) and ``pkg/util/errors/errors.go``
(``aggregate.Error``: one message alone, several in ``[a, b]``, duplicates dropped).

Only what the stand-in's checks produce is rendered: string and integer bad values and lists of
strings. A list is printed with Go's ``%#v`` (``[]string{"a", "b"}``) up to v0.33 and with
``json.Marshal`` (``["a","b"]``) from v0.34, the release that changed ``ErrorBody``.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Sequence
from dataclasses import dataclass

from deployer.lab.apiserver.klog import go_quote

__all__ = [
    "ErrorType",
    "FieldError",
    "GoLiteral",
    "aggregate",
    "duplicate",
    "forbidden",
    "invalid",
    "not_supported",
    "required",
]


@dataclass(frozen=True, slots=True)
class GoLiteral:
    """A struct bad value, as ``%#v`` (up to v0.33) and ``json.Marshal`` (v0.34+) print it."""

    go_syntax: str
    json_text: str


class ErrorType(enum.Enum):
    """``field.ErrorType`` with its ``String()`` text."""

    REQUIRED = "Required value"
    INVALID = "Invalid value"
    NOT_SUPPORTED = "Unsupported value"
    DUPLICATE = "Duplicate value"
    FORBIDDEN = "Forbidden"


#: Types whose body is the type name alone (``ErrorBody``'s first cases).
_NO_VALUE = frozenset({ErrorType.REQUIRED, ErrorType.FORBIDDEN})


@dataclass(frozen=True, slots=True)
class FieldError:
    """One ``*field.Error``: a type, a field path, a bad value and a detail."""

    kind: ErrorType
    path: str
    value: str | int | tuple[str, ...] | GoLiteral | None = None
    detail: str = ""

    def render(self, minor: int) -> str:
        """Return ``Error()`` as the minor's apimachinery prints it."""
        body = self.kind.value
        if self.kind not in _NO_VALUE:
            body += ": " + _go_value(self.value, minor)
        if self.detail:
            body += ": " + self.detail
        return f"{self.path}: {body}"


def _go_value(value: str | int | tuple[str, ...] | GoLiteral | None, minor: int) -> str:
    if value is None:
        return "null"
    if isinstance(value, GoLiteral):
        return value.json_text if minor >= 34 else value.go_syntax
    if isinstance(value, str):
        return go_quote(value)
    if isinstance(value, int):
        return str(value)
    if minor >= 34:
        return json.dumps(list(value), separators=(",", ":"), ensure_ascii=False)
    return "[]string{" + ", ".join(go_quote(item) for item in value) + "}"


def required(path: str, detail: str = "") -> FieldError:
    """``field.Required``."""
    return FieldError(ErrorType.REQUIRED, path, None, detail)


def invalid(path: str, value: str | int | tuple[str, ...] | GoLiteral, detail: str) -> FieldError:
    """``field.Invalid``."""
    return FieldError(ErrorType.INVALID, path, value, detail)


def forbidden(path: str, detail: str) -> FieldError:
    """``field.Forbidden``."""
    return FieldError(ErrorType.FORBIDDEN, path, None, detail)


def duplicate(path: str, value: str) -> FieldError:
    """``field.Duplicate``."""
    return FieldError(ErrorType.DUPLICATE, path, value)


def not_supported(path: str, value: str | GoLiteral, valid: Sequence[str]) -> FieldError:
    """``field.NotSupported``: the detail lists the valid values, each Go-quoted."""
    detail = "supported values: " + ", ".join(go_quote(v) for v in valid) if valid else ""
    return FieldError(ErrorType.NOT_SUPPORTED, path, value, detail)


def aggregate(errors: Sequence[FieldError], minor: int) -> str:
    """Return ``ErrorList.ToAggregate().Error()``: one message, or ``[a, b]`` without repeats."""
    messages: list[str] = []
    for error in errors:
        text = error.render(minor)
        if text not in messages:
            messages.append(text)
    if len(messages) == 1:
        return messages[0]
    return "[" + ", ".join(messages) + "]"
