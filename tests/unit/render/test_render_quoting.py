"""The quoting filters: any text reads back unchanged, whatever YAML syntax it contains."""

from __future__ import annotations

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from deployer.render.quoting import (
    UnquotedValueError,
    YamlScalar,
    finalize,
    yaml_bool,
    yaml_int,
    yaml_str,
)

# Characters that have a meaning in YAML or are awkward for parsers, mixed into generated text.
_NASTY = st.sampled_from(
    [": ", "#", " #", "\n", "\r\n", "\t", '"', "'", "\\", "-", "*", "&", "!", "{", "}", "[", "]",
     ",", "?", "|", ">", "%", "@", "`", "~", "null", "yes", "on", "0x1f", "1e3", "\x85",
     "\u2028", "\u2029", "\ufeff", "\x00", "\x7f", "é", "😀", "\U0010ffff", " ", ""]
)  # fmt: skip
_TEXT = st.lists(st.one_of(st.text(), _NASTY), max_size=8).map("".join)


@given(_TEXT)
def test_any_text_reads_back_unchanged_as_a_sequence_item_and_a_value(text: str) -> None:
    quoted = yaml_str(text)
    assert yaml.safe_load(quoted) == text
    assert yaml.safe_load(f"- {quoted}\n- x\n") == [text, "x"]
    assert yaml.safe_load(f"k: {quoted}\nother: 1\n") == {"k": text, "other": 1}


@given(_TEXT)
def test_quoted_text_is_one_line_of_printable_ascii(text: str) -> None:
    quoted = yaml_str(text)
    assert quoted.isascii() and quoted.isprintable()
    assert quoted.startswith('"') and quoted.endswith('"')


def test_values_that_look_like_other_types_stay_strings() -> None:
    for text in ("true", "no", "~", "null", "6443", "1.5", "2001-01-01", "", "<<", ".inf"):
        assert yaml.safe_load(yaml_str(text)) == text


def test_astral_characters_use_one_escape_not_a_surrogate_pair() -> None:
    assert yaml_str("😀") == '"\\U0001f600"'
    assert yaml.safe_load(yaml_str("😀")) == "😀"


def test_yaml_int_accepts_integers_and_refuses_everything_else() -> None:
    assert yaml_int(6443) == "6443"
    assert yaml_int("8443") == "8443"
    for bad in (True, "6443 # c", "0x10", 1.5, "", None, "1\n2"):
        with pytest.raises(UnquotedValueError):
            yaml_int(bad)


def test_yaml_bool_refuses_truthy_strings() -> None:
    assert yaml_bool(True) == "true"
    assert yaml_bool(False) == "false"
    for bad in ("yes", "true", 1, None):
        with pytest.raises(UnquotedValueError):
            yaml_bool(bad)


def test_finalize_lets_only_quoted_values_through() -> None:
    assert finalize(YamlScalar('"x"')) == '"x"'
    for bad in ("x", 1, None, ["a"]):
        with pytest.raises(UnquotedValueError, match="quoting filter"):
            finalize(bad)
