"""The remote atomic-write and read scripts, run by the local ``sh`` on real files.

The same argv goes over SSH; running it here proves the shell text itself (quoting of
positional parameters, the cleanup trap, ``mv -T``) without a server.
"""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path, PurePosixPath

import pytest

from deployer.transport.scripts import (
    ABSENT_EXIT_CODE,
    check_remote_path,
    finish_put_argv,
    read_argv,
    remove_argv,
    temp_path_for,
)


def _run(argv: list[str], stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(argv, input=stdin, capture_output=True, check=False)


def test_temp_name_is_a_dot_file_in_the_same_folder() -> None:
    target = PurePosixPath("/etc/kubernetes/manifests/kube-apiserver.yaml")
    temp = temp_path_for(target)
    assert temp.parent == target.parent
    assert temp.name.startswith(".kube-apiserver.yaml.")
    assert temp != temp_path_for(target)


@pytest.mark.parametrize("bad", ["relative/path", "/", "/etc/.."])
def test_paths_must_be_absolute_and_name_a_file(bad: str) -> None:
    with pytest.raises(ValueError, match="path"):
        check_remote_path(PurePosixPath(bad))


def test_finish_put_from_stdin_writes_mode_and_renames(tmp_path: Path) -> None:
    target = tmp_path / "dir with space" / "it's.yaml"
    target.parent.mkdir()
    target.write_bytes(b"old")
    temp = temp_path_for(PurePosixPath(target))
    argv = finish_put_argv(
        temp, PurePosixPath(target), mode=0o640, chown_root=False, from_stdin=True
    )
    done = _run(argv, b"new\x00bytes")
    assert done.returncode == 0, done.stderr
    assert target.read_bytes() == b"new\x00bytes"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert os.listdir(target.parent) == ["it's.yaml"]


def test_finish_put_after_an_sftp_write_only_moves(tmp_path: Path) -> None:
    target = tmp_path / "f"
    temp = Path(str(temp_path_for(PurePosixPath(target))))
    temp.write_bytes(b"staged")
    argv = finish_put_argv(
        PurePosixPath(temp), PurePosixPath(target), mode=0o600, chown_root=False, from_stdin=False
    )
    assert _run(argv).returncode == 0
    assert target.read_bytes() == b"staged"
    assert not temp.exists()


def test_finish_put_removes_the_temp_file_when_the_rename_fails(tmp_path: Path) -> None:
    target = tmp_path / "kube-apiserver.yaml"
    target.mkdir()  # a folder where the file should be: mv -T refuses
    temp = temp_path_for(PurePosixPath(target))
    argv = finish_put_argv(
        temp, PurePosixPath(target), mode=0o600, chown_root=False, from_stdin=True
    )
    done = _run(argv, b"content")
    assert done.returncode != 0
    assert sorted(os.listdir(tmp_path)) == ["kube-apiserver.yaml"]
    assert os.listdir(target) == []


def test_finish_put_never_overwrites_an_existing_temp_name(tmp_path: Path) -> None:
    target = tmp_path / "f"
    temp = Path(str(temp_path_for(PurePosixPath(target))))
    temp.write_bytes(b"someone else's")
    argv = finish_put_argv(
        PurePosixPath(temp), PurePosixPath(target), mode=0o600, chown_root=False, from_stdin=True
    )
    assert _run(argv, b"mine").returncode != 0
    assert not target.exists()


def test_finish_put_refuses_a_mode_out_of_range() -> None:
    with pytest.raises(ValueError, match="mode"):
        finish_put_argv(
            PurePosixPath("/a/.f.1"),
            PurePosixPath("/a/f"),
            mode=0o10000,
            chown_root=False,
            from_stdin=True,
        )


def test_read_prints_the_file_or_reports_absent(tmp_path: Path) -> None:
    present = tmp_path / "present"
    present.write_bytes(b"\x00\xffdata")
    done = _run(read_argv(PurePosixPath(present)))
    assert (done.returncode, done.stdout) == (0, b"\x00\xffdata")
    assert _run(read_argv(PurePosixPath(tmp_path / "absent"))).returncode == ABSENT_EXIT_CODE


def test_remove_is_quiet_when_the_file_is_gone(tmp_path: Path) -> None:
    gone = tmp_path / "gone"
    assert _run(remove_argv(PurePosixPath(gone))).returncode == 0
