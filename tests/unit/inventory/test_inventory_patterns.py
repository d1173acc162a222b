"""Ansible --limit patterns: restricted groups, and errors that list what exists."""

from __future__ import annotations

from pathlib import Path

import pytest

from deployer.errors import InventoryError
from deployer.inventory import load_inventory, select_hosts
from deployer.model.inventory import Inventory


@pytest.fixture(scope="module")
def inventory() -> Inventory:
    # Hosts cp1 cp2 cp3 in control_plane (zone_a: cp1 cp2, zone_b: cp3), etcd: cp1 cp3 lb1.
    return load_inventory([Path(__file__).parents[2] / "data/inventories/patterns/hosts.ini"])


# Which hosts each pattern form selects is checked against ansible-core itself by the
# differential suite (tests/differential, case patterns_ini); these tests cover what deployer
# adds: restricted groups, errors that name what exists, and its deliberate strictness.


def test_selection_keeps_groups_restricted_to_selected_hosts(inventory: Inventory) -> None:
    selected = select_hosts(inventory, "all:!cp1")
    assert selected.groups["etcd"] == ("cp3", "lb1")
    assert selected.groups["zone_a"] == ("cp2",)
    assert selected.sources == inventory.sources
    assert selected["cp2"] is inventory["cp2"]


def test_limit_file_holds_one_pattern_per_line(inventory: Inventory, tmp_path: Path) -> None:
    limit = tmp_path / "retry.txt"
    limit.write_text("# hosts that failed last time\ncp3\n\nlb1\n", encoding="utf-8")
    assert set(select_hosts(inventory, f"@{limit}").names) == {"cp3", "lb1"}
    assert select_hosts(inventory, f"@{limit}:!lb1").names == ("cp3",)


@pytest.mark.parametrize(
    ("pattern", "bad_terms"),
    [
        ("cp9", ["'cp9'"]),
        ("cp1:cpp2", ["'cpp2'"]),
        ("all:!cp33", ["'!cp33'"]),  # a mistyped exclusion must not roll out to cp3
        ("control_plane:&nope:ghost*", ["'&nope'", "'ghost*'"]),
        ("~^x", ["'~^x'"]),
    ],
)
def test_terms_that_match_nothing_are_errors_listing_known_hosts_and_groups(
    inventory: Inventory, pattern: str, bad_terms: list[str]
) -> None:
    with pytest.raises(InventoryError) as caught:
        select_hosts(inventory, pattern)
    messages = [p.message for p in caught.value.problems]
    assert len(messages) == len(bad_terms)
    for term, message in zip(bad_terms, messages, strict=True):
        assert term in message
    assert "hosts: cp1, cp3, lb1, cp2" in str(caught.value)  # rollout (Ansible's) order
    assert "control_plane" in str(caught.value)


def test_a_subscript_past_the_group_is_an_error_naming_the_positions(inventory: Inventory) -> None:
    with pytest.raises(InventoryError, match=r"position 7 is outside control_plane \(3 hosts"):
        select_hosts(inventory, "control_plane[7]")


def test_an_empty_term_is_refused(inventory: Inventory) -> None:
    with pytest.raises(InventoryError, match="empty term"):
        select_hosts(inventory, "cp1,,cp2")


def test_a_pattern_that_leaves_nothing_is_an_error(inventory: Inventory) -> None:
    with pytest.raises(InventoryError, match="leaves no host"):
        select_hosts(inventory, "zone_a:&zone_b")


def test_invalid_regex_and_missing_limit_file_are_input_errors(inventory: Inventory) -> None:
    with pytest.raises(InventoryError, match="invalid regular expression"):
        select_hosts(inventory, "~cp(")
    with pytest.raises(InventoryError, match="cannot read the --limit file"):
        select_hosts(inventory, "@/nonexistent/limit.txt")
