"""When and how a privileged step is wrapped in sudo (the SSH side is in integration)."""

from __future__ import annotations

import pytest

from deployer.errors import UnreachableError
from deployer.model.host import Secret
from deployer.transport.become import Become
from deployer.transport.options import SshOptions


class _Probe:
    """Counts sudo probes and answers with a fixed exit code."""

    def __init__(self, exit_code: int) -> None:
        self.exit_code = exit_code
        self.lines: list[str] = []

    def __call__(self, line: str) -> int:
        self.lines.append(line)
        return self.exit_code


def test_no_wrapping_without_become_or_when_already_the_target_user() -> None:
    probe = _Probe(0)
    off = Become(SshOptions(become=False), "cp1")
    assert off.wrap(["id"], sudo=True, login_user="ops", probe=probe) == (("id",), b"")
    on = Become(SshOptions(become=True), "cp1")
    assert on.wrap(["id"], sudo=True, login_user="root", probe=probe) == (("id",), b"")
    assert on.wrap(["id"], sudo=False, login_user="ops", probe=probe) == (("id",), b"")
    assert probe.lines == []


def test_passwordless_sudo_is_probed_once() -> None:
    probe = _Probe(0)
    become = Become(SshOptions(become=True), "cp1")
    for _ in range(3):
        argv, prefix = become.wrap(["id", "-u"], sudo=True, login_user="ops", probe=probe)
        assert argv == ("sudo", "-n", "-u", "root", "--", "id", "-u")
        assert prefix == b""
    assert probe.lines == ["sudo -n -u root -- true"]


def test_password_is_asked_once_and_sent_as_the_first_stdin_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("DEPLOYER_BECOME_PASSWORD", raising=False)
    asked: list[str] = []

    def prompt(host: str) -> Secret:
        asked.append(host)
        return Secret("pw")

    become = Become(SshOptions(become=True, prompt_become_password=prompt), "cp1")
    for _ in range(2):
        argv, prefix = become.wrap(["cat"], sudo=True, login_user="ops", probe=_Probe(1))
        assert argv == ("sudo", "-k", "-S", "-p", "", "-u", "root", "--", "cat")
        assert prefix == b"pw\n"
    assert asked == ["cp1"]


def test_no_password_available_is_unreachable_with_the_fix(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("DEPLOYER_BECOME_PASSWORD", raising=False)
    become = Become(SshOptions(become=True), "cp1")
    with pytest.raises(UnreachableError, match="DEPLOYER_BECOME_PASSWORD"):
        become.wrap(["true"], sudo=True, login_user="ops", probe=_Probe(1))


def test_files_are_chowned_to_root_only_when_running_as_root() -> None:
    become = Become(SshOptions(become=True, become_user="root"), "cp1")
    assert become.as_root(True, "ops") is True
    assert become.as_root(False, "ops") is False
    assert become.as_root(False, "root") is True
    other = Become(SshOptions(become=True, become_user="kube"), "cp1")
    assert other.as_root(True, "ops") is False
