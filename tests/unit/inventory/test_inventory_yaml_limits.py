"""YAML bounds (alias expansion, size), merge keys without false warnings, and !unsafe."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from deployer.errors import InventoryError, exit_code_for
from deployer.inventory import load_inventory, load_inventory_with_warnings
from deployer.inventory.yamllimits import MAX_BYTES, MAX_VALUES

Write = Callable[[str, str], Path]

_LAUGHS = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
for _prev, _name in zip("abcdefgh", "bcdefghi", strict=True):
    _LAUGHS.append(f"{_name}: &{_name} [{','.join(['*' + _prev] * 9)}]")
#: The classic "billion laughs": nine levels of nine aliases, 10^9 strings once expanded.
BILLION_LAUGHS = "all:\n  vars:\n" + "".join(f"    {line}\n" for line in _LAUGHS)


def test_the_billion_laughs_file_is_small_and_refused_naming_the_file(write: Write) -> None:
    assert len(BILLION_LAUGHS.encode()) < 600
    path = write("hosts.yml", BILLION_LAUGHS + "  hosts:\n    cp1:\n")
    with pytest.raises(InventoryError) as caught:
        load_inventory([path])
    [problem] = caught.value.problems
    assert problem.file == str(path)
    assert f"more than {MAX_VALUES:,} values" in problem.message
    assert problem.hint and "aliases" in problem.hint
    assert exit_code_for(caught.value) == 6


def test_a_recursive_alias_is_refused(write: Write) -> None:
    path = write("hosts.yml", "all:\n  vars:\n    loop: &loop [*loop]\n  hosts:\n    cp1:\n")
    with pytest.raises(InventoryError, match="recursive"):
        load_inventory([path])


def test_too_many_keys_in_a_vars_file_is_refused_naming_it(write: Write, tmp_path: Path) -> None:
    write("inv/hosts.yml", "all:\n  hosts:\n    cp1:\n")
    keys = "".join(f"k{i}: {i}\n" for i in range(MAX_VALUES // 2 + 1))
    vars_file = write("inv/group_vars/all.yml", keys)
    with pytest.raises(InventoryError) as caught:
        load_inventory([tmp_path / "inv" / "hosts.yml"])
    assert caught.value.problems[0].file.endswith("group_vars/all.yml")
    assert vars_file.stat().st_size < MAX_BYTES  # the value count, not the size, refused it


def test_a_file_over_the_size_bound_is_refused_before_it_is_parsed(write: Write) -> None:
    path = write("hosts.ini", "[control_plane]\ncp1\n" + "#" * MAX_BYTES + "\n")
    with pytest.raises(InventoryError, match="file too large") as caught:
        load_inventory([path])
    assert caught.value.problems[0].file == str(path)


def test_a_merge_key_with_an_override_is_no_duplicate(write: Write) -> None:
    path = write(
        "hosts.yml",
        "all:\n  vars:\n    base: &base {a: 1, b: 2}\n    merged:\n      <<: *base\n      b: 3\n"
        "  hosts:\n    cp1:\n",
    )
    inventory, warnings = load_inventory_with_warnings([path])
    assert inventory["cp1"].vars["merged"] == {"a": 1, "b": 3}
    assert not [w for w in warnings if "duplicate" in w.message]


def test_two_explicit_keys_are_still_a_duplicate(write: Write) -> None:
    path = write("hosts.yml", "all:\n  vars:\n    x: 1\n    x: 2\n  hosts:\n    cp1:\n")
    inventory, warnings = load_inventory_with_warnings([path])
    assert inventory["cp1"].vars["x"] == 2
    assert [w.line for w in warnings if "duplicate key 'x'" in w.message] == [4]


def test_unsafe_values_are_plain_strings_without_the_template_warning(write: Write) -> None:
    path = write(
        "hosts.yml",
        "all:\n  hosts:\n    cp1:\n      raw: !unsafe '{{ kept }}'\n      templ: '{{ warned }}'\n",
    )
    inventory, warnings = load_inventory_with_warnings([path])
    assert type(inventory["cp1"].vars["raw"]) is str
    assert inventory["cp1"].vars["raw"] == "{{ kept }}"
    assert [w.message.split()[1] for w in warnings if "Jinja" in w.message] == ["templ"]
