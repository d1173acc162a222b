"""A 1,000-host inventory (the size bench/render.py measures) loads correctly."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from deployer.inventory import load_inventory

EXAMPLE = Path(__file__).parents[3] / "inventories" / "production"


def _make_inventory(root: Path, *, host_vars_files: bool) -> Path:
    """Write 1,000 hosts in 4 zones with the production example's group_vars."""
    shutil.copytree(EXAMPLE / "group_vars", root / "group_vars")
    lines = ["all:", "  children:", "    control_plane:", "      children:"]
    for zone in range(4):
        lines += [f"        zone_{zone}:", "          hosts:"]
        for i in range(250):
            name, address = f"cp{zone * 250 + i:04d}", f"10.{zone}.{i // 200}.{i % 200 + 1}"
            lines += [f"            {name}:", f"              ansible_host: {address}"]
            flag = f"apiserver_flags:\n  advertise-address: {address}\n"
            if host_vars_files:
                (root / "host_vars").mkdir(exist_ok=True)
                (root / "host_vars" / f"{name}.yml").write_text(flag, encoding="utf-8")
            else:
                lines += [f"              {line}" for line in flag.splitlines()]
    (root / "hosts.yml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


@pytest.mark.parametrize("host_vars_files", [False, True], ids=["inline", "host_vars_files"])
def test_a_thousand_hosts_load_in_order_with_their_own_flags(
    tmp_path: Path, host_vars_files: bool
) -> None:
    # Speed is measured by bench/render.py, never here: this checks the result at that size.
    inventory = load_inventory([_make_inventory(tmp_path, host_vars_files=host_vars_files)])
    assert len(inventory) == 1000
    assert inventory.names[:2] == ("cp0000", "cp0001")
    last = inventory["cp0999"]
    flags = last.vars["apiserver_flags"]
    assert isinstance(flags, dict)
    assert flags["advertise-address"] == last.address == "10.3.1.50"
    assert flags["audit-log-maxage"] == 30
