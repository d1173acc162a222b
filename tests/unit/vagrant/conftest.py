"""Fixtures for the Vagrant lab tests (no VM: recorded outputs, real tools)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from vagrant_support import PROBE, make_lab_dir


@pytest.fixture(scope="session")
def lab_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The CA and join secrets the Vagrantfile makes on first load, made once per session.

    Why share them: an RSA key per test costs seconds on a busy 2-core machine, and only one
    test is about making them (it uses a fresh folder).
    """
    if shutil.which("ruby") is None:
        pytest.skip("ruby is not installed: the Vagrantfile cannot be loaded")
    lab = make_lab_dir(tmp_path_factory.mktemp("seed"))
    subprocess.run(
        ["ruby", str(PROBE), str(lab / "Vagrantfile")], capture_output=True, check=True, timeout=120
    )
    return lab / ".vagrant" / "deployer-lab"


@pytest.fixture
def lab_dir(tmp_path: Path) -> Path:
    """A throw-away copy of the lab folder (Vagrantfile and vagrant/), nothing generated yet."""
    return make_lab_dir(tmp_path)


@pytest.fixture
def seeded_lab_dir(tmp_path: Path, lab_bootstrap: Path) -> Path:
    """A throw-away lab folder whose CA and join secrets already exist (as after `vagrant up`)."""
    lab = make_lab_dir(tmp_path)
    shutil.copytree(lab_bootstrap, lab / ".vagrant" / "deployer-lab")
    return lab
