"""Quoting argv into one remote command line, sudo wrapping, and masking for display."""

from __future__ import annotations

import subprocess

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deployer.transport.command import (
    MASK,
    announce_argv,
    become_argv,
    check_argv,
    command_line,
    display_command,
    mask_text,
)

# Any text a shell argument can hold: everything but NUL (and surrogates, which are not UTF-8).
_ARG = st.text(st.characters(codec="utf-8", exclude_characters="\x00"))


def _parsed_by_sh(line: str) -> list[str]:
    """What a POSIX shell makes of ``printf '%s\\0' <line>``: the argv it would run."""
    out = subprocess.run(
        ["sh", "-c", "printf '%s\\0' " + line], capture_output=True, check=True
    ).stdout
    return out.decode().split("\0")[:-1]


@settings(max_examples=60, deadline=None)
@given(st.lists(_ARG, min_size=1, max_size=6))
def test_command_line_round_trips_through_a_real_shell(argv: list[str]) -> None:
    assert _parsed_by_sh(command_line(argv)) == argv


def test_command_line_keeps_shell_syntax_inert() -> None:
    argv = ["$(id)", "`id`", "a;b", "x|y", "*", "~", "it's", "new\nline", ""]
    assert _parsed_by_sh(command_line(argv)) == argv


@pytest.mark.parametrize(
    "bad",
    ["ls -l", b"ls", [], ["ls", 3], ["a\x00b"]],
    ids=["string", "bytes", "empty", "non-str", "nul"],
)
def test_check_argv_refuses_impossible_commands(bad: object) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - the message varies per case
        check_argv(bad)  # type: ignore[arg-type]


def test_become_always_names_its_prompt_and_ignores_cached_tickets() -> None:
    wrapped = become_argv(["-rf"], user="admin", prompt="[p] ")
    assert wrapped == ("sudo", "-k", "-S", "-p", "[p] ", "-u", "admin", "--", "-rf")
    assert command_line(wrapped).startswith("sudo -k -S -p '[p] ' -u admin -- ")


@pytest.mark.parametrize("prompt", ["", "%u's password", "two\nlines"])
def test_become_refuses_prompts_sudo_would_rewrite(prompt: str) -> None:
    with pytest.raises(ValueError, match="prompt"):
        become_argv(["true"], user="root", prompt=prompt)


def test_announce_runs_the_command_after_writing_the_marker_to_stderr() -> None:
    done = subprocess.run(
        announce_argv(["sh", "-c", "cat; echo err >&2"], "MARK"),
        input=b"payload",
        capture_output=True,
        check=True,
    )
    assert done.stdout == b"payload"
    assert done.stderr == b"MARK\nerr\n"


def test_become_refuses_an_empty_user() -> None:
    with pytest.raises(ValueError, match="user"):
        become_argv(["true"], user="", prompt="p")


def test_display_masks_named_secrets_and_secret_shaped_arguments() -> None:
    shown = display_command(
        ["kubectl", "--token=abc123", "--kubeconfig", "/k", "echo", "pw is hunter2"],
        secrets=["hunter2"],
    )
    assert "abc123" not in shown
    assert "hunter2" not in shown
    assert "--token=" + MASK in shown
    assert "--kubeconfig /k" in shown


def test_mask_text_hides_the_longer_secret_first() -> None:
    assert mask_text("key=abcdef", ["abc", "abcdef"]) == "key=" + MASK
    assert mask_text("nothing here", ["", "zzz"]) == "nothing here"
