"""The crash log is private, its fallback unpredictable, and the handler never raises."""

from __future__ import annotations

import stat
import tempfile
from pathlib import Path

import pytest

from deployer.cli.main import _write_crash_log


def _boom() -> BaseException:
    try:
        raise RuntimeError("bug with --token=abc123secret")
    except RuntimeError as exc:
        return exc


def test_crash_log_is_private_and_masked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    path = _write_crash_log(_boom())
    assert path == tmp_path / "state" / "deployer" / "last-crash.log"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text()
    assert "RuntimeError" in text
    assert "abc123secret" not in text


def test_fallback_is_a_private_unpredictable_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setenv("XDG_STATE_HOME", str(blocker))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    first, second = _write_crash_log(_boom()), _write_crash_log(_boom())
    assert first is not None and second is not None
    assert first != second
    assert first.parent == tmp_path / "tmp"
    assert stat.S_IMODE(first.stat().st_mode) == 0o600


def test_nowhere_to_write_returns_none(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("XDG_STATE_HOME", str(blocker))
    monkeypatch.setattr(tempfile, "tempdir", str(blocker / "sub"))
    assert _write_crash_log(_boom()) is None
