"""When a privileged step is wrapped in sudo, and what its stdin receives (SSH side: integration).

The exchange is fed stderr exactly as sudo writes it, chunk by chunk; what it answers is what
reaches the host's stdin. The property under test: the password goes out only after sudo's own
prompt, the payload only after the command announced its start, and a refused password stops
everything.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from deployer.errors import UnreachableError
from deployer.model.host import Secret
from deployer.transport.become import Become, SudoExchange
from deployer.transport.options import SshOptions

_PW = Secret("pw-41c7")


def _exchange(*, payload: bytes | None) -> SudoExchange:
    return SudoExchange(
        prompt=b"[P] ",
        marker=None if payload is None else b"MARK",
        payload=payload,
        password=lambda: _PW,
    )


def _feed(exchange: SudoExchange, chunks: list[bytes]) -> tuple[bytes, bool]:
    sent, closed = bytearray(), False
    for chunk in chunks:
        data, close = exchange.on_stderr(chunk)
        assert not closed or not data, "nothing may be sent after stdin is closed"
        sent += data
        closed = closed or close
    return bytes(sent), closed


def test_no_wrapping_without_become_or_when_already_the_target_user() -> None:
    off = Become(SshOptions(become=False), "cp1")
    assert off.wrap(["id"], sudo=True, login_user="ops", payload=None).exchange is None
    on = Become(SshOptions(become=True), "cp1")
    assert on.wrap(["id"], sudo=True, login_user="root", payload=None).argv == ("id",)
    assert on.wrap(["id"], sudo=False, login_user="ops", payload=None).exchange is None


def test_every_escalated_command_names_the_connection_prompt() -> None:
    become = Become(SshOptions(become=True), "cp1")
    first = become.wrap(["id"], sudo=True, login_user="ops", payload=None).argv
    second = become.wrap(["cat", "/x"], sudo=True, login_user="ops", payload=b"x").argv
    assert first[:4] == ("sudo", "-k", "-S", "-p")
    assert first[4] == second[4]
    assert first[5:] == ("-u", "root", "--", "id")
    # A payload command is announced (sh wrapper with a random marker) before it runs.
    assert second[7:10] == ("--", "sh", "-c")
    assert second[-2:] == ("cat", "/x")


def test_nopasswd_command_with_payload_gets_the_payload_and_never_the_password() -> None:
    exchange = _exchange(payload=b"spec: {}\n")
    sent, closed = _feed(exchange, [b"MA", b"RK\nwarning from the command\n"])
    assert sent == b"spec: {}\n"
    assert closed
    assert exchange.stderr() == b"warning from the command\n"


def test_password_rule_gets_the_password_then_the_payload() -> None:
    exchange = _exchange(payload=b"data")
    sent, closed = _feed(exchange, [b"[P", b"] ", b"MARK\n"])
    assert sent == b"pw-41c7\ndata"
    assert closed
    assert exchange.stderr() == b""


def test_refused_password_never_sends_the_payload() -> None:
    exchange = _exchange(payload=b"data")
    sent, closed = _feed(exchange, [b"[P] ", b"Sorry, try again.\n[P] "])
    assert sent == b"pw-41c7\n"
    assert closed
    assert exchange.refused
    assert exchange.stderr() == b"Sorry, try again.\n"


def test_command_without_payload_closes_stdin_after_the_password_or_its_first_output() -> None:
    asked = _exchange(payload=None)
    assert _feed(asked, [b"[P] "]) == (b"pw-41c7\n", True)
    silent = _exchange(payload=None)
    assert _feed(silent, [b"a warning\n"]) == (b"", False)
    assert silent.on_stdout(b"0\n") == (b"", True)
    assert silent.stderr() == b"a warning\n"


@given(
    st.lists(st.binary(max_size=40).filter(lambda b: b"[P" not in b and b"MARK" not in b)),
    st.integers(min_value=1, max_value=6),
    st.booleans(),
)
def test_password_is_never_sent_unless_sudo_prompted(
    noise: list[bytes], cut: int, asked: bool
) -> None:
    exchange = _exchange(payload=b"payload")
    stream = b"".join(noise) + (b"[P] " if asked else b"") + b"MARK\n"
    chunks = [stream[i : i + cut] for i in range(0, len(stream), cut)]
    sent, closed = _feed(exchange, chunks)
    assert closed
    assert sent == (b"pw-41c7\n" if asked else b"") + b"payload"


def test_password_is_asked_once_per_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DEPLOYER_BECOME_PASSWORD", raising=False)
    asked: list[str] = []

    def prompt(host: str) -> Secret:
        asked.append(host)
        return Secret("pw")

    become = Become(SshOptions(become=True, prompt_become_password=prompt), "cp1")
    assert become.password().value == "pw"
    assert become.password().value == "pw"
    assert asked == ["cp1"]


def test_no_password_available_is_unreachable_with_the_fix(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("DEPLOYER_BECOME_PASSWORD", raising=False)
    become = Become(SshOptions(become=True), "cp1")
    exchange = become.wrap(["true"], sudo=True, login_user="ops", payload=None).exchange
    assert exchange is not None
    prompt = become.wrap(["true"], sudo=True, login_user="ops", payload=None).argv[4]
    with pytest.raises(UnreachableError, match="DEPLOYER_BECOME_PASSWORD"):
        exchange.on_stderr(prompt.encode())


def test_files_are_chowned_to_root_only_when_running_as_root() -> None:
    become = Become(SshOptions(become=True, become_user="root"), "cp1")
    assert become.as_root(True, "ops") is True
    assert become.as_root(False, "ops") is False
    assert become.as_root(False, "root") is True
    other = Become(SshOptions(become=True, become_user="kube"), "cp1")
    assert other.as_root(True, "ops") is False
