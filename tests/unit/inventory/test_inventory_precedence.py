"""Variable precedence, key-by-key flag merging, extra vars and provenance (file:line)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from deployer.errors import InventoryError
from deployer.inventory import explain_host, load_inventory
from deployer.model.host import VarOrigin

Write = Callable[[str, str], Path]


@pytest.fixture
def precedence(data_dir: Path) -> Path:
    return data_dir / "precedence"


def test_child_group_beats_parent_and_group_vars_files_beat_inline(precedence: Path) -> None:
    inventory = load_inventory([precedence])
    cp1, cp2 = inventory["cp1"].vars, inventory["cp2"].vars

    # all-inline < all-file < control_plane-inline < zone_a/10 < zone_a/20 (child, folder order)
    assert cp1["level_name"] == "zone_a-file-20"
    assert cp2["level_name"] == "cp2-file"  # host_vars/cp2 (no extension) beats every group
    assert cp1["inline_vs_file"] == "file"  # group_vars/control_plane.yml beats its inline vars
    assert cp1["host_inline_vs_file"] == "file"  # host_vars beats inline host vars
    assert cp1["only_all"] == cp2["only_all"] == "from-all"


def test_sibling_groups_at_the_same_depth_are_ordered_by_name(precedence: Path) -> None:
    assert load_inventory([precedence])["cp1"].vars["sibling"] == "beta"  # beta after alpha


def test_ansible_group_priority_reorders_siblings(write: Write) -> None:
    path = write(
        "hosts.yml",
        "all:\n  children:\n"
        "    alpha:\n      hosts: {cp1: }\n"
        "      vars: {sibling: alpha, ansible_group_priority: 10}\n"
        "    beta:\n      hosts: {cp1: }\n      vars: {sibling: beta}\n",
    )
    assert load_inventory([path])["cp1"].vars["sibling"] == "alpha"


def test_apiserver_flags_merge_key_by_key_and_null_removes(precedence: Path) -> None:
    inventory = load_inventory([precedence])

    assert inventory["cp2"].vars["apiserver_flags"] == {
        "audit-log-maxage": 14,  # group_vars/control_plane.yml over all's 30
        "audit-log-maxbackup": 10,
        "profiling": False,
        "audit-log-maxsize": 100,  # group_vars/all.yml adds a key
    }
    assert inventory["cp1"].vars["apiserver_flags"] == {
        "profiling": False,
        "audit-log-maxsize": 100,
        "enable-admission-plugins": ["NodeRestriction"],  # from the child group only
        "audit_log_maxage": 3,  # the host's spelling replaces audit-log-maxage
    }  # audit-log-maxbackup: null at host level removed it


def test_apiserver_extra_env_merges_key_by_key_too(write: Write) -> None:
    path = write(
        "hosts.yml",
        "all:\n  vars:\n    apiserver_extra_env: {GOGC: '100', GODEBUG: x}\n"
        "  hosts:\n    cp1:\n      apiserver_extra_env: {GODEBUG: null, GOMAXPROCS: '2'}\n",
    )
    assert load_inventory([path])["cp1"].vars["apiserver_extra_env"] == {
        "GOGC": "100",
        "GOMAXPROCS": "2",
    }


def test_a_null_flags_mapping_keeps_the_lower_levels_flags(write: Write) -> None:
    path = write(
        "hosts.yml",
        "all:\n  vars:\n    apiserver_flags: {profiling: false}\n"
        "  hosts:\n    cp1:\n      apiserver_flags:\n",
    )
    assert load_inventory([path])["cp1"].vars["apiserver_flags"] == {"profiling": False}


def test_other_variables_are_replaced_whole(write: Write) -> None:
    path = write(
        "hosts.yml",
        "all:\n  vars:\n    apiserver_extra_volumes: [{name: a, hostPath: /a, mountPath: /a}]\n"
        "  hosts:\n    cp1:\n      apiserver_extra_volumes: []\n",
    )
    assert load_inventory([path])["cp1"].vars["apiserver_extra_volumes"] == []


def test_extra_vars_have_the_highest_precedence_in_every_form(
    precedence: Path, data_dir: Path
) -> None:
    inventory = load_inventory(
        [precedence],
        extra_vars=[
            "level_name=from-cli",
            "serial=2",
            "apiserver_flags.audit-log-maxage=60",
            "apiserver_flags.profiling=null",
            f"@{data_dir / 'extra_vars.yml'}",
            '{"json_var": [1, 2]}',
            "empty=",
        ],
    )
    cp2 = inventory["cp2"]

    assert cp2.vars["level_name"] == "from-cli"
    assert cp2.vars["serial"] == 3  # the @file comes after serial=2
    assert cp2.vars["json_var"] == [1, 2]
    assert cp2.vars["empty"] == ""
    flags = cp2.vars["apiserver_flags"]
    assert isinstance(flags, dict)
    assert flags["audit-log-maxage"] == 60
    assert flags["profiling"] is True  # removed by the null, set again by the @file
    assert flags["audit-log-maxsize"] == 100  # untouched lower-level flags stay
    assert cp2.origins["apiserver_flags.audit-log-maxage"] == VarOrigin("extra", "<command line>")
    assert cp2.origins["serial"] == VarOrigin("extra", str(data_dir / "extra_vars.yml"), 1)


def test_extra_var_flag_with_another_spelling_replaces_the_inventory_one(precedence: Path) -> None:
    cp1 = load_inventory([precedence], ["apiserver_flags.--audit-log-maxage=9"])["cp1"]
    flags = cp1.vars["apiserver_flags"]
    assert isinstance(flags, dict)
    assert flags["--audit-log-maxage"] == 9
    assert "audit_log_maxage" not in flags
    assert "apiserver_flags.audit_log_maxage" not in cp1.origins


@pytest.mark.parametrize(
    ("arg", "fragment"),
    [
        ("no_equals_sign", "cannot read extra vars"),
        ("serial.sub=1", "cannot read extra vars"),
        ("apiserver_flags.=1", "cannot read extra vars"),
        ("@/nonexistent/vars.yml", "extra vars file not found"),
        ("{broken: [", "YAML syntax error"),
        ("[1, 2]", "cannot read extra vars"),
    ],
)
def test_bad_extra_vars_are_input_errors(precedence: Path, arg: str, fragment: str) -> None:
    with pytest.raises(InventoryError) as caught:
        load_inventory([precedence], [arg])
    assert fragment in str(caught.value)


def test_provenance_names_file_and_line_of_every_variable_and_flag(precedence: Path) -> None:
    cp1 = load_inventory([precedence])["cp1"]
    hosts = str(precedence / "hosts.yml")
    gv = precedence / "group_vars"

    assert cp1.origins["only_all"] == VarOrigin("all", hosts, 4)
    assert cp1.origins["sibling"] == VarOrigin("group:beta", hosts, 30)
    assert cp1.origins["inline_vs_file"] == VarOrigin(
        "group:control_plane", str(gv / "control_plane.yml"), 1
    )
    assert cp1.origins["level_name"] == VarOrigin(
        "group:zone_a", str(gv / "zone_a" / "20-override.yaml"), 1
    )
    assert cp1.origins["apiserver_flags.audit-log-maxsize"] == VarOrigin(
        "all", str(gv / "all.yml"), 3
    )
    assert cp1.origins["apiserver_flags.profiling"] == VarOrigin("all", hosts, 8)
    assert cp1.origins["apiserver_flags.enable-admission-plugins"] == VarOrigin(
        "group:zone_a", str(gv / "zone_a" / "10-base.yml"), 4
    )
    assert cp1.origins["apiserver_flags.audit_log_maxage"] == VarOrigin(
        "host", str(precedence / "host_vars" / "cp1.yml"), 4
    )
    assert "apiserver_flags.audit-log-maxbackup" not in cp1.origins  # removed by null


def test_ini_provenance_uses_ini_line_numbers(data_dir: Path) -> None:
    path = data_dir / "equivalence" / "ini" / "hosts.ini"
    cp03 = load_inventory([path])["cp03"]

    assert cp03.origins["ansible_port"] == VarOrigin("host", str(path), 6)
    assert cp03.origins["zone"] == VarOrigin("group:zone_b", str(path), 16)
    assert cp03.origins["apiserver_flags.profiling"] == VarOrigin(
        "group:control_plane", str(path), 19
    )
    assert cp03.origins["serial"] == VarOrigin("all", str(path), 23)


def test_explain_host_lists_each_variable_and_each_flag_with_its_origin(precedence: Path) -> None:
    rows = explain_host(load_inventory([precedence])["cp1"])
    names = [name for name, _, _ in rows]

    assert names == sorted(names)
    assert "apiserver_flags" not in names
    by_name = {name: (value, origin) for name, value, origin in rows}
    value, origin = by_name["apiserver_flags.audit_log_maxage"]
    assert value == 3
    assert origin is not None
    assert str(origin).endswith("host_vars/cp1.yml:4 (host)")
    assert by_name["sibling"][0] == "beta"
