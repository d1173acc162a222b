r"""Quoting filters: the only way a value may reach the rendered YAML.

Why: a flag value is operator text. Pasted into YAML as is, ``foo: bar``, ``# x``, a newline,
a leading ``-``/``*``/``&``/``!``/``{`` or a bare ``yes`` would change the manifest's structure
or type (a second key, a comment, an alias, a boolean). Every ``{{ ... }}`` of a manifest
template must therefore go through one of these filters, and :func:`finalize` refuses any output
that did not: a forgotten filter is a render error, never a silently broken manifest.

``yaml_str`` emits a double-quoted scalar that escapes everything outside printable ASCII
(``\x``, ``\u``, ``\U`` escapes, which YAML 1.1 and 1.2 and both PyYAML and kubelet's Go
decoder read back to the same text). Raw non-ASCII is not emitted on purpose: YAML treats
U+0085, U+2028 and U+2029 as line breaks (folded inside quotes) and rejects other characters
as "non-printable", so escaping everything is the one rule that always round-trips.
"""

from __future__ import annotations

import re

__all__ = ["UnquotedValueError", "YamlScalar", "finalize", "yaml_bool", "yaml_int", "yaml_str"]

_INT_RE = re.compile(r"^-?[0-9]+$")


class YamlScalar(str):
    """Text that is already a complete, safe YAML scalar (the output of a quoting filter)."""

    __slots__ = ()


class UnquotedValueError(Exception):
    """A template printed a value without a quoting filter.

    Raised inside Jinja's generated code so that the traceback carries the template line; the
    renderer turns it into a :class:`deployer.errors.TemplateError` problem.
    """


def _escape_char(char: str) -> str:
    code = ord(char)
    if char == '"':
        return '\\"'
    if char == "\\":
        return "\\\\"
    if 0x20 <= code <= 0x7E:
        return char
    if char == "\n":
        return "\\n"
    if char == "\t":
        return "\\t"
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    # \U, not a UTF-16 surrogate pair: PyYAML decodes each \u separately and would return two
    # lone surrogates instead of the character.
    return f"\\U{code:08x}"


def yaml_str(value: object) -> YamlScalar:
    r"""Return ``value`` as a double-quoted YAML scalar that reads back as exactly ``str(value)``.

    >>> print(yaml_str('a: "b" # c'))
    "a: \"b\" # c"
    >>> print(yaml_str("line1\nline2"))
    "line1\nline2"
    """
    text = value if isinstance(value, str) else str(value)
    # Fast path (almost every value): printable ASCII needs only quotes and backslashes escaped.
    if text.isascii() and text.isprintable():
        return YamlScalar('"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"')
    return YamlScalar('"' + "".join(_escape_char(c) for c in text) + '"')


def yaml_int(value: object) -> YamlScalar:
    """Return ``value`` as a plain YAML integer, refusing anything that is not one.

    Why a separate filter: ports and counts must stay numbers (a quoted ``"6443"`` is a *named*
    port to kubelet), and a plain scalar is safe only when it is provably an integer.

    Raises:
        UnquotedValueError: ``value`` is not an integer (booleans included).
    """
    if isinstance(value, bool):
        raise UnquotedValueError(f"yaml_int: expected an integer, got {value!r}")
    text = str(value).strip() if isinstance(value, int | str) else ""
    if not _INT_RE.match(text):
        raise UnquotedValueError(f"yaml_int: expected an integer, got {value!r}")
    return YamlScalar(str(int(text)))


def yaml_bool(value: object) -> YamlScalar:
    """Return ``true`` or ``false`` for a real boolean, refusing truthy strings like ``"no"``.

    Raises:
        UnquotedValueError: ``value`` is not a boolean.
    """
    if not isinstance(value, bool):
        raise UnquotedValueError(f"yaml_bool: expected a boolean, got {value!r}")
    return YamlScalar("true" if value else "false")


def finalize(value: object) -> object:
    """Jinja ``finalize`` hook: let through only the output of a quoting filter.

    Raises:
        UnquotedValueError: the template printed a value without ``| yaml_str``,
            ``| yaml_int`` or ``| yaml_bool``.
    """
    if isinstance(value, YamlScalar):
        return value
    shown = repr(value)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    raise UnquotedValueError(
        f"{{{{ ... }}}} printed {shown} without a quoting filter; "
        "write {{ value | yaml_str }} (or yaml_int / yaml_bool)"
    )
