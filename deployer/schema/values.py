"""Per-type flag value parsing, as each kube-apiserver flag's Go ``Value.Set`` does it.

Why one table of parsers: the pflag command-line parser, the offline validator and the lab's
apiserver stand-in must agree on what a value means and on the exact error text, so all of
them go through :func:`parse_flag_value` and :func:`accumulate`.

Each parser turns one occurrence's text into a value, or raises :class:`GoValueError` with the
Go error text; pflag wraps that as ``invalid argument "<text>" for "--flag" flag: <error>``.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from types import MappingProxyType

from deployer.schema.gocsv import read_csv_record
from deployer.schema.gostrconv import (
    GoValueError,
    atoi,
    go_quote,
    go_trim_space,
    parse_bool,
    parse_float,
    parse_int,
    parse_uint,
)
from deployer.schema.gotime import parse_duration
from deployer.schema.model import FlagSpec
from deployer.schema.valuetypes import (
    Duration,
    NamedCertKey,
    PortRange,
    Quantity,
    VModuleItem,
    parse_cidr_sloppy,
    parse_ip,
)

__all__ = ["Accumulate", "accumulate", "default_value", "parse_flag_value", "parser_accumulate"]


class Accumulate(enum.Enum):
    """What a second occurrence of a flag does (pflag calls ``Set`` once per occurrence)."""

    #: The last occurrence wins (scalars).
    REPLACE = "replace"
    #: The first occurrence replaces the default, later ones append (slices, arrays).
    EXTEND = "extend"
    #: The first occurrence replaces the default map, later ones add or overwrite keys.
    MERGE = "merge"
    #: Like MERGE, but each key keeps every value given (colon-separated multimap).
    MULTIMAP = "multimap"


def _go_flag_int(text: str) -> int:
    """Go's ``flag`` package int64: strconv errors become ``parse error``/``value out of range``."""
    try:
        return parse_int(text, 0, 64)
    except GoValueError as err:
        if "value out of range" in str(err):
            raise GoValueError("value out of range") from None
        raise GoValueError("parse error") from None


def _string_slice(text: str) -> tuple[str, ...]:
    return () if text == "" else tuple(read_csv_record(text))


def _string_to_string(text: str) -> Mapping[str, str]:
    count = text.count("=")
    if count == 0:
        raise GoValueError(f"{text} must be formatted as key=value")
    pairs = [text.strip('"')] if count == 1 else read_csv_record(text)
    out: dict[str, str] = {}
    for pair in pairs:
        key, eq, value = pair.partition("=")
        if not eq:
            raise GoValueError(f"{pair} must be formatted as key=value")
        out[key] = value
    return MappingProxyType(out)


def _configuration_map(text: str) -> Mapping[str, str]:
    out: dict[str, str] = {}
    for item in text.split(","):
        if not item:
            continue
        key, eq, value = item.partition("=")
        out[go_trim_space(key)] = go_trim_space(value) if eq else ""
    return MappingProxyType(out)


def _map_no_split(text: str) -> Mapping[str, str]:
    key, eq, value = text.partition("=")
    if not eq:
        raise GoValueError("malformed pair, expect string=string")
    return MappingProxyType({go_trim_space(key): go_trim_space(value)})


def _map_string_bool(text: str) -> Mapping[str, bool]:
    """featureGate.Set (<= 1.30): ``Gate=bool`` pairs; gate names are checked by the caller."""
    out: dict[str, bool] = {}
    for item in text.split(","):
        if not item:
            continue
        key, eq, value = item.partition("=")
        key = go_trim_space(key)
        if not eq:
            raise GoValueError(f"missing bool value for {key}")
        value = go_trim_space(value)
        try:
            out[key] = parse_bool(value)
        except GoValueError as err:
            raise GoValueError(f"invalid value of {key}={value}, err: {err}") from None
    return MappingProxyType(out)


def _colon_multimap(text: str) -> Mapping[str, tuple[str, ...]]:
    """ColonSeparatedMultimapStringString with an allowed empty key: never fails to parse."""
    out: dict[str, tuple[str, ...]] = {}
    for item in text.split(","):
        if not item:
            continue
        key, colon, value = item.partition(":")
        if not colon:
            key, value = "", key
        key, value = go_trim_space(key), go_trim_space(value)
        out[key] = (*out.get(key, ()), value)
    return MappingProxyType(out)


def _port_range(text: str) -> PortRange:
    value = go_trim_space(text)
    if value == "":
        return PortRange(0, 0)
    hyphen, plus = value.find("-"), value.find("+")
    if hyphen >= 0 and plus >= 0:
        raise GoValueError(f"unable to parse port range: {value}")
    if hyphen >= 0:
        low, high = atoi(value[:hyphen]), atoi(value[hyphen + 1 :])
    elif plus >= 0:
        low = atoi(value[:plus])
        high = low + atoi(value[plus + 1 :])
    else:
        low = high = atoi(value)
    if low > 65535 or high > 65535:
        raise GoValueError(f"the port range cannot be greater than 65535: {value}")
    if high < low:
        raise GoValueError(f"end port cannot be less than start port: {value}")
    return PortRange(low, 1 + high - low)


def _named_cert_key(text: str) -> tuple[NamedCertKey, ...]:
    keycert, colon, names_text = text.partition(":")
    names: tuple[str, ...] = ()
    keycert = go_trim_space(keycert)
    if colon:
        names_text = go_trim_space(names_text)
        if names_text == "":
            raise GoValueError("empty names list is not allowed")
        names = tuple(go_trim_space(n) for n in names_text.split(","))
    parts = keycert.split(",")
    if len(parts) != 2:
        raise GoValueError("expected comma separated certificate and key file paths")
    return (NamedCertKey(go_trim_space(parts[0]), go_trim_space(parts[1]), names),)


def _cidrs(text: str) -> tuple[object, ...]:
    return tuple(parse_cidr_sloppy(item) for item in text.split(","))


def _vmodule(text: str) -> tuple[VModuleItem, ...]:
    items: list[VModuleItem] = []
    for pat in text.split(","):
        if not pat:
            continue
        parts = pat.split("=")
        if len(parts) != 2 or not parts[0] or not parts[1]:
            raise GoValueError(f"{go_quote(pat)} does not have the pattern=N format")
        try:
            level = parse_uint(parts[1], 10, 31)
        except GoValueError as err:
            raise GoValueError(f"parsing verbosity in {go_quote(pat)}: {err}") from None
        items.append(VModuleItem(parts[0], level))
    return tuple(items)


def _version(text: str) -> str:
    if text == "raw" or text.startswith("v"):
        return text
    return "true" if parse_bool(text) else "false"


_QUANTITY_FORMAT = GoValueError(
    "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
)
_QUANTITY_RE = re.compile(r"([+-]?)([0-9]*)(?:\.([0-9]*))?([eEinumkKMGTP]*)([-+]?[0-9]*)")
_DEC_SUFFIX = MappingProxyType(
    {"": 0, "n": -9, "u": -6, "m": -3, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
)
_BIN_SUFFIX = MappingProxyType({"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60})


def _quantity(text: str) -> Quantity:
    """resource.ParseQuantity: same accepted forms and the same two error texts."""
    if text == "":
        raise _QUANTITY_FORMAT
    match = _QUANTITY_RE.fullmatch(text)
    if match is None:
        raise _QUANTITY_FORMAT
    sign, whole, frac, letters, exp_digits = match.groups()
    suffix = letters + exp_digits
    number = Decimal(f"{sign or '+'}{whole or '0'}.{frac or '0'}")
    if suffix in _DEC_SUFFIX:
        value = number.scaleb(_DEC_SUFFIX[suffix])
    elif suffix in _BIN_SUFFIX:
        value = number * (2 ** _BIN_SUFFIX[suffix])
    elif len(suffix) > 1 and suffix[0] in "eE":
        try:
            value = number.scaleb(parse_int(suffix[1:], 10, 64))
        except (GoValueError, InvalidOperation):
            raise GoValueError("unable to parse quantity's suffix") from None
    else:
        raise GoValueError("unable to parse quantity's suffix")
    return Quantity(text, value)


def _int32_slice(text: str) -> tuple[int, ...]:
    """Parse like pflag int32Slice: a plain comma split (no CSV, no trim), ParseInt(s, 0, 32)."""
    return tuple(parse_int(item, 0, 32) for item in text.split(","))


_Parser = Callable[[str], object]

_PARSERS: Mapping[str, tuple[_Parser, Accumulate]] = MappingProxyType(
    {
        "bool": (parse_bool, Accumulate.REPLACE),
        "string": (str, Accumulate.REPLACE),
        "int": (lambda s: parse_int(s, 0, 64), Accumulate.REPLACE),
        "int32": (lambda s: parse_int(s, 0, 32), Accumulate.REPLACE),
        "int64": (lambda s: parse_int(s, 0, 64), Accumulate.REPLACE),
        "uint": (lambda s: parse_uint(s, 0, 64), Accumulate.REPLACE),
        "goflag.int64": (_go_flag_int, Accumulate.REPLACE),
        "float32": (lambda s: parse_float(s, 32), Accumulate.REPLACE),
        "float64": (lambda s: parse_float(s, 64), Accumulate.REPLACE),
        "duration": (lambda s: Duration(parse_duration(s)), Accumulate.REPLACE),
        "ip": (parse_ip, Accumulate.REPLACE),
        "stringSlice": (_string_slice, Accumulate.EXTEND),
        "stringArray": (lambda s: (s,), Accumulate.EXTEND),
        "int32Slice": (_int32_slice, Accumulate.EXTEND),
        "stringToString": (_string_to_string, Accumulate.MERGE),
        "configurationMap": (_configuration_map, Accumulate.MERGE),
        "mapStringStringNoSplit": (_map_no_split, Accumulate.MERGE),
        "mapStringBool": (_map_string_bool, Accumulate.MERGE),
        "colonSeparatedMultimapStringString": (_colon_multimap, Accumulate.MULTIMAP),
        "portRange": (_port_range, Accumulate.REPLACE),
        "namedCertKey": (_named_cert_key, Accumulate.EXTEND),
        "cidrs": (_cidrs, Accumulate.EXTEND),
        "quantity": (_quantity, Accumulate.REPLACE),
        "Level": (lambda s: parse_uint(s, 10, 31), Accumulate.REPLACE),
        "pattern=N,...": (_vmodule, Accumulate.EXTEND),
        "version": (_version, Accumulate.REPLACE),
    }
)


def _parser(spec: FlagSpec) -> tuple[_Parser, Accumulate]:
    try:
        return _PARSERS[spec.parser]
    except KeyError:
        raise LookupError(
            f"no value parser for pflag type {spec.parser!r} (--{spec.name})"
        ) from None


def parse_flag_value(spec: FlagSpec, text: str) -> object:
    """Parse one occurrence of ``--<spec.name>=<text>`` the way the flag's Go value does.

    Returns the typed value (``int``, ``bool``, ``Duration``, ``tuple[str, ...]``, a read-only
    mapping ...). For list and map flags this is the value of that occurrence alone.

    Raises:
        GoValueError: the Go error text, without pflag's ``invalid argument`` wrapper.
    """
    return _parser(spec)[0](text)


def parser_accumulate(spec: FlagSpec) -> Accumulate:
    """Return how repeated occurrences of ``spec`` combine."""
    return _parser(spec)[1]


def accumulate(spec: FlagSpec, previous: object | None, new: object) -> object:
    """Combine an earlier occurrence's value (``None`` = still the default) with a new one."""
    mode = parser_accumulate(spec)
    if previous is None or mode is Accumulate.REPLACE:
        return new
    if mode is Accumulate.EXTEND:
        if not isinstance(previous, tuple) or not isinstance(new, tuple):
            raise TypeError(f"--{spec.name}: list values expected")
        if spec.parser == "cidrs":
            return previous + tuple(n for n in new if n not in previous)
        return previous + new
    if not isinstance(previous, Mapping) or not isinstance(new, Mapping):
        raise TypeError(f"--{spec.name}: map values expected")
    merged = dict(previous)
    if mode is Accumulate.MULTIMAP:
        for key, values in new.items():
            merged[key] = (*merged.get(key, ()), *values)
    else:
        merged.update(new)
    return MappingProxyType(merged)


def default_value(spec: FlagSpec) -> object:
    """Return the typed default of ``spec`` (what the binary uses when the flag is not given).

    Empty defaults of list and map types are empty containers, and an empty ``ip`` is ``None``
    (pflag prints ``<nil>``); ``[]`` is how pflag prints an empty ``stringToString``.
    """
    text = spec.default
    mode = parser_accumulate(spec)
    if text in ("", "[]") and mode is not Accumulate.REPLACE:
        return MappingProxyType({}) if mode in (Accumulate.MERGE, Accumulate.MULTIMAP) else ()
    if text == "" and spec.parser in ("ip", "duration", "quantity", "int", "int64", "float64"):
        return None
    return parse_flag_value(spec, text)
