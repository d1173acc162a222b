"""The ready-to-copy production example loads cleanly and uses only valid 1.36 flags."""

from __future__ import annotations

import ipaddress
import json
from importlib import resources
from pathlib import Path

import pytest

from deployer.desired import desired_states
from deployer.inventory import explain_host, load_inventory_with_warnings
from deployer.model.inventory import Inventory

EXAMPLE = Path(__file__).parents[3] / "inventories" / "production"


@pytest.fixture(scope="module")
def loaded() -> tuple[Inventory, tuple[object, ...]]:
    return load_inventory_with_warnings([EXAMPLE])


def test_example_has_three_control_plane_hosts_in_the_documentation_range(
    loaded: tuple[Inventory, tuple[object, ...]],
) -> None:
    inventory, warnings = loaded

    assert warnings == ()
    assert inventory.names == ("cp1", "cp2", "cp3")
    assert inventory.groups["control_plane"] == ("cp1", "cp2", "cp3")
    docs_range = ipaddress.ip_network("192.0.2.0/24")
    for host in inventory:
        assert ipaddress.ip_address(host.address) in docs_range
        assert (host.port, host.user) == (22, "ops")
        assert host.vars["kubernetes_version"] == "1.36"


def test_example_flags_are_valid_current_kube_apiserver_1_36_flags(
    loaded: tuple[Inventory, tuple[object, ...]],
) -> None:
    # The project's own flag schema (package data), not the shared reference files.
    schema_text = resources.files("deployer").joinpath("schema/data/1.36.json").read_text()
    known = json.loads(schema_text)["flags"]
    for host in loaded[0]:
        flags = host.vars["apiserver_flags"]
        assert isinstance(flags, dict)
        assert set(flags) <= set(known), set(flags) - set(known)
        assert not [name for name in flags if known[name].get("deprecated")]


def test_each_host_advertises_its_own_address_from_host_vars(
    loaded: tuple[Inventory, tuple[object, ...]],
) -> None:
    for host in loaded[0]:
        flags = host.vars["apiserver_flags"]
        assert isinstance(flags, dict)
        assert flags["advertise-address"] == host.address
        origin = host.origins["apiserver_flags.advertise-address"]
        assert (origin.level, Path(origin.file).name) == ("host", f"{host.name}.yml")


def test_cp3_overrides_only_the_audit_log_retention(
    loaded: tuple[Inventory, tuple[object, ...]],
) -> None:
    inventory = loaded[0]
    rows = {name: (value, origin) for name, value, origin in explain_host(inventory["cp3"])}

    value, origin = rows["apiserver_flags.audit-log-maxage"]
    assert value == 7
    assert origin is not None
    assert origin.file.endswith("host_vars/cp3.yml")
    assert rows["apiserver_flags.audit-log-maxbackup"][0] == 10
    assert inventory["cp1"].vars["apiserver_flags"]["audit-log-maxage"] == 30  # type: ignore[index]
    assert rows["apiserver_flags.profiling"][1].level == "group:control_plane"  # type: ignore[union-attr]


def test_example_turns_into_desired_states_without_problems(
    loaded: tuple[Inventory, tuple[object, ...]],
) -> None:
    states = desired_states(loaded[0].hosts)

    assert [s.kubernetes_version for s in states] == ["1.36.3"] * 3
    assert states[0].flags["authorization-mode"] == "Node,RBAC"
    assert states[2].flags["audit-log-maxage"] == "7"
    assert states[0].serial == 1
