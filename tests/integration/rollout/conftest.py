"""Fixtures for plan/apply/verify against the embedded lab (real sshd, stand-in kubelet)."""

from __future__ import annotations

import ctypes
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from rollout_support import Deployer, next_lab_address

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


def _lab(tmp_path: Path) -> Iterator[LabHandle]:
    with running_lab(tmp_path / "lab", nodes=3, first_address=next_lab_address()) as lab:
        yield lab


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[LabHandle]:
    """A fresh 3-node lab for one test (for tests that break nodes)."""
    yield from _lab(tmp_path)


@pytest.fixture
def deployer(lab: LabHandle, tmp_path: Path) -> Deployer:
    return Deployer(lab, tmp_path)
