"""One lab for the doctor tests of a module: each test breaks one thing and mends it."""

from __future__ import annotations

import ctypes
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from deployer.lab.testing import LabHandle, running_lab

_PR_SET_CHILD_SUBREAPER = 36


@pytest.fixture(scope="session", autouse=True)
def _subreaper() -> None:
    # Orphans of the lab's processes are reparented to this test process and reaped here.
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


@pytest.fixture(autouse=True)
def _state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run history and crash logs go to the test's folder, not the operator's."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "run"))


@pytest.fixture(scope="module")
def lab(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[LabHandle]:
    """A 2-node lab shared by the module's tests (each restores what it broke)."""
    first = getattr(request.module, "FIRST_ADDRESS", "127.0.160.1")
    with running_lab(
        tmp_path_factory.mktemp("doctor"), nodes=2, first_address=first, time_scale=0.02
    ) as handle:
        yield handle
