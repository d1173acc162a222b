"""The README's Vagrant walk-through against a running Vagrant lab (marker ``lab``: never in CI).

Run it on a machine with the lab up (``vagrant up`` in the source folder):

    DEPLOYER_VAGRANT_LAB=1 .venv/bin/pytest -m lab tests/unit/vagrant

It makes the inventory with the real ``vagrant``, plans (changes pending: audit logging),
applies, plans again (in sync), then applies a bind address no VM has and expects the first host
rolled back, the others skipped, exit code 3, and the lab still in sync afterwards.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from vagrant_support import REPO

from deployer.cli.main import cli, main

pytestmark = [
    pytest.mark.lab,
    pytest.mark.skipif(
        os.environ.get("DEPLOYER_VAGRANT_LAB") != "1" or shutil.which("vagrant") is None,
        reason="needs the Vagrant lab up and DEPLOYER_VAGRANT_LAB=1",
    ),
]


def _host_key_args(command: str) -> list[str]:
    """Trust the new VMs' host keys on first use, where the command offers it."""
    params = {p.name for p in cli.commands[command].params}
    return ["--accept-new-host-keys"] if "accept_new_host_keys" in params else []


def test_lab_walkthrough_converges_then_rolls_back_a_broken_flag(tmp_path: Path) -> None:
    inventory_dir = tmp_path / "vagrant"
    shutil.copytree(REPO / "inventories" / "vagrant", inventory_dir)
    hosts = inventory_dir / "hosts.yml"
    assert main(["inventory", "vagrant", "--vagrant-dir", str(REPO), "--out", str(hosts)]) == 0
    inv = ["-i", str(hosts)]

    assert main(["validate", *inv]) == 0
    first_plan = main(["plan", *inv, *_host_key_args("plan")])
    assert first_plan in (0, 2)  # 0 when an earlier run already converged the lab
    assert main(["apply", *inv, "--yes"]) == 0
    assert main(["plan", *inv]) == 0

    report = tmp_path / "broken.json"
    bad = ["-e", "apiserver_flags.bind-address=192.168.56.250"]
    assert main(["apply", *inv, *bad, "--yes", "--json", str(report)]) == 3
    outcomes = {name: h["outcome"] for name, h in json.loads(report.read_text())["hosts"].items()}
    first, *others = list(outcomes)
    assert outcomes[first] == "rolled_back"
    assert all(outcomes[name] == "skipped" for name in others)
    assert main(["plan", *inv]) == 0
