"""Paths and helpers shared by the Vagrant lab tests (imported by name: pytest puts this folder
on sys.path, as tests/unit/render does for its fixtures)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
DATA = REPO / "tests" / "data" / "vagrant"
CASES = DATA / "cases"
FAKE_BIN = DATA / "bin"
SCRIPTS = REPO / "vagrant" / "scripts"
PROBE = DATA / "vagrantfile_probe.rb"


def recorded(case: str, name: str) -> str:
    """Return a recorded file of ``case`` (``ssh-config.out``, ``status.out`` ...)."""
    return (CASES / case / name).read_text(encoding="utf-8")


def case_meta(case: str) -> dict[str, object]:
    """Return the case's ``case.json``: description, expected exit code, stderr, files."""
    data: dict[str, object] = json.loads((CASES / case / "case.json").read_text(encoding="utf-8"))
    return data


def make_lab_dir(parent: Path, name: str = "lab") -> Path:
    """Copy the real Vagrantfile and vagrant/ folder into ``parent/name``.

    Why a copy: loading the Vagrantfile creates .vagrant/deployer-lab/ beside it, and tests
    must not write into the source tree.
    """
    lab = parent / name
    lab.mkdir(parents=True)
    shutil.copy2(REPO / "Vagrantfile", lab / "Vagrantfile")
    shutil.copytree(REPO / "vagrant", lab / "vagrant")
    return lab
