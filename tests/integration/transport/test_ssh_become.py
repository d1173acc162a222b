"""``ansible_become`` over real SSH, with a sudo stand-in that follows sudo's rules.

sudo is not installed on this machine and the test user is root, so a small POSIX sh script
named ``sudo`` (first on the session's PATH, through sshd's ``SetEnv``) plays it as sudo does:
options ``-n -k -S -p -u --``; per-command rules like sudoers (a command listed in
``nopasswd`` needs no password, every other one does when a password is set); with ``-S`` the
``-p`` prompt goes to stderr and exactly one line is read from stdin per attempt, three
attempts, "Sorry, try again." in between. What is under test is the executor: the password
is only ever sent after sudo asked for it, so no file receives it whatever the rules are.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path, PurePosixPath

import pytest
from ssh_fixtures import Sshd, SshLab

from deployer.errors import CommandFailed, UnreachableError
from deployer.lab.sshd import start_sshd, write_sshd_config
from deployer.model.host import Secret
from deployer.transport.ssh import SshTransport

pytestmark = pytest.mark.integration

_FAKE_SUDO = r"""#!/bin/sh
state="$FAKE_SUDO_DIR"
printf '%s\n' "$*" >> "$state/log"
nonint=0; stdin_pw=0; prompt="Password: "
while [ $# -gt 0 ]; do
  case "$1" in
    -n) nonint=1 ;;
    -k) ;;
    -S) stdin_pw=1 ;;
    -p) shift; prompt=$1 ;;
    -u) shift; printf 'user %s\n' "$1" >> "$state/log" ;;
    --) shift; break ;;
    *) echo "fake sudo: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
needs=0
if [ -f "$state/password" ]; then
  needs=1
  if [ -f "$state/nopasswd" ] && grep -qxF -- "$1" "$state/nopasswd"; then needs=0; fi
fi
if [ "$needs" = 1 ]; then
  if [ "$nonint" = 1 ]; then echo "sudo: a password is required" >&2; exit 1; fi
  if [ "$stdin_pw" != 1 ]; then echo "sudo: a terminal is required" >&2; exit 1; fi
  tries=0
  while :; do
    printf '%s' "$prompt" >&2
    IFS= read -r given || { echo "sudo: no password was provided" >&2; exit 1; }
    [ "$given" = "$(cat "$state/password")" ] && break
    tries=$((tries + 1))
    if [ "$tries" -ge 3 ]; then echo "sudo: 3 incorrect password attempts" >&2; exit 1; fi
    echo "Sorry, try again." >&2
  done
fi
exec "$@"
"""


@pytest.fixture
def become_sshd(ssh_lab: SshLab, tmp_path: Path) -> tuple[Sshd, Path]:
    state = tmp_path / "fake-sudo"
    fake_bin = state / "bin"
    fake_bin.mkdir(parents=True)
    sudo = fake_bin / "sudo"
    sudo.write_text(_FAKE_SUDO)
    sudo.chmod(0o755)
    # The lab's sshd config, with the fake sudo first on the session's PATH.
    config = write_sshd_config(
        ssh_lab.folder / "sshd-become",
        address="127.0.30.4",
        port=2300,
        client_public_key=ssh_lab.client_key.with_suffix(".pub").read_text(),
        session_home=ssh_lab.folder / "home",
    )
    home_line = f"SetEnv HOME={ssh_lab.folder / 'home'}"
    text = config.config_path.read_text()
    assert home_line in text
    config.config_path.write_text(
        text.replace(
            home_line,
            f"{home_line} FAKE_SUDO_DIR={state} PATH={fake_bin}:/usr/local/bin:/usr/bin:/bin",
        )
    )
    server = Sshd(config, start_sshd(config))
    ssh_lab.started.append(server)  # stopped by pid in ssh_lab's teardown
    ssh_lab.trust(server)
    return server, state


def _transport(ssh_lab: SshLab, server: Sshd, **options: object) -> SshTransport:
    host = ssh_lab.host(server, ansible_become=True, ansible_become_user="kube-admin")
    return SshTransport(host, ssh_lab.options(**options))


def _log(state: Path) -> list[str]:
    return (state / "log").read_text().splitlines() if (state / "log").exists() else []


def _transport(ssh_lab: SshLab, server: Sshd, **options: object) -> SshTransport:
    host = ssh_lab.host(server, ansible_become=True, ansible_become_user="kube-admin")
    return SshTransport(host, ssh_lab.options(**options))


def _log(state: Path) -> list[str]:
    return (state / "log").read_text().splitlines() if (state / "log").exists() else []


def _files_holding(folder: Path, needle: bytes) -> list[Path]:
    return [
        p
        for p in folder.rglob("*")
        if p.is_file() and not p.is_symlink() and needle in p.read_bytes()
    ]


def test_without_become_nothing_is_wrapped(ssh_lab: SshLab, become_sshd: tuple[Sshd, Path]) -> None:
    server, state = become_sshd
    with SshTransport(ssh_lab.host(server), ssh_lab.options()) as transport:
        assert transport.run(["echo", "plain"], sudo=True).stdout == "plain\n"
    assert _log(state) == []


def test_passwordless_sudo_runs_privileged_steps_only_and_writes_exact_files(
    ssh_lab: SshLab, become_sshd: tuple[Sshd, Path], tmp_path: Path
) -> None:
    server, state = become_sshd
    target = tmp_path / "manifests" / "kube-apiserver.yaml"
    target.parent.mkdir()
    with _transport(ssh_lab, server) as transport:
        assert transport.run(["echo", "a b"], sudo=True).stdout == "a b\n"
        assert transport.run(["echo", "unprivileged"]).stdout == "unprivileged\n"
        transport.put_atomic(b"spec: {}\n", PurePosixPath(target), mode=0o600)
        assert transport.read(PurePosixPath(target)) == b"spec: {}\n"
        assert transport.read(PurePosixPath(tmp_path / "absent")) is None
    log = _log(state)
    commands = [line for line in log if line.startswith("-k -S -p ")]
    assert commands[0].startswith("-k -S -p [deployer-sudo-")
    assert commands[0].endswith("-u kube-admin -- echo a b")
    assert not any("unprivileged" in line for line in log)
    assert len(commands) == 4  # echo, put, two reads
    assert target.read_bytes() == b"spec: {}\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert os.listdir(target.parent) == ["kube-apiserver.yaml"]


@pytest.mark.parametrize(
    "nopasswd",
    [[], ["sh"], ["id", "echo"], ["sh", "id", "echo", "cat"]],
    ids=["password-for-all", "nopasswd-for-writes", "nopasswd-for-reads", "nopasswd-for-all"],
)
def test_no_file_ever_receives_the_password_whatever_the_rules(
    ssh_lab: SshLab,
    become_sshd: tuple[Sshd, Path],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    nopasswd: list[str],
) -> None:
    server, state = become_sshd
    password = "pw-7f3a-do-not-store"
    (state / "password").write_text(password)
    if nopasswd:
        (state / "nopasswd").write_text("".join(f"{name}\n" for name in nopasswd))
    monkeypatch.setenv("DEPLOYER_BECOME_PASSWORD", password)
    folder = tmp_path / "host"
    target = folder / "manifests" / "kube-apiserver.yaml"
    target.parent.mkdir(parents=True)
    with _transport(ssh_lab, server) as transport:
        assert transport.run(["id", "-u"], sudo=True).stdout.strip() == str(os.getuid())
        echoed = transport.run(["cat"], sudo=True, stdin=b"payload\n")
        assert echoed.stdout == "payload\n"
        assert echoed.stderr == ""
        for content in (b"first\n", b"apiVersion: v1\nkind: Pod\n"):
            transport.put_atomic(content, PurePosixPath(target), mode=0o600)
            assert target.read_bytes() == content
            assert transport.read(PurePosixPath(target)) == content
    assert os.listdir(target.parent) == ["kube-apiserver.yaml"]
    assert _files_holding(folder, password.encode()) == []
    assert not any(password in line for line in _log(state))


def test_prompt_is_asked_once_per_connection_and_only_when_sudo_asks(
    ssh_lab: SshLab, become_sshd: tuple[Sshd, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    server, state = become_sshd
    (state / "password").write_text("typed")
    (state / "nopasswd").write_text("echo\n")
    monkeypatch.delenv("DEPLOYER_BECOME_PASSWORD", raising=False)
    asked: list[str] = []

    def prompt(host: str) -> Secret:
        asked.append(host)
        return Secret("typed")

    with _transport(ssh_lab, server, prompt_become_password=prompt) as transport:
        assert transport.run(["echo", "free"], sudo=True).stdout == "free\n"
        assert asked == []
        for _ in range(3):
            assert transport.run(["id", "-u"], sudo=True).stdout.strip() == str(os.getuid())
    assert asked == ["cp1"]


def test_missing_password_is_an_unreachable_error_with_the_fix(
    ssh_lab: SshLab, become_sshd: tuple[Sshd, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    server, state = become_sshd
    (state / "password").write_text("needed")
    monkeypatch.delenv("DEPLOYER_BECOME_PASSWORD", raising=False)
    with _transport(ssh_lab, server) as transport, pytest.raises(UnreachableError) as info:
        transport.run(["true"], sudo=True)
    assert "DEPLOYER_BECOME_PASSWORD" in str(info.value)


def test_wrong_password_fails_the_command_and_never_reaches_the_file(
    ssh_lab: SshLab, become_sshd: tuple[Sshd, Path], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    server, state = become_sshd
    (state / "password").write_text("right")
    monkeypatch.setenv("DEPLOYER_BECOME_PASSWORD", "wrong-one")
    target = tmp_path / "manifests" / "kube-apiserver.yaml"
    target.parent.mkdir()
    target.write_bytes(b"old\n")
    with _transport(ssh_lab, server) as transport:
        with pytest.raises(CommandFailed) as info:
            transport.run(["true"], sudo=True)
        assert "wrong-one" not in str(info.value)
        assert "Sorry" in str(info.value)
        with pytest.raises(CommandFailed):
            transport.put_atomic(b"new\n", PurePosixPath(target))
    assert target.read_bytes() == b"old\n"
    assert os.listdir(target.parent) == ["kube-apiserver.yaml"]
