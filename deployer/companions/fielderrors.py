"""Field paths and field errors shaped like k8s.io/apimachinery ``pkg/util/validation/field``.

Why imitate the Go package: kube-apiserver prints a rejected companion file as the aggregate of
these errors (``rules[0].level: Unsupported value: "Everything": supported values: "None", ...``).
An operator who searches the message, or compares with a failed pod's log, must find the same
text. Formatting follows ``field.Error.ErrorBody`` of the minor: up to 1.33 a non-scalar bad
value is printed with Go's ``%#v`` (``[]string{"a"}``), from 1.34 with ``json.Marshal``.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from deployer.model.host import Secret
from deployer.report.masking import MASK
from deployer.schema.gostrconv import go_quote

__all__ = ["OMIT", "ErrorType", "FieldError", "FieldPath", "Literal", "go_value"]


class _Omit(enum.Enum):
    OMIT = "omit"


#: A bad value that is not printed (apimachinery's ``omitValue``).
OMIT = _Omit.OMIT


class ErrorType(enum.Enum):
    """``field.ErrorType`` and its ``String()``."""

    REQUIRED = "Required value"
    INVALID = "Invalid value"
    NOT_SUPPORTED = "Unsupported value"
    DUPLICATE = "Duplicate value"
    FORBIDDEN = "Forbidden"
    TOO_MANY = "Too many"
    INTERNAL = "Internal error"


@dataclass(frozen=True, slots=True)
class FieldPath:
    """``field.Path``: ``jwt[0].issuer.url``."""

    parts: tuple[str | int, ...] = ()

    def child(self, *names: str) -> FieldPath:
        """Return the path of a named child (``field.Path.Child``)."""
        return FieldPath((*self.parts, *names))

    def index(self, i: int) -> FieldPath:
        """Return the path of a list element (``field.Path.Index``)."""
        return FieldPath((*self.parts, i))

    def key(self, k: str) -> FieldPath:
        """Return the path of a map value (``field.Path.Key``)."""
        return FieldPath((*self.parts, f"[{k}]"))

    def __str__(self) -> str:
        out = ""
        for part in self.parts:
            if isinstance(part, int):
                out += f"[{part}]"
            elif part.startswith("["):
                out += part
            else:
                out += f".{part}" if out else part
        return out


Value = object


def _go_sharp_v(value: Value) -> str:
    """Go's ``%#v`` for the shapes a decoded document holds."""
    if isinstance(value, Secret):
        return go_quote(MASK)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return go_quote(value)
    if isinstance(value, Sequence):
        items = list(value)
        if all(isinstance(i, str) for i in items):
            return "[]string{" + ", ".join(go_quote(str(i)) for i in items) + "}"
        return "[]interface {}{" + ", ".join(_go_sharp_v(i) for i in items) + "}"
    return _json(value)


def _masked(value: Value) -> Value:
    if isinstance(value, Secret):
        return MASK
    if isinstance(value, Mapping):
        return {str(k): _masked(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_masked(v) for v in value]
    return value


def _json(value: Value) -> str:
    return json.dumps(_masked(value), separators=(",", ":"), sort_keys=True, default=str)


def go_value(value: Value, *, json_values: bool) -> str:
    """Print a bad value as ``ErrorBody`` does; secrets always print as the mask."""
    if isinstance(value, Secret):
        return go_quote(MASK)
    if isinstance(value, Literal):
        return value.json if json_values else value.go
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return go_quote(value)
    if value is None:
        return "null"
    return _json(value) if json_values else _go_sharp_v(value)


@dataclass(frozen=True, slots=True)
class FieldError:
    """One ``field.Error``: what kube-apiserver would print for one field."""

    type: ErrorType
    path: FieldPath
    value: Value = OMIT
    detail: str = ""

    def text(self, *, json_values: bool = True) -> str:
        """Return ``field.Error.Error()``: ``path: Type: value: detail``."""
        body = self.type.value
        if self.type in (ErrorType.REQUIRED, ErrorType.FORBIDDEN, ErrorType.INTERNAL):
            pass
        elif self.value is not OMIT:
            body += ": " + go_value(self.value, json_values=json_values)
        if self.detail:
            body += ": " + self.detail
        return f"{self.path}: {body}"


def required(path: FieldPath, detail: str = "") -> FieldError:
    """``field.Required``."""
    return FieldError(ErrorType.REQUIRED, path, OMIT, detail)


def invalid(path: FieldPath, value: Value, detail: str) -> FieldError:
    """``field.Invalid``."""
    return FieldError(ErrorType.INVALID, path, value, detail)


def not_supported(path: FieldPath, value: Value, valid: Sequence[str]) -> FieldError:
    """``field.NotSupported``: the detail lists the quoted valid values."""
    detail = "supported values: " + ", ".join(go_quote(v) for v in valid) if valid else ""
    return FieldError(ErrorType.NOT_SUPPORTED, path, value, detail)


def duplicate(path: FieldPath, value: Value) -> FieldError:
    """``field.Duplicate``."""
    return FieldError(ErrorType.DUPLICATE, path, value)


def forbidden(path: FieldPath, detail: str) -> FieldError:
    """``field.Forbidden``."""
    return FieldError(ErrorType.FORBIDDEN, path, OMIT, detail)


def too_many(path: FieldPath, actual: int, maximum: int, *, plural_fix: bool) -> FieldError:
    """``field.TooMany``; ``plural_fix`` is apimachinery 1.30+'s "1 item" (not "1 items")."""
    noun = "item" if maximum == 1 and plural_fix else "items"
    return FieldError(ErrorType.TOO_MANY, path, actual, f"must have at most {maximum} {noun}")


@dataclass(frozen=True, slots=True)
class Literal:
    """A bad value printed verbatim (a Go struct's ``%#v`` that no Python value reproduces)."""

    go: str
    json: str

    def __str__(self) -> str:
        return self.go
