"""``ansible_become`` over real SSH, with a recording stand-in for sudo.

sudo is not installed on this machine and the test user is root, so a small POSIX sh script
named ``sudo`` (first on the session's PATH, through sshd's ``SetEnv``) plays it: it parses
the same options (``-n``, ``-k``, ``-S``, ``-p``, ``-u``, ``--``), checks the password read
from stdin like sudo does, logs its argv, then runs the command. What is under test is the
executor: when it escalates, which flags it sends, and that the password never reaches the
command's own stdin.
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
nonint=0; stdin_pw=0
while [ $# -gt 0 ]; do
  case "$1" in
    -n) nonint=1 ;;
    -k) ;;
    -S) stdin_pw=1 ;;
    -p) shift ;;
    -u) shift; printf 'user %s\n' "$1" >> "$state/log" ;;
    --) shift; break ;;
    *) echo "fake sudo: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
if [ -f "$state/password" ]; then
  if [ "$stdin_pw" = 1 ]; then
    IFS= read -r given || given=
    if [ "$given" != "$(cat "$state/password")" ]; then echo "Sorry, try again." >&2; exit 1; fi
  elif [ "$nonint" = 1 ]; then
    echo "sudo: a password is required" >&2; exit 1
  fi
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


def test_without_become_nothing_is_wrapped(ssh_lab: SshLab, become_sshd: tuple[Sshd, Path]) -> None:
    server, state = become_sshd
    with SshTransport(ssh_lab.host(server), ssh_lab.options()) as transport:
        assert transport.run(["echo", "plain"], sudo=True).stdout == "plain\n"
    assert _log(state) == []


def test_passwordless_sudo_uses_sudo_n_for_privileged_steps_only(
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
    assert log[0] == "-n -u kube-admin -- true"  # the one probe: does sudo need a password?
    assert log[2] == "-n -u kube-admin -- echo a b"
    assert not any("unprivileged" in line for line in log)
    assert sum(line.startswith("-n -u kube-admin -- sh -c") for line in log) == 3
    assert target.read_bytes() == b"spec: {}\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert os.listdir(target.parent) == ["kube-apiserver.yaml"]


def test_password_from_environment_is_consumed_by_sudo_not_the_command(
    ssh_lab: SshLab, become_sshd: tuple[Sshd, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    server, state = become_sshd
    (state / "password").write_text("s3cret pass")
    monkeypatch.setenv("DEPLOYER_BECOME_PASSWORD", "s3cret pass")
    with _transport(ssh_lab, server) as transport:
        result = transport.run(["cat"], sudo=True, stdin=b"payload\n")
        assert result.stdout == "payload\n"
        assert "s3cret" not in " ".join(result.argv)
    log = _log(state)
    assert log[0] == "-n -u kube-admin -- true"
    assert log[2] == "-k -S -p  -u kube-admin -- cat"
    assert not any("s3cret" in line for line in log)


def test_prompt_is_asked_once_per_connection(
    ssh_lab: SshLab, become_sshd: tuple[Sshd, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    server, state = become_sshd
    (state / "password").write_text("typed")
    monkeypatch.delenv("DEPLOYER_BECOME_PASSWORD", raising=False)
    asked: list[str] = []

    def prompt(host: str) -> Secret:
        asked.append(host)
        return Secret("typed")

    with _transport(ssh_lab, server, prompt_become_password=prompt) as transport:
        for _ in range(3):
            assert transport.run(["id", "-u"], sudo=True).stdout.strip() == "0"
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


def test_wrong_password_fails_the_command_without_leaking_it(
    ssh_lab: SshLab, become_sshd: tuple[Sshd, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    server, state = become_sshd
    (state / "password").write_text("right")
    monkeypatch.setenv("DEPLOYER_BECOME_PASSWORD", "wrong-one")
    with _transport(ssh_lab, server) as transport, pytest.raises(CommandFailed) as info:
        transport.run(["true"], sudo=True)
    assert "wrong-one" not in str(info.value)
    assert "Sorry" in str(info.value)
