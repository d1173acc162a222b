"""YAML and INI inventories, directories, several sources, group_vars/host_vars forms."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from deployer.inventory import load_inventory, load_inventory_with_warnings
from deployer.inventory.ini_inventory import parse_ini_value
from deployer.inventory.ranges import HostPatternError, expand_host_pattern

Write = Callable[[str, str], Path]


def _summary(path: Path) -> list[tuple[object, ...]]:
    inventory = load_inventory([path])
    return [
        (h.name, h.address, h.port, h.user, h.transport, sorted(h.groups), dict(h.vars))
        for h in inventory
    ]


def test_yaml_and_ini_forms_of_one_inventory_load_the_same_hosts_and_vars(data_dir: Path) -> None:
    yaml_hosts = _summary(data_dir / "equivalence" / "yaml" / "hosts.yml")
    ini_hosts = _summary(data_dir / "equivalence" / "ini" / "hosts.ini")

    assert yaml_hosts == ini_hosts
    assert [h[0] for h in yaml_hosts] == ["cp1", "cp2", "cp03"]
    assert yaml_hosts[2][1:4] == ("192.0.2.13", 2222, None)
    assert load_inventory([data_dir / "equivalence" / "yaml" / "hosts.yml"])["cp1"].vars[
        "apiserver_flags"
    ] == {"audit-log-maxage": 30, "profiling": False}


def test_groups_map_each_group_to_its_hosts_through_children(data_dir: Path) -> None:
    inventory = load_inventory([data_dir / "equivalence" / "ini" / "hosts.ini"])

    assert inventory.groups["control_plane"] == ("cp1", "cp2", "cp03")
    assert inventory.groups["zone_b"] == ("cp03",)
    assert inventory.groups["all"] == ("cp1", "cp2", "cp03")
    assert list(inventory.groups)[0] == "all"
    assert inventory["cp03"].groups == frozenset({"all", "control_plane", "zone_b"})


@pytest.mark.parametrize(
    ("pattern", "names", "port"),
    [
        ("cp[1:3]", ["cp1", "cp2", "cp3"], None),
        ("cp[01:03]", ["cp01", "cp02", "cp03"], None),
        ("cp[08:10]", ["cp08", "cp09", "cp10"], None),
        ("cp[1:5:2]", ["cp1", "cp3", "cp5"], None),
        ("node-[a:c].example", ["node-a.example", "node-b.example", "node-c.example"], None),
        ("r[1:2]n[1:2]", ["r1n1", "r1n2", "r2n1", "r2n2"], None),
        ("cp[:1]", ["cp0", "cp1"], None),
        ("cp1:2222", ["cp1"], 2222),
        ("cp[1:2]:2200", ["cp1", "cp2"], 2200),
        ("2001:db8::1", ["2001:db8::1"], None),
    ],
)
def test_host_ranges_expand_as_ansible_does(
    pattern: str, names: list[str], port: int | None
) -> None:
    assert expand_host_pattern(pattern) == (names, port)


@pytest.mark.parametrize(
    ("pattern", "fragment"),
    [
        ("cp[3:1]", "begin <= end"),
        ("cp[01:3]", "equal length"),
        ("cp[1:]", "no end value"),
        ("cp[a:3]", "numeric"),
        ("cp[1:3", "unbalanced"),
        ("cp1:", "ends in ':'"),
        ("cp1:70000", "out of range"),
        ("cp[1:2:0]", "step of at least 1"),
    ],
)
def test_malformed_host_ranges_are_refused_with_a_reason(pattern: str, fragment: str) -> None:
    with pytest.raises(HostPatternError, match=fragment):
        expand_host_pattern(pattern)


def test_ini_values_are_python_literals_when_they_are_one_else_text() -> None:
    assert parse_ini_value("2222") == 2222
    assert parse_ini_value("True") is True
    assert parse_ini_value("true") == "true"  # as in Ansible: only Python's spelling is a bool
    assert parse_ini_value("'01'") == "01"
    assert parse_ini_value("[1, 2]") == [1, 2]
    assert parse_ini_value("(1, 2)") == [1, 2]
    assert parse_ini_value("/etc/kubernetes/pki") == "/etc/kubernetes/pki"
    assert parse_ini_value("8080 # a comment") == 8080


def test_ini_hosts_before_any_section_are_ungrouped_and_quotes_keep_spaces(write: Write) -> None:
    path = write(
        "hosts",
        "# INI without an extension is recognised by its content\n"
        'lonely ansible_host=192.0.2.5 note="two words" # trailing comment\n'
        "[control_plane]\n"
        "cp1\n",
    )
    inventory = load_inventory([path])

    assert inventory.names == ("lonely", "cp1")
    assert inventory["lonely"].groups == frozenset({"all", "ungrouped"})
    assert inventory["lonely"].vars["note"] == "two words"
    assert inventory.groups["ungrouped"] == ("lonely",)


def test_yaml_hosts_may_be_null_and_host_order_is_first_appearance(write: Write) -> None:
    path = write(
        "inv.yml",
        "all:\n"
        "  hosts:\n"
        "    first:\n"
        "  children:\n"
        "    control_plane:\n"
        "      hosts:\n"
        "        cp2:\n"
        "        cp1: {ansible_port: 2201}\n"
        "        first:\n"
        "    empty_group:\n",
    )
    inventory = load_inventory([path])

    assert inventory.names == ("first", "cp2", "cp1")
    assert inventory["cp1"].port == 2201
    assert inventory.groups["empty_group"] == ()
    assert "ungrouped" not in inventory["first"].groups  # it is in control_plane too


def test_a_directory_reads_every_inventory_file_sorted_and_skips_ignored_ones(
    data_dir: Path,
) -> None:
    inventory, warnings = load_inventory_with_warnings([data_dir / "directory"])

    assert inventory.names == ("cp1", "cp2", "cp3", "cp4")  # README.md, *.bak, .hidden skipped
    assert inventory.groups["etcd"] == ("cp1",)
    assert inventory["cp3"].address == "192.0.2.13"
    assert inventory["cp4"].vars["kubernetes_version"] == "1.31"  # directory's group_vars
    assert inventory["cp1"].vars["etcd_member"] is True  # group_vars/etcd.json
    assert "etcd_member" not in inventory["cp2"].vars
    assert warnings == ()


def test_several_sources_add_hosts_and_later_vars_win(data_dir: Path) -> None:
    inventory = load_inventory(
        [
            data_dir / "equivalence" / "yaml" / "hosts.yml",
            str(data_dir / "extra_source" / "hosts.yml"),
        ]
    )

    # Ansible's order: the second file makes zone_b a child of all, walked before zone_a.
    assert inventory.names == ("cp03", "cp04", "cp1", "cp2")
    assert inventory["cp04"].vars["zone"] == "b-second-source"
    assert inventory["cp03"].vars["zone"] == "b-second-source"
    assert inventory["cp04"].vars["apiserver_flags"] == {"audit-log-maxage": 30, "profiling": False}
    assert len(inventory.sources) == 2


def test_comma_separated_host_list_is_an_inventory_as_in_ansible() -> None:
    inventory = load_inventory(["cp1,cp2,"])

    assert inventory.names == ("cp1", "cp2")
    assert inventory["cp2"].groups == frozenset({"all", "ungrouped"})


def test_group_vars_and_host_vars_forms(write: Write, tmp_path: Path) -> None:
    write(
        "inv/hosts.yml",
        "all:\n  children:\n    control_plane:\n      hosts:\n        cp1:\n        cp2:\n"
        "        cp3:\n        cp4:\n",
    )
    write("inv/group_vars/all", "from_no_extension: true\n")
    write("inv/group_vars/control_plane/b.json", '{"order": "b", "json": 1}\n')
    write("inv/group_vars/control_plane/a.yml", "order: a\nfrom_folder: yes\n")
    write("inv/group_vars/control_plane/nested/c.yaml", "nested: true\n")
    write("inv/group_vars/control_plane/notes.txt", "order: never-read\n")
    write("inv/host_vars/cp1.yml", "kind: yml\n")
    write("inv/host_vars/cp2.yaml", "kind: yaml\n")
    write("inv/host_vars/cp3.json", '{"kind": "json"}\n')
    write("inv/host_vars/cp4/10.yml", "kind: folder-10\n")
    write("inv/host_vars/cp4/20.yml", "kind: folder-20\n")
    write("inv/host_vars/cp4/.hidden.yml", "kind: hidden\n")
    write("inv/host_vars/cp4/20.yml~", "kind: editor-backup\n")

    inventory = load_inventory([tmp_path / "inv" / "hosts.yml"])

    assert [inventory[n].vars["kind"] for n in ("cp1", "cp2", "cp3", "cp4")] == [
        "yml",
        "yaml",
        "json",
        "folder-20",
    ]
    cp1 = inventory["cp1"].vars
    assert cp1["from_no_extension"] is True
    # a.yml, b.json, nested/c.yaml: sorted, later files win
    assert (cp1["order"], cp1["json"], cp1["from_folder"], cp1["nested"]) == ("b", 1, True, True)
    origin = inventory["cp1"].origins["order"]
    assert origin.file.endswith("inv/group_vars/control_plane/b.json")


def test_group_vars_for_an_unknown_group_is_a_warning_not_an_error(write: Write) -> None:
    path = write("hosts.yml", "all:\n  hosts:\n    cp1:\n")
    write("group_vars/etcd.yml", "x: 1\n")

    inventory, warnings = load_inventory_with_warnings([path])

    assert inventory.names == ("cp1",)
    assert len(warnings) == 1
    assert "no group named 'etcd'" in warnings[0].message


def test_shadowed_vars_file_is_reported_and_not_read(data_dir: Path) -> None:
    inventory, warnings = load_inventory_with_warnings([data_dir / "precedence"])

    assert inventory["cp2"].vars["level_name"] == "cp2-file"
    assert [w.file for w in warnings] == [str(data_dir / "precedence" / "host_vars" / "cp2.yml")]
    assert all(w.is_warning for w in warnings)
