"""Go's strconv/time parsers: results and exact error texts, table-driven plus properties."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deployer.schema.gofmt import aggregate, go_format_float, go_url_error
from deployer.schema.gostrconv import (
    GoValueError,
    atoi,
    go_quote,
    go_quote_rune,
    parse_bool,
    parse_float,
    parse_int,
    parse_uint,
)
from deployer.schema.gotime import format_duration, parse_duration

INT_OK = [
    ("0", 0),
    ("6443", 6443),
    ("-1", -1),
    ("+7", 7),
    ("0x1F", 31),
    ("0X1f", 31),
    ("0o17", 15),
    ("017", 15),
    ("0b101", 5),
    ("1_000", 1000),
    ("0x_1f", 31),
    ("9223372036854775807", 9223372036854775807),
    ("-9223372036854775808", -9223372036854775808),
]


@pytest.mark.parametrize(("text", "expected"), INT_OK)
def test_parse_int_accepts_go_base_zero_syntax(text: str, expected: int) -> None:
    assert parse_int(text) == expected


INT_ERRORS = [
    ("abc", 'strconv.ParseInt: parsing "abc": invalid syntax'),
    ("", 'strconv.ParseInt: parsing "": invalid syntax'),
    ("+", 'strconv.ParseInt: parsing "+": invalid syntax'),
    (" 1", 'strconv.ParseInt: parsing " 1": invalid syntax'),
    ("1.5", 'strconv.ParseInt: parsing "1.5": invalid syntax'),
    ("08", 'strconv.ParseInt: parsing "08": invalid syntax'),
    ("0x", 'strconv.ParseInt: parsing "0x": invalid syntax'),
    ("_1", 'strconv.ParseInt: parsing "_1": invalid syntax'),
    ("1__0", 'strconv.ParseInt: parsing "1__0": invalid syntax'),
    ("9223372036854775808", 'strconv.ParseInt: parsing "9223372036854775808": value out of range'),
    (
        "-9223372036854775809",
        'strconv.ParseInt: parsing "-9223372036854775809": value out of range',
    ),
    (
        "99999999999999999999x",
        'strconv.ParseInt: parsing "99999999999999999999x": value out of range',
    ),
    ('a"b', 'strconv.ParseInt: parsing "a\\"b": invalid syntax'),
]


@pytest.mark.parametrize(("text", "message"), INT_ERRORS)
def test_parse_int_errors_are_go_texts(text: str, message: str) -> None:
    with pytest.raises(GoValueError) as err:
        parse_int(text)
    assert str(err.value) == message


def test_parse_int_bit_size_32_limits() -> None:
    assert parse_int("2147483647", 0, 32) == 2147483647
    assert parse_int("-2147483648", 0, 32) == -2147483648
    with pytest.raises(GoValueError, match="value out of range"):
        parse_int("2147483648", 0, 32)
    with pytest.raises(GoValueError, match='parsing "5000000000x": value out of range'):
        parse_int("5000000000x", 0, 32)


@pytest.mark.parametrize(
    ("func", "text", "message"),
    [
        (parse_uint, "-1", 'strconv.ParseUint: parsing "-1": invalid syntax'),
        (
            parse_uint,
            "18446744073709551616",
            'strconv.ParseUint: parsing "18446744073709551616": value out of range',
        ),
        (atoi, "0x10", 'strconv.Atoi: parsing "0x10": invalid syntax'),
        (atoi, "", 'strconv.Atoi: parsing "": invalid syntax'),
        (atoi, "1_0", 'strconv.Atoi: parsing "1_0": invalid syntax'),
        (parse_bool, "yes", 'strconv.ParseBool: parsing "yes": invalid syntax'),
        (parse_bool, "", 'strconv.ParseBool: parsing "": invalid syntax'),
        (parse_float, "abc", 'strconv.ParseFloat: parsing "abc": invalid syntax'),
        (parse_float, "1e400", 'strconv.ParseFloat: parsing "1e400": value out of range'),
        (parse_float, "0x1p", 'strconv.ParseFloat: parsing "0x1p": invalid syntax'),
        (parse_float, "0x1.8", 'strconv.ParseFloat: parsing "0x1.8": invalid syntax'),
        (parse_float, "-nan", 'strconv.ParseFloat: parsing "-nan": invalid syntax'),
        (parse_float, "1_", 'strconv.ParseFloat: parsing "1_": invalid syntax'),
    ],
)
def test_other_parsers_error_texts(func: object, text: str, message: str) -> None:
    assert callable(func)
    with pytest.raises(GoValueError) as err:
        func(text)
    assert str(err.value) == message


@pytest.mark.parametrize(
    ("text", "value"),
    [(v, True) for v in ("1", "t", "T", "TRUE", "true", "True")]
    + [(v, False) for v in ("0", "f", "F", "FALSE", "false", "False")],
)
def test_parse_bool_accepts_exactly_go_words(text: str, value: bool) -> None:
    assert parse_bool(text) is value


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("0", 0.0),
        ("0.02", 0.02),
        (".5", 0.5),
        ("1.", 1.0),
        ("1e3", 1000.0),
        ("0x1p-2", 0.25),
        ("1_0.5", 10.5),
        ("+Inf", math.inf),
        ("-infinity", -math.inf),
    ],
)
def test_parse_float_accepts_go_literals(text: str, value: float) -> None:
    assert parse_float(text) == value


def test_parse_float_32_bit_range() -> None:
    assert parse_float("3.4e38", 32) == pytest.approx(3.4e38, rel=1e-6)
    with pytest.raises(GoValueError, match="value out of range"):
        parse_float("3.5e38", 32)


DURATION_OK = [
    ("0", 0),
    ("-0", 0),
    ("1m0s", 60_000_000_000),
    ("1h0m0s", 3_600_000_000_000),
    ("1.5s", 1_500_000_000),
    (".5s", 500_000_000),
    ("300ms", 300_000_000),
    ("1\u00b5s", 1_000),
    ("1\u03bcs", 1_000),
    ("-1s", -1_000_000_000),
    ("+2h45m", 9_900_000_000_000),
    ("1.0000000001s", 1_000_000_000),
]


@pytest.mark.parametrize(("text", "ns"), DURATION_OK)
def test_parse_duration_values(text: str, ns: int) -> None:
    assert parse_duration(text) == ns


DURATION_ERRORS = [
    ("", 'time: invalid duration ""'),
    ("5", 'time: missing unit in duration "5"'),
    ("5x", 'time: unknown unit "x" in duration "5x"'),
    ("1 s", 'time: unknown unit " s" in duration "1 s"'),
    ("s", 'time: invalid duration "s"'),
    (".s", 'time: invalid duration ".s"'),
    ("-", 'time: invalid duration "-"'),
    ("1d", 'time: unknown unit "d" in duration "1d"'),
    ("\u00b5s", 'time: invalid duration "\\xc2\\xb5s"'),
    ("9999999999h", 'time: invalid duration "9999999999h"'),
]


@pytest.mark.parametrize(("text", "message"), DURATION_ERRORS)
def test_parse_duration_errors(text: str, message: str) -> None:
    with pytest.raises(GoValueError) as err:
        parse_duration(text)
    assert str(err.value) == message


@pytest.mark.parametrize(
    ("ns", "text"),
    [
        (0, "0s"),
        (60_000_000_000, "1m0s"),
        (1_500_000_000, "1.5s"),
        (300_000_000, "300ms"),
        (1_500, "1.5\u00b5s"),
        (12, "12ns"),
        (3_600_000_000_000, "1h0m0s"),
        (-2_000_000_000, "-2s"),
    ],
)
def test_format_duration_is_go_string(ns: int, text: str) -> None:
    assert format_duration(ns) == text


@settings(max_examples=50)
@given(st.integers(min_value=-(2**63) + 1, max_value=2**63 - 1))
def test_duration_string_round_trips(ns: int) -> None:
    assert parse_duration(format_duration(ns)) == ns


@settings(max_examples=50)
@given(st.integers(min_value=-(2**63), max_value=2**63 - 1))
def test_any_int64_round_trips_through_parse_int(value: int) -> None:
    assert parse_int(str(value)) == value
    assert parse_int(hex(value)) == value  # Go's base 0 reads -0x... too


@settings(max_examples=50)
@given(st.integers(min_value=2**63, max_value=2**70))
def test_ints_beyond_int64_are_out_of_range(value: int) -> None:
    with pytest.raises(GoValueError, match="value out of range"):
        parse_int(str(value))


@settings(max_examples=50)
@given(st.floats(allow_nan=False, allow_infinity=False))
def test_any_finite_float_round_trips(value: float) -> None:
    assert parse_float(repr(value)) == value


def test_go_quote_escapes_like_strconv() -> None:
    assert go_quote('a"b\\c\n\x01\x7f\u00a0\u00e9') == '"a\\"b\\\\c\\n\\x01\\x7f\\u00a0\u00e9"'
    assert go_quote_rune("x") == "'x'"
    assert go_quote_rune("'") == "'\\''"


@pytest.mark.parametrize(
    ("value", "bits", "text"),
    [
        (0.0, 64, "0"),
        (-1.0, 32, "-1"),
        (0.5, 32, "0.5"),
        (0.1, 32, "0.1"),
        (100000.0, 64, "100000"),
        (1e6, 64, "1e+06"),
        (1234567.0, 64, "1.234567e+06"),
        (1e-05, 64, "1e-05"),
    ],
)
def test_go_format_float(value: float, bits: int, text: str) -> None:
    assert go_format_float(value, bits) == text


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        ("https://kubernetes.default.svc.cluster.local", None),
        ("https://a:6443/x?y=1", None),
        (":x", 'parse ":x": missing protocol scheme'),
        ("https://a:b", 'parse "https://a:b": invalid port ":b" after host'),
        ("http://%zz", 'parse "http://%zz": invalid URL escape "%zz"'),
        ("a b:c", 'parse "a b:c": first path segment in URL cannot contain colon'),
        ("https://a\n", 'parse "https://a\\n": net/url: invalid control character in URL'),
    ],
)
def test_go_url_error(raw: str, error: str | None) -> None:
    assert go_url_error(raw) == error


def test_aggregate_brackets_only_several_distinct_messages() -> None:
    assert aggregate(["a"]) == "a"
    assert aggregate(["a", "a"]) == "a"
    assert aggregate(["a", "b", "a"]) == "[a, b]"
