"""``ansible_become`` against the real sudo (Debian's package), where it can run.

Needs root (to create two throw-away users and a sudoers drop-in) and ``/usr/bin/sudo``;
skipped otherwise. The users are unprivileged: ``login`` may become ``target`` only, never
root, with sudoers rules written as security teams write them: ``NOPASSWD`` for ``/bin/sh``
(the write and read steps), a password for everything else. That mixed rule is the one that
used to put the password into every written file. Users and drop-in are removed at teardown.
"""

from __future__ import annotations

import os
import pwd
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import pytest
from ssh_fixtures import Sshd, SshLab, stop_pid

from deployer.errors import CommandFailed
from deployer.lab.sshd import start_sshd, write_sshd_config
from deployer.model.host import Host
from deployer.transport.ssh import SshTransport

pytestmark = pytest.mark.integration

_PASSWORD = "real-sudo-pw-5e1d-never-stored"


@dataclass
class _Users:
    login: str
    target: str
    folder: Path  # owned by target, reachable by both


def _run(*argv: str, stdin: str | None = None) -> None:
    subprocess.run(argv, input=stdin, text=True, check=True, capture_output=True)


@pytest.fixture
def real_sudo_users() -> Iterator[_Users]:
    sudo, useradd = shutil.which("sudo"), shutil.which("useradd")
    if os.geteuid() != 0 or sudo is None or useradd is None or not Path("/bin/sh").exists():
        pytest.skip("needs root, sudo (Debian package 'sudo') and useradd")
    suffix = f"{os.getpid() % 100000}"
    login, target = f"dpl-sudo-login-{suffix}", f"dpl-sudo-target-{suffix}"
    dropin = Path(f"/etc/sudoers.d/deployer-test-{suffix}")
    base = Path(tempfile.mkdtemp(prefix="deployer-real-sudo-"))
    created: list[str] = []
    try:
        for name in (login, target):
            _run("useradd", "--system", "--no-create-home", "--shell", "/bin/sh", name)
            created.append(name)
        _run("chpasswd", stdin=f"{login}:{_PASSWORD}\n")
        dropin.write_text(
            f"Defaults:{login} !lecture, !requiretty\n"
            # sudoers applies the last matching line: the narrow NOPASSWD rule goes last.
            f"{login} ALL=({target}) ALL\n"
            f"{login} ALL=({target}) NOPASSWD: /bin/sh, /usr/bin/sh\n"
        )
        dropin.chmod(0o440)
        _run("visudo", "-c", "-q", "-f", str(dropin))
        base.chmod(0o755)
        folder = base / "host"
        folder.mkdir()
        entry = pwd.getpwnam(target)
        os.chown(folder, entry.pw_uid, entry.pw_gid)
        yield _Users(login, target, folder)
    finally:
        dropin.unlink(missing_ok=True)
        for name in created:
            subprocess.run(["userdel", "--force", name], check=False, capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def login_sshd(ssh_lab: SshLab, real_sudo_users: _Users) -> Iterator[Sshd]:
    # sshd reads authorized_keys as the login user: a folder that user can read.
    folder = real_sudo_users.folder.parent / "sshd"
    config = write_sshd_config(
        folder,
        address="127.0.30.5",
        port=2301,
        client_public_key=ssh_lab.client_key.with_suffix(".pub").read_text(),
        session_home=folder / "home",
    )
    folder.chmod(0o755)
    config.authorized_keys.chmod(0o644)
    (folder / "home").chmod(0o777)
    server = Sshd(config, start_sshd(config))
    ssh_lab.trust(server)
    try:
        yield server
    finally:
        stop_pid(server.pid)  # before the users go: userdel refuses a user with processes


def _transport(ssh_lab: SshLab, server: Sshd, users: _Users) -> SshTransport:
    base = ssh_lab.host(server, ansible_become=True, ansible_become_user=users.target)
    host = Host(base.name, base.address, port=base.port, user=users.login, vars=base.vars)
    return SshTransport(host, ssh_lab.options())


def test_real_sudo_with_mixed_rules_never_writes_the_password(
    ssh_lab: SshLab,
    login_sshd: Sshd,
    real_sudo_users: _Users,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DEPLOYER_BECOME_PASSWORD", _PASSWORD)
    target = real_sudo_users.folder / "kube-apiserver.yaml"
    content = b"apiVersion: v1\nkind: Pod\n"
    with _transport(ssh_lab, login_sshd, real_sudo_users) as transport:
        assert transport.login_user == real_sudo_users.login
        # id needs the password (sudo prompts), sh does not (NOPASSWD): both through one path.
        assert transport.run(["id", "-un"], sudo=True).stdout.strip() == real_sudo_users.target
        transport.put_atomic(content, PurePosixPath(target), mode=0o600)
        assert transport.read(PurePosixPath(target)) == content
        echoed = transport.run(["cat"], sudo=True, stdin=b"payload\n")
        assert echoed.stdout == "payload\n"
    assert target.read_bytes() == content
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert target.stat().st_uid == pwd.getpwnam(real_sudo_users.target).pw_uid
    assert os.listdir(real_sudo_users.folder) == ["kube-apiserver.yaml"]
    leaked = [
        p
        for p in real_sudo_users.folder.parent.rglob("*")
        if p.is_file() and _PASSWORD.encode() in p.read_bytes()
    ]
    assert leaked == []


def test_real_sudo_refuses_a_wrong_password_without_leaking_it(
    ssh_lab: SshLab,
    login_sshd: Sshd,
    real_sudo_users: _Users,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DEPLOYER_BECOME_PASSWORD", "not-the-password")
    with (
        _transport(ssh_lab, login_sshd, real_sudo_users) as transport,
        pytest.raises(CommandFailed) as info,
    ):
        transport.run(["id", "-un"], sudo=True)  # a password rule: sudo prompts, refuses
    assert "not-the-password" not in str(info.value)
    assert "incorrect password" in str(info.value) or "Sorry" in str(info.value)
