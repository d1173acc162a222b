"""kube-apiserver's command-line parsing: spf13/pflag v1.0.5 under cobra and component-base.

Why a faithful port: the lab's kube-apiserver stand-in prints ``Error: <message>`` exactly as
the real binary does, and the offline validator must reject exactly the command lines the real
binary rejects. The rules reproduced here (``FlagSet.parseArgs``, ``parseLongArg``,
``parseSingleShortArg``, ``Set``):

* ``--name=value``; ``--name value`` unless the flag has a no-option default (bool flags,
  ``--version``), in which case ``--name`` alone uses it and the next word is positional;
* ``-v=2``, ``-v 2``, ``-v2`` and combined shorthands (``-hv2``); ``--`` ends flag parsing;
* ``_`` in a name reads as ``-`` (component-base's ``WordSepNormalizeFunc``);
* the first error stops parsing; deprecated flags print a warning and still apply;
* after parsing, cobra's ``Args`` hook rejects any non-empty positional argument.

Example:
    >>> from deployer.schema import load_flag_schema
    >>> parsed = parse_command_line(load_flag_schema("1.31"), ["--secure-port=6443", "-v2"])
    >>> parsed.values["secure-port"], parsed.values["v"]
    (6443, 2)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

from deployer.schema.gostrconv import GoValueError, go_bytes, go_quote, go_quote_rune
from deployer.schema.model import FlagSchema, FlagSpec
from deployer.schema.parsed import ParsedFlags, schema_defaults
from deployer.schema.values import accumulate, parse_flag_value

__all__ = ["PflagError", "parse_command_line", "set_error_text"]

#: cobra's ``CommandPath()`` for the binary, as the positional-argument error quotes it.
COMMAND_PATH = "kube-apiserver"


class PflagError(Exception):
    """The command line was refused before startup; ``str()`` is what follows ``Error: ``."""

    def __init__(self, message: str, *, flag: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        #: The normalized flag concerned, when one is.
        self.flag = flag


def set_error_text(spec: FlagSpec, text: str, error: GoValueError) -> str:
    """Return pflag's ``FlagSet.Set`` error: ``invalid argument "v" for "--f" flag: <err>``."""
    return f"invalid argument {go_quote(text)} for {go_quote(spec.display_name)} flag: {error}"


@dataclass
class _State:
    """Values being built by one parse; lives only inside :func:`parse_command_line`."""

    schema: FlagSchema
    values: dict[str, object]
    order: list[str] = field(default_factory=list)
    raw: dict[str, list[str]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    args: list[str] = field(default_factory=list)

    def set(self, spec: FlagSpec, text: str) -> None:
        try:
            value = parse_flag_value(spec, text)
        except GoValueError as err:
            raise PflagError(set_error_text(spec, text, err), flag=spec.name) from None
        if spec.name in self.raw:
            self.values[spec.name] = accumulate(spec, self.values[spec.name], value)
            self.raw[spec.name].append(text)
        else:
            self.values[spec.name] = accumulate(spec, None, value)
            self.raw[spec.name] = [text]
            self.order.append(spec.name)
        if spec.deprecated:
            self.warnings.append(
                f"Flag --{spec.name} has been deprecated, {spec.deprecation_message}"
            )


def _normalize(name: str) -> str:
    return name.replace("_", "-") if "_" in name else name


def _long(state: _State, arg: str, rest: list[str]) -> list[str]:
    name = arg[2:]
    if not name or name[0] in "-=":
        raise PflagError(f"bad flag syntax: {arg}")
    name, eq, value = name.partition("=")
    spec = state.schema.flags.get(_normalize(name))
    if spec is None:
        raise PflagError(f"unknown flag: --{name}", flag=_normalize(name))
    if eq:
        pass
    elif spec.no_opt_default:
        value = spec.no_opt_default
    elif rest:
        value, rest = rest[0], rest[1:]
    else:
        raise PflagError(f"flag needs an argument: {arg}", flag=spec.name)
    state.set(spec, value)
    return rest


def _first_char_as_byte(text: str) -> str:
    """Go indexes a string by byte: the first byte of a non-ASCII letter, as a rune."""
    return chr(go_bytes(text)[0][0])


def _short(state: _State, arg: str, args: list[str]) -> list[str]:
    shorthands = arg[1:]
    rest = args
    while shorthands:
        c = shorthands[0]
        spec = state.schema.shorthands.get(c) if c.isascii() else None
        if spec is None:
            shown = go_quote_rune(_first_char_as_byte(shorthands))
            raise PflagError(f"unknown shorthand flag: {shown} in -{shorthands}")
        remaining = shorthands[1:]
        if len(shorthands) > 2 and shorthands[1] == "=":
            value, remaining = shorthands[2:], ""
        elif spec.no_opt_default:
            value = spec.no_opt_default
        elif len(shorthands) > 1:
            value, remaining = shorthands[1:], ""
        elif args:
            # Only the word's last letter can take the next argument ('-v 2', '-hv 2').
            value, rest = args[0], args[1:]
        else:
            raise PflagError(
                f"flag needs an argument: {go_quote_rune(c)} in -{shorthands}", flag=spec.name
            )
        state.set(spec, value)
        shorthands = remaining
    return rest


def parse_command_line(schema: FlagSchema, args: Sequence[str]) -> ParsedFlags:
    """Parse kube-apiserver's arguments (without ``argv[0]``) as the real binary would.

    Returns every flag's typed value (defaults for flags not given), which flags were set, the
    deprecation warnings pflag prints, and whether ``--help``/``--version`` was asked for.

    Raises:
        PflagError: the text the binary prints after ``Error: `` (exit status 1).
    """
    state = _State(schema=schema, values=dict(schema_defaults(schema)))
    pending = list(args)
    while pending:
        arg, pending = pending[0], pending[1:]
        if len(arg) < 2 or arg[0] != "-":
            state.args.append(arg)
            continue
        if arg[1] == "-":
            if len(arg) == 2:
                state.args.extend(pending)
                break
            pending = _long(state, arg, pending)
        else:
            pending = _short(state, arg, pending)
    if any(state.args):
        shown = "[" + " ".join(go_quote(a) for a in state.args) + "]"
        raise PflagError(f"{go_quote(COMMAND_PATH)} does not take any arguments, got {shown}")
    raw: Mapping[str, tuple[str, ...]] = MappingProxyType(
        {k: tuple(v) for k, v in state.raw.items()}
    )
    return ParsedFlags(
        schema_version=schema.version,
        values=MappingProxyType(state.values),
        set_flags=frozenset(state.order),
        order=tuple(state.order),
        raw=raw,
        args=tuple(state.args),
        warnings=tuple(state.warnings),
    )
