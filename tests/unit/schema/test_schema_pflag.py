"""The kube-apiserver command line: pflag v1.0.5 forms, errors and accumulation."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deployer.schema import ParsedFlags, PflagError, load_flag_schema, parse_command_line
from deployer.schema.valuetypes import Duration

S31 = load_flag_schema("1.31")


def parse(*args: str, minor: str = "1.31") -> ParsedFlags:
    return parse_command_line(load_flag_schema(minor), args)


def refused(*args: str, minor: str = "1.31") -> str:
    with pytest.raises(PflagError) as err:
        parse(*args, minor=minor)
    return str(err.value)


def test_forms_of_a_valued_flag() -> None:
    assert parse("--secure-port=1").values["secure-port"] == 1
    assert parse("--secure-port", "2").values["secure-port"] == 2
    assert parse("--secure-port=3", "--secure-port=4").values["secure-port"] == 4


def test_bool_flag_forms() -> None:
    assert parse("--profiling").values["profiling"] is True
    assert parse("--profiling=false").values["profiling"] is False
    assert parse("--anonymous-auth=0").values["anonymous-auth"] is False


def test_bool_flag_with_a_separate_value_makes_it_positional() -> None:
    assert refused("--anonymous-auth", "false") == (
        '"kube-apiserver" does not take any arguments, got ["false"]'
    )


def test_shorthand_forms() -> None:
    assert parse("-v=2").values["v"] == 2
    assert parse("-v", "3").values["v"] == 3
    assert parse("-v4").values["v"] == 4
    assert parse("--v=5").values["v"] == 5
    combined = parse("-hv6")
    assert combined.help_requested
    assert combined.values["v"] == 6


def test_double_dash_ends_flags_and_only_empty_positionals_pass() -> None:
    assert parse("--", "").args == ("",)
    assert refused("--", "--secure-port=1") == (
        '"kube-apiserver" does not take any arguments, got ["--secure-port=1"]'
    )
    assert refused("foo", "", "bar") == (
        '"kube-apiserver" does not take any arguments, got ["foo" "" "bar"]'
    )
    assert refused("-") == '"kube-apiserver" does not take any arguments, got ["-"]'


def test_underscores_normalize_to_dashes() -> None:
    parsed = parse("--etcd_servers=https://127.0.0.1:2379", "--secure_port", "6444")
    assert parsed.values["etcd-servers"] == ("https://127.0.0.1:2379",)
    assert parsed.is_set("secure-port")
    assert parsed.order == ("etcd-servers", "secure-port")


PARSE_ERRORS = [
    (("--foo",), "unknown flag: --foo"),
    (("--foo=x",), "unknown flag: --foo"),
    (("--foo_bar",), "unknown flag: --foo_bar"),
    (("--insecure-port=0",), "unknown flag: --insecure-port"),
    (("-x",), "unknown shorthand flag: 'x' in -x"),
    (
        ("-vx",),
        'invalid argument "x" for "-v, --v" flag: strconv.ParseUint: parsing "x": invalid syntax',
    ),
    (("-hx",), "unknown shorthand flag: 'x' in -x"),
    (("-v",), "flag needs an argument: 'v' in -v"),
    (("--secure-port",), "flag needs an argument: --secure-port"),
    (("--etcd_servers",), "flag needs an argument: --etcd_servers"),
    (("---x",), "bad flag syntax: ---x"),
    (("--=x",), "bad flag syntax: --=x"),
    (
        ("--secure-port", "abc"),
        'invalid argument "abc" for "--secure-port" flag: strconv.ParseInt: parsing "abc": '
        "invalid syntax",
    ),
    (
        ("--bind-address=1.2.3",),
        'invalid argument "1.2.3" for "--bind-address" flag: failed to parse IP: "1.2.3"',
    ),
    (
        ("--v=-1",),
        'invalid argument "-1" for "-v, --v" flag: strconv.ParseUint: parsing "-1": invalid syntax',
    ),
    (
        ("--request-timeout=5",),
        'invalid argument "5" for "--request-timeout" flag: time: missing unit in duration "5"',
    ),
    (
        ("--profiling=yes",),
        'invalid argument "yes" for "--profiling" flag: strconv.ParseBool: parsing "yes": '
        "invalid syntax",
    ),
    (
        ("--service-node-port-range=80-70",),
        'invalid argument "80-70" for "--service-node-port-range" flag: end port cannot be less '
        "than start port: 80-70",
    ),
    (
        ("--default-not-ready-toleration-seconds=soon",),
        'invalid argument "soon" for "--default-not-ready-toleration-seconds" flag: parse error',
    ),
    (
        ('--etcd-servers=a"b',),
        'invalid argument "a\\"b" for "--etcd-servers" flag: parse error on line 1, column 2: '
        'bare " in non-quoted-field',
    ),
]


@pytest.mark.parametrize(("args", "message"), PARSE_ERRORS)
def test_parse_errors_are_the_binary_texts(args: tuple[str, ...], message: str) -> None:
    assert refused(*args) == message


def test_first_error_wins() -> None:
    assert refused("--foo", "--bar") == "unknown flag: --foo"


def test_removed_flags_are_unknown_from_their_version_on() -> None:
    assert parse("--cloud-provider=external", minor="1.32").values["cloud-provider"] == "external"
    assert refused("--cloud-provider=external", minor="1.33") == "unknown flag: --cloud-provider"
    assert parse("--cloud-provider-gce-lb-src-cidrs=10.0.0.0/8", minor="1.30").is_set(
        "cloud-provider-gce-lb-src-cidrs"
    )
    assert refused("--cloud-provider-gce-lb-src-cidrs=10.0.0.0/8", minor="1.31") == (
        "unknown flag: --cloud-provider-gce-lb-src-cidrs"
    )


def test_flags_added_later_are_unknown_before() -> None:
    assert refused("--authentication-config=/x", minor="1.28") == (
        "unknown flag: --authentication-config"
    )
    assert parse("--authentication-config=/x", minor="1.29").is_set("authentication-config")


def test_deprecated_flags_warn_once_per_occurrence_and_apply() -> None:
    parsed = parse("--apiserver-count=3", "--apiserver-count=2")
    assert parsed.values["apiserver-count"] == 2
    assert (
        parsed.warnings
        == (
            "Flag --apiserver-count has been deprecated, apiserver-count is deprecated and will be "
            "removed in a future version.",
        )
        * 2
    )


def test_deprecated_warning_names_the_normalized_flag() -> None:
    parsed = parse("--enable_logs_handler=false")
    assert parsed.warnings == (
        "Flag --enable-logs-handler has been deprecated, This flag will be removed in v1.19",
    )


def test_string_slice_first_occurrence_replaces_default_then_appends() -> None:
    assert parse().values["oidc-signing-algs"] == ("RS256",)
    parsed = parse("--oidc-signing-algs=ES256", "--oidc-signing-algs=RS512,PS256")
    assert parsed.values["oidc-signing-algs"] == ("ES256", "RS512", "PS256")


def test_string_array_appends_without_splitting() -> None:
    parsed = parse("--service-account-issuer=a,b", "--service-account-issuer=c")
    assert parsed.values["service-account-issuer"] == ("a,b", "c")
    assert parsed.raw["service-account-issuer"] == ("a,b", "c")


def test_maps_merge_across_occurrences() -> None:
    parsed = parse(
        "--runtime-config=api/all=true",
        "--runtime-config=batch/v1=false",
        "--oidc-required-claim=a=1",
        "--oidc-required-claim=b=2",
        "--allow-metric-labels=m,l=1",
        "--allow-metric-labels=m,l=2",
    )
    assert dict(parsed.mapping("runtime-config")) == {"api/all": "true", "batch/v1": "false"}
    assert dict(parsed.mapping("oidc-required-claim")) == {"a": "1", "b": "2"}
    assert dict(parsed.mapping("allow-metric-labels")) == {"m,l": "2"}


def test_feature_gate_multimap_keeps_every_value() -> None:
    parsed = parse("--feature-gates=A=true", "--feature-gates=B=false,kube:C=true")
    assert dict(parsed.mapping("feature-gates")) == {"": ("A=true", "B=false"), "kube": ("C=true",)}


def test_feature_gates_are_parse_errors_up_to_1_30() -> None:
    assert refused("--feature-gates=A", minor="1.30") == (
        'invalid argument "A" for "--feature-gates" flag: missing bool value for A'
    )
    assert dict(
        parse("--feature-gates=A=true", "--feature-gates=B=false", minor="1.29").mapping(
            "feature-gates"
        )
    ) == {"A": True, "B": False}


def test_named_cert_keys_and_vmodule_accumulate() -> None:
    parsed = parse(
        "--tls-sni-cert-key=a,b", "--tls-sni-cert-key=c,d:x", "--vmodule=a=1", "--vmodule=b=2"
    )
    assert [k.cert_file for k in parsed.values["tls-sni-cert-key"]] == ["a", "c"]  # type: ignore[attr-defined]
    assert len(parsed.values["vmodule"]) == 2  # type: ignore[arg-type]


def test_defaults_are_typed() -> None:
    parsed = parse()
    assert parsed.values["request-timeout"] == Duration(60_000_000_000)
    assert str(parsed.values["event-ttl"]) == "1h0m0s"
    assert parsed.values["advertise-address"] is None
    assert str(parsed.values["service-node-port-range"]) == "30000-32767"
    assert parsed.values["help"] is False
    assert parsed.version_requested == "false"
    assert parsed.set_flags == frozenset()


def test_version_flag_takes_an_optional_value() -> None:
    assert parse("--version").version_requested == "true"
    assert parse("--version=raw").version_requested == "raw"
    assert (
        refused("--version", "raw") == '"kube-apiserver" does not take any arguments, got ["raw"]'
    )


@pytest.mark.parametrize("minor", ["1.28", "1.29", "1.30", "1.31", "1.32", "1.33"])
def test_every_default_parses_in_every_version(minor: str) -> None:
    parsed = parse(minor=minor)
    assert set(parsed.values) == set(load_flag_schema(minor).flags)


_WORDS = st.sampled_from(
    [
        "--secure-port",
        "--etcd-servers",
        "--profiling",
        "-v",
        "-h",
        "--",
        "--feature-gates",
        "-",
        "--service-node-port-range",
        "--tls-sni-cert-key",
        "--vmodule",
        "--version",
        "x",
        "",
    ]
)


@settings(max_examples=150)
@given(st.lists(st.one_of(_WORDS, st.text(max_size=12), _WORDS.map(lambda w: w + "=")), max_size=6))
def test_any_command_line_parses_or_raises_pflag_error(args: list[str]) -> None:
    for minor in ("1.28", "1.31"):
        message = ""
        try:
            parsed = parse(*args, minor=minor)
        except PflagError as err:  # the only exception the binary's parser may raise
            message = str(err)
        else:
            assert not any(parsed.args)
            continue
        assert message
