"""Inventory scripts and plugins through the real ansible-inventory, and its failures (exit 6)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from deployer.cli.main import main
from deployer.errors import InventoryError, exit_code_for
from deployer.inventory import explain_host, load_inventory
from deployer.inventory.settings import InventorySettings, use_settings

CORPUS = Path(__file__).resolve().parents[2] / "data" / "differential"
SCRIPT = CORPUS / "dynamic_script" / "inventory.py"
BIN = Path(sys.executable).parent
CONFIG = Path(__file__).resolve().parents[2] / "differential" / "ansible.cfg"


@pytest.fixture
def with_ansible(monkeypatch: pytest.MonkeyPatch) -> None:
    if not (BIN / "ansible-inventory").exists():
        pytest.skip("ansible-core is not installed (scripts/setup installs it)")
    monkeypatch.setenv("PATH", f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    monkeypatch.setenv("ANSIBLE_CONFIG", str(CONFIG))


def test_an_inventory_script_is_read_through_ansible_inventory_and_explained(
    with_ansible: None,
) -> None:
    inventory = load_inventory([SCRIPT])
    cp1 = inventory["cp1"]
    assert cp1.address == "192.0.2.31"
    origins = {name: str(origin) for name, _, origin in explain_host(cp1)}
    assert origins["ansible_host"] == f"ansible-inventory -i {SCRIPT} (host)"
    assert origins["serial"] == f"ansible-inventory -i {SCRIPT} (group:control_plane)"
    assert origins["apiserver_flags.v"].startswith("ansible-inventory -i ")


def test_the_ansible_backend_reads_a_plain_file_too(with_ansible: None, tmp_path: Path) -> None:
    path = tmp_path / "hosts.ini"
    path.write_text("[control_plane]\ncp1 ansible_port=2201\n", encoding="utf-8")
    inventory = load_inventory([path], settings=InventorySettings(backend="ansible"))
    assert inventory["cp1"].port == 2201
    assert str(inventory["cp1"].origins["ansible_port"]).startswith("ansible-inventory -i ")


def test_inventory_show_explain_names_ansible_inventory(
    with_ansible: None, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "hosts.yml"
    path.write_text("all:\n  hosts:\n    cp1:\n      ansible_user: ops\n", encoding="utf-8")
    argv = ["inventory", "show", "-i", str(path), "--inventory-backend", "ansible", "--explain"]
    try:
        assert main([*argv, "cp1"]) == 0
    finally:  # the options set this invocation's settings; later library calls use defaults
        use_settings(InventorySettings())
    out = capsys.readouterr().out
    assert f"ansible_user  ops    # ansible-inventory -i {path} (host)" in out


def test_a_failing_script_is_exit_6_with_its_stderr(with_ansible: None, tmp_path: Path) -> None:
    script = tmp_path / "broken.py"
    script.write_text(
        "#!/usr/bin/env python3\nimport sys\nsys.stderr.write('cloud API said no\\n')\n"
        "sys.exit(3)\n",
        encoding="utf-8",
    )
    script.chmod(0o755)
    with pytest.raises(InventoryError) as caught:
        load_inventory([script])
    text = str(caught.value)
    assert "is an inventory script or plugin configuration" in text
    assert "ansible-inventory exited" in text
    assert "cloud API said no" in text
    assert exit_code_for(caught.value) == 6


def test_without_ansible_inventory_a_plugin_file_is_exit_6_saying_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    plugin = tmp_path / "aws_ec2.yml"
    plugin.write_text("plugin: amazon.aws.aws_ec2\nregions: [eu-west-1]\n", encoding="utf-8")
    with pytest.raises(InventoryError) as caught:
        load_inventory([plugin])
    [problem] = caught.value.problems
    assert "ansible-inventory is not installed" in problem.message
    assert problem.hint and "pip install ansible-core" in problem.hint
    assert exit_code_for(caught.value) == 6
