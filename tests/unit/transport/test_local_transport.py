"""LocalTransport: the Transport protocol on this machine, paths mapped under a root folder."""

from __future__ import annotations

import os
import stat
from pathlib import Path, PurePosixPath

import pytest

from deployer.errors import CommandFailed, TransportError
from deployer.model.host import Host
from deployer.transport.base import Transport
from deployer.transport.local import LocalTransport

MANIFEST = PurePosixPath("/etc/kubernetes/manifests/kube-apiserver.yaml")


@pytest.fixture
def local(tmp_path: Path) -> LocalTransport:
    (tmp_path / "etc/kubernetes/manifests").mkdir(parents=True)
    return LocalTransport(Host("cp1", "127.0.0.1", transport="local"), tmp_path)


def test_local_transport_satisfies_the_protocol(local: LocalTransport) -> None:
    as_protocol: Transport = local
    assert as_protocol.host.name == "cp1"


def test_run_captures_output_and_tolerates_listed_exit_codes(local: LocalTransport) -> None:
    result = local.run(["sh", "-c", "echo out; echo err >&2; exit 4"], ok_exit_codes=(4,))
    assert (result.exit_code, result.stdout, result.stderr) == (4, "out\n", "err\n")
    assert result.host == "cp1"


def test_run_raises_on_unexpected_exit_code(local: LocalTransport) -> None:
    with pytest.raises(CommandFailed) as info:
        local.run(["sh", "-c", "echo nope >&2; exit 2"])
    assert info.value.remote_exit_code == 2
    assert "nope" in str(info.value)


def test_run_feeds_stdin_and_runs_in_the_root(local: LocalTransport, tmp_path: Path) -> None:
    assert local.run(["cat"], stdin=b"abc").stdout == "abc"
    assert local.run(["pwd"]).stdout.strip() == str(tmp_path.resolve())


def test_run_times_out_as_exit_124(local: LocalTransport) -> None:
    with pytest.raises(CommandFailed) as info:
        local.run(["sleep", "5"], timeout_s=0.2)
    assert info.value.remote_exit_code == 124


def test_missing_program_is_exit_127(local: LocalTransport) -> None:
    result = local.run(["no-such-program-xyz"], ok_exit_codes=(127,))
    assert result.exit_code == 127


def test_read_maps_paths_under_the_root(local: LocalTransport, tmp_path: Path) -> None:
    (tmp_path / "etc/kubernetes/manifests/kube-apiserver.yaml").write_bytes(b"kind: Pod\n")
    assert local.read(MANIFEST) == b"kind: Pod\n"
    assert local.read(PurePosixPath("/etc/kubernetes/absent.yaml")) is None


def test_read_of_a_folder_is_an_error(local: LocalTransport) -> None:
    with pytest.raises(TransportError):
        local.read(PurePosixPath("/etc/kubernetes"))


@pytest.mark.parametrize("bad", ["etc/passwd", "/../../etc/passwd", "/etc/../../x"])
def test_paths_outside_the_root_or_relative_are_refused(local: LocalTransport, bad: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - relative and escaping paths differ in text
        local.read(PurePosixPath(bad))


def test_put_atomic_replaces_content_sets_mode_and_leaves_no_temp(
    local: LocalTransport, tmp_path: Path
) -> None:
    folder = tmp_path / "etc/kubernetes/manifests"
    (folder / "kube-apiserver.yaml").write_bytes(b"old")
    before = (folder / "kube-apiserver.yaml").stat().st_ino
    local.put_atomic(b"new", MANIFEST)
    written = folder / "kube-apiserver.yaml"
    assert written.read_bytes() == b"new"
    assert written.stat().st_ino != before  # a new inode renamed over, not rewritten in place
    assert stat.S_IMODE(written.stat().st_mode) == 0o600
    if os.geteuid() == 0:
        assert (written.stat().st_uid, written.stat().st_gid) == (0, 0)
    assert os.listdir(folder) == ["kube-apiserver.yaml"]


def test_put_atomic_onto_a_folder_fails_and_cleans_up(
    local: LocalTransport, tmp_path: Path
) -> None:
    folder = tmp_path / "etc/kubernetes/manifests"
    (folder / "kube-apiserver.yaml").mkdir()
    with pytest.raises(TransportError):
        local.put_atomic(b"x", MANIFEST)
    assert os.listdir(folder) == ["kube-apiserver.yaml"]


def test_put_atomic_into_a_missing_folder_fails(local: LocalTransport) -> None:
    with pytest.raises(TransportError):
        local.put_atomic(b"x", PurePosixPath("/nowhere/f.yaml"))


def test_put_atomic_refuses_a_bad_mode(local: LocalTransport) -> None:
    with pytest.raises(ValueError, match="mode"):
        local.put_atomic(b"x", MANIFEST, mode=0o20000)
