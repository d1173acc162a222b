"""Per-type flag values: every pflag type kube-apiserver uses, with the real error texts."""

from __future__ import annotations

import ipaddress
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deployer.schema import GoValueError, load_flag_schema, parse_flag_value
from deployer.schema.gocsv import read_csv_record
from deployer.schema.valuetypes import Duration, NamedCertKey, PortRange, VModuleItem

S31 = load_flag_schema("1.31")
S28 = load_flag_schema("1.28")


def value(flag: str, text: str, minor: str = "1.31") -> object:
    return parse_flag_value(load_flag_schema(minor).flags[flag], text)


def error(flag: str, text: str, minor: str = "1.31") -> str:
    with pytest.raises(GoValueError) as err:
        value(flag, text, minor)
    return str(err.value)


OK_CASES = [
    ("profiling", "false", False),
    ("secure-port", "0x1AB", 0x1AB),
    ("kubelet-port", "10250", 10250),
    ("default-not-ready-toleration-seconds", "-5", -5),
    ("audit-log-batch-throttle-qps", "1.5", 1.5),
    ("goaway-chance", "0.02", 0.02),
    ("request-timeout", "2m", Duration(120_000_000_000)),
    ("bind-address", " 10.0.0.1 ", ipaddress.ip_address("10.0.0.1")),
    ("advertise-address", "fd00::1", ipaddress.ip_address("fd00::1")),
    ("etcd-servers", "https://a:2379,https://b:2379", ("https://a:2379", "https://b:2379")),
    ("etcd-servers", '"a,b",c', ("a,b", "c")),
    ("etcd-servers", "", ()),
    ("service-account-issuer", "a,b", ("a,b",)),
    ("allow-metric-labels", "a,b=1", {"a,b": "1"}),
    ("allow-metric-labels", '"x=1"', {"x": "1"}),
    ("allow-metric-labels", "a=1,b=2", {"a": "1", "b": "2"}),
    ("runtime-config", " api/all=false , batch/v1 ,,", {"api/all": "false", "batch/v1": ""}),
    ("oidc-required-claim", " hd = example.com,x ", {"hd": "example.com,x"}),
    ("feature-gates", "A=true, kube:B=false", {"": ("A=true",), "kube": ("B=false",)}),
    ("service-node-port-range", "30000-32767", PortRange(30000, 2768)),
    ("service-node-port-range", " 80 ", PortRange(80, 1)),
    ("service-node-port-range", "8000+10", PortRange(8000, 11)),
    ("service-node-port-range", "", PortRange(0, 0)),
    ("tls-sni-cert-key", " c.crt , c.key ", (NamedCertKey("c.crt", "c.key"),)),
    ("tls-sni-cert-key", "c,k: a.com, b.com", (NamedCertKey("c", "k", ("a.com", "b.com")),)),
    ("v", "4", 4),
    ("vmodule", "foo=2,,bar*=3", (VModuleItem("foo", 2), VModuleItem("bar*", 3))),
    ("version", "raw", "raw"),
    ("version", "T", "true"),
    ("version", "v1.31.0-lab", "v1.31.0-lab"),
]


@pytest.mark.parametrize(("flag", "text", "expected"), OK_CASES)
def test_values_parse_like_the_go_value(flag: str, text: str, expected: object) -> None:
    assert value(flag, text) == expected


ERROR_CASES = [
    ("profiling", "yes", 'strconv.ParseBool: parsing "yes": invalid syntax'),
    ("secure-port", "abc", 'strconv.ParseInt: parsing "abc": invalid syntax'),
    ("kubelet-port", "-1", 'strconv.ParseUint: parsing "-1": invalid syntax'),
    ("default-not-ready-toleration-seconds", "x", "parse error"),
    ("default-unreachable-toleration-seconds", "99999999999999999999", "value out of range"),
    (
        "audit-log-batch-throttle-qps",
        "1e39",
        'strconv.ParseFloat: parsing "1e39": value out of range',
    ),
    ("goaway-chance", "2%", 'strconv.ParseFloat: parsing "2%": invalid syntax'),
    ("request-timeout", "60", 'time: missing unit in duration "60"'),
    ("bind-address", "1.2.3", 'failed to parse IP: "1.2.3"'),
    ("bind-address", "01.2.3.4", 'failed to parse IP: "01.2.3.4"'),
    ("advertise-address", "fe80::1%eth0", 'failed to parse IP: "fe80::1%eth0"'),
    ("etcd-servers", 'a"b', 'parse error on line 1, column 2: bare " in non-quoted-field'),
    (
        "etcd-servers",
        'x,"a',
        'parse error on line 1, column 5: extraneous or missing " in quoted-field',
    ),
    (
        "etcd-servers",
        '"a"b',
        'parse error on line 1, column 3: extraneous or missing " in quoted-field',
    ),
    ("etcd-servers", "\n", "EOF"),
    ("allow-metric-labels", "abc", "abc must be formatted as key=value"),
    ("allow-metric-labels", "a=1,b=2,c", "c must be formatted as key=value"),
    ("oidc-required-claim", "hd", "malformed pair, expect string=string"),
    ("service-node-port-range", "x", 'strconv.Atoi: parsing "x": invalid syntax'),
    ("service-node-port-range", "1-2+3", "unable to parse port range: 1-2+3"),
    ("service-node-port-range", "1-70000", "the port range cannot be greater than 65535: 1-70000"),
    ("service-node-port-range", "90-80", "end port cannot be less than start port: 90-80"),
    ("service-node-port-range", "-5", 'strconv.Atoi: parsing "": invalid syntax'),
    ("tls-sni-cert-key", "only.crt", "expected comma separated certificate and key file paths"),
    ("tls-sni-cert-key", "c,k:", "empty names list is not allowed"),
    ("tls-sni-cert-key", "a,b,c", "expected comma separated certificate and key file paths"),
    ("v", "x", 'strconv.ParseUint: parsing "x": invalid syntax'),
    ("v", "2147483648", 'strconv.ParseUint: parsing "2147483648": value out of range'),
    ("v", "0x2", 'strconv.ParseUint: parsing "0x2": invalid syntax'),
    ("vmodule", "foo", '"foo" does not have the pattern=N format'),
    ("vmodule", "=2", '"=2" does not have the pattern=N format'),
    ("vmodule", "a=b=2", '"a=b=2" does not have the pattern=N format'),
    (
        "vmodule",
        "foo=x",
        'parsing verbosity in "foo=x": strconv.ParseUint: parsing "x": invalid syntax',
    ),
    ("version", "maybe", 'strconv.ParseBool: parsing "maybe": invalid syntax'),
    ("log-text-info-buffer-size", "5ki", "unable to parse quantity's suffix"),
    (
        "log-text-info-buffer-size",
        "5 Mi",
        "quantities must match the regular expression "
        "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
    ),
]


@pytest.mark.parametrize(("flag", "text", "message"), ERROR_CASES)
def test_value_errors_are_the_go_texts(flag: str, text: str, message: str) -> None:
    assert error(flag, text) == message


def test_feature_gates_up_to_1_30_are_checked_at_parse_time() -> None:
    assert value("feature-gates", "A=true,B=0", "1.28") == {"A": True, "B": False}
    assert error("feature-gates", "A", "1.28") == "missing bool value for A"
    assert (
        error("feature-gates", "A=yes", "1.30")
        == 'invalid value of A=yes, err: strconv.ParseBool: parsing "yes": invalid syntax'
    )


def test_cidrs_go_flag_values() -> None:
    assert value("cloud-provider-gce-lb-src-cidrs", "010.0.0.1/8", "1.28") == (
        ipaddress.ip_network("10.0.0.0/8"),
    )
    assert error("cloud-provider-gce-lb-src-cidrs", "1.2.3.4/33", "1.28") == (
        "invalid CIDR address: 1.2.3.4/33"
    )


@pytest.mark.parametrize(
    ("text", "number"),
    [("0", 0), ("5Mi", 5 * 2**20), ("1k", 1000), ("1.5G", 1_500_000_000), ("1e3", 1000), ("-", 0)],
)
def test_quantities(text: str, number: int) -> None:
    parsed = value("log-text-info-buffer-size", text)
    assert getattr(parsed, "value", None) == Decimal(number)
    assert str(parsed) == text


@settings(max_examples=50)
@given(st.text())
def test_any_string_is_accepted_unchanged_by_a_string_flag(text: str) -> None:
    assert value("tls-cert-file", text) == text
    assert value("service-account-issuer", text) == (text,)


@settings(max_examples=50)
@given(st.integers(min_value=-(2**63), max_value=2**63 - 1))
def test_any_int_in_range_round_trips_through_an_int_flag(number: int) -> None:
    assert value("max-requests-inflight", str(number)) == number


@settings(max_examples=50)
@given(st.integers(min_value=0, max_value=2**31 - 1))
def test_any_31_bit_level_round_trips_through_v(level: int) -> None:
    assert value("v", str(level)) == level


@settings(max_examples=50)
@given(
    st.lists(st.text(alphabet=st.characters(blacklist_characters='",\r\n'), min_size=1), min_size=1)
)
def test_csv_without_quotes_splits_on_commas(items: list[str]) -> None:
    assert read_csv_record(",".join(items)) == items


@settings(max_examples=50)
@given(st.lists(st.text(alphabet=st.characters(blacklist_characters="\r\n")), min_size=1))
def test_csv_quoted_fields_round_trip(items: list[str]) -> None:
    line = ",".join('"' + item.replace('"', '""') + '"' for item in items)
    assert read_csv_record(line) == items
