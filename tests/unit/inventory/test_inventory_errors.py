"""Every invalid inventory is one InventoryError naming file, line (and column) and all problems."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from deployer.errors import ExitCode, InputProblem, InventoryError, exit_code_for
from deployer.inventory import load_inventory, load_inventory_with_warnings
from deployer.model.host import Secret

Write = Callable[[str, str], Path]

# (fixture under tests/data/inventories/errors, file of the problem relative to errors/,
#  line, column, fragment of the message, host named or None)
CASES = [
    ("yaml_indentation.yml", "yaml_indentation.yml", 6, 8, "YAML syntax error", None),
    ("yaml_tab.yml", "yaml_tab.yml", 3, 1, "YAML syntax error", None),
    ("yaml_colon_in_value.yml", "yaml_colon_in_value.yml", 4, 30, "mapping values", None),
    ("ini_unknown_section.ini", "ini_unknown_section.ini", 4, None, "unknown type 'bogus'", None),
    (
        "ini_host_var_without_value.ini",
        "ini_host_var_without_value.ini",
        2,
        None,
        "key=value",
        None,
    ),
    ("ini_unclosed_quote.ini", "ini_unclosed_quote.ini", 3, None, "No closing quotation", None),
    (
        "ini_undeclared_child.ini",
        "ini_undeclared_child.ini",
        2,
        None,
        "undeclared group 'zone_a'",
        None,
    ),
    (
        "ini_vars_for_undeclared_group.ini",
        "ini_vars_for_undeclared_group.ini",
        4,
        None,
        "[etcd:vars]",
        None,
    ),
    (
        "ini_bad_section_header.ini",
        "ini_bad_section_header.ini",
        1,
        None,
        "invalid section header",
        None,
    ),
    (
        "ini_vars_without_equals.ini",
        "ini_vars_without_equals.ini",
        2,
        None,
        "expected key=value",
        None,
    ),
    ("ini_bad_range.ini", "ini_bad_range.ini", 2, None, "begin <= end", None),
    (
        "group_not_a_mapping.yml",
        "group_not_a_mapping.yml",
        3,
        None,
        "group control_plane must be a mapping",
        None,
    ),
    ("hosts_as_a_list.yml", "hosts_as_a_list.yml", 4, None, "'hosts' must be a mapping", None),
    ("vars_not_a_mapping.yml", "vars_not_a_mapping.yml", 4, None, "'vars' must be a mapping", None),
    (
        "children_not_a_mapping.yml",
        "children_not_a_mapping.yml",
        2,
        None,
        "'children' must be a mapping",
        None,
    ),
    (
        "host_vars_not_a_mapping.yml",
        "host_vars_not_a_mapping.yml",
        3,
        None,
        "host cp1: variables must be a mapping",
        None,
    ),
    ("port_not_an_int.yml", "port_not_an_int.yml", 6, None, "variable ansible_port", "cp1"),
    (
        "address_not_a_string.yml",
        "address_not_a_string.yml",
        4,
        None,
        "variable ansible_host",
        "cp1",
    ),
    (
        "flags_not_a_mapping.yml",
        "flags_not_a_mapping.yml",
        4,
        None,
        "apiserver_flags must be a mapping",
        "cp1",
    ),
    (
        "unsupported_connection.ini",
        "unsupported_connection.ini",
        2,
        None,
        "'winrm' is not supported",
        "cp1",
    ),
    ("group_cycle.yml", "group_cycle.yml", 9, None, "a is its own ancestor: a -> b -> a", None),
    ("empty_inventory.yml", "empty_inventory.yml", None, None, "has no hosts", None),
    ("top_level_hosts.yml", "top_level_hosts.yml", 1, None, "'hosts' is not a group", None),
    ("not_utf8.yml", "not_utf8.yml", None, None, "not UTF-8", None),
]


@pytest.mark.parametrize(
    ("source", "file", "line", "column", "fragment", "host"),
    CASES,
    ids=[c[0] for c in CASES],
)
def test_invalid_inventory_names_file_line_and_column(
    data_dir: Path,
    source: str,
    file: str,
    line: int | None,
    column: int | None,
    fragment: str,
    host: str | None,
) -> None:
    errors = data_dir / "errors"
    with pytest.raises(InventoryError) as caught:
        load_inventory([errors / source])

    problems = [p for p in caught.value.problems if not p.is_warning]
    assert len(problems) == 1, problems
    problem = problems[0]
    assert problem.file == str(errors / file)
    assert (problem.line, problem.column) == (line, column)
    assert fragment in problem.message
    assert problem.host == host
    assert exit_code_for(caught.value) is ExitCode.INVALID_INPUT
    assert f"{errors / file}" in str(caught.value)  # the operator sees where


def test_syntax_errors_carry_a_hint_an_operator_can_act_on(data_dir: Path) -> None:
    with pytest.raises(InventoryError) as caught:
        load_inventory([data_dir / "errors" / "yaml_tab.yml"])
    assert caught.value.problems[0].hint == "YAML indentation must use spaces, not tabs"


def test_every_problem_of_every_file_is_reported_not_only_the_first(data_dir: Path) -> None:
    with pytest.raises(InventoryError) as caught:
        load_inventory([data_dir / "errors" / "many_problems", data_dir / "missing.yml"])

    where = sorted(Path(p.file or "").name for p in caught.value.problems)
    assert where == ["a.yml", "b.ini", "c.yml", "missing.yml"]
    assert "4 problems" in str(caught.value)


def test_group_vars_problems_are_reported_with_the_inventory_problems(data_dir: Path) -> None:
    with pytest.raises(InventoryError) as caught:
        load_inventory([data_dir / "errors" / "bad_group_vars"])

    problems = caught.value.problems
    assert [Path(p.file or "").name for p in problems] == ["all.yml", "ungrouped.yml"]
    assert "must be a mapping" in problems[0].message
    assert (problems[1].line, problems[1].column) == (2, 1)


def test_missing_inventory_path_is_an_input_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope" / "hosts.yml"
    with pytest.raises(InventoryError, match="inventory source not found") as caught:
        load_inventory([missing])
    assert caught.value.problems[0].file == str(missing)


def test_no_source_at_all_is_an_input_error() -> None:
    with pytest.raises(InventoryError, match="no inventory given"):
        load_inventory([])


def test_a_bad_port_shared_by_many_hosts_is_reported_once(write: Write) -> None:
    path = write(
        "hosts.yml",
        "all:\n  vars:\n    ansible_port: '22x'\n  hosts:\n    cp[1:50]:\n",
    )
    with pytest.raises(InventoryError) as caught:
        load_inventory([path])
    assert len(caught.value.problems) == 1
    assert caught.value.problems[0].line == 3


@pytest.mark.parametrize(
    "var", ["ansible_password", "ansible_become_password", "ansible_become_pass"]
)
def test_passwords_are_kept_as_secrets_with_a_warning(write: Write, var: str) -> None:
    path = write(
        "hosts.ini", f"[control_plane]\ncp1 {var}=hunter2\ncp2\n[control_plane:vars]\nx=1\n"
    )

    inventory, warnings = load_inventory_with_warnings([path])

    value = inventory["cp1"].vars[var]
    assert isinstance(value, Secret)
    assert value.value == "hunter2"
    assert "hunter2" not in repr(dict(inventory["cp1"].vars))
    assert "hunter2" not in str(inventory["cp1"])
    assert len(warnings) == 1
    warning = warnings[0]
    assert warning.is_warning
    assert (warning.file, warning.line, warning.host) == (str(path), 2, "cp1")
    assert "environment variable" in (warning.hint or "")


def test_duplicate_yaml_keys_and_unexpected_group_keys_are_warnings(write: Write) -> None:
    path = write(
        "hosts.yml",
        "all:\n  children:\n    control_plane:\n      hosts:\n        cp1:\n        cp1:\n"
        "      cp2:\n",
    )
    inventory, warnings = load_inventory_with_warnings([path])

    assert inventory.names == ("cp1",)
    assert [(w.line, w.is_warning) for w in warnings] == [(6, True), (7, True)]
    assert "duplicate key 'cp1'" in warnings[0].message
    assert "unexpected key 'cp2'" in warnings[1].message


def test_load_inventory_logs_warnings(write: Write, caplog: pytest.LogCaptureFixture) -> None:
    path = write("hosts.yml", "all:\n  hosts:\n    cp1:\n      ansible_password: x\n")
    load_inventory([path])
    assert "ansible_password" in caplog.text


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("a: &x {children: {b: *x}}\n", "recursive"),
        ("all:\n  hosts: {cp1: {apiserver_flags: {? [1, 2] : x}}}\n", "unhashable key"),
        ("all:\n  hosts:\n    cp[1:999999]:\n", "more than 100000 hosts"),
        ("\x00\x01", "control characters"),
        ("all: !!python/object:os.system {}\n", "could not determine a constructor"),
        ("{]", "YAML syntax error"),
        ("[g]\ncp1 ansible_port=0\n", "expected a port number"),
    ],
)
def test_odd_inputs_give_an_input_error_never_a_traceback(
    write: Write, text: str, fragment: str
) -> None:
    path = write("odd.yml" if not text.startswith("[") else "odd.ini", text)
    with pytest.raises(InventoryError) as caught:
        load_inventory([path])
    assert all(isinstance(p, InputProblem) for p in caught.value.problems)
    assert fragment in str(caught.value)


def test_non_string_yaml_host_keys_are_refused_as_ansible_refuses_them(write: Write) -> None:
    path = write("hosts.yml", "all:\n  hosts:\n    1:\n    2001:\n      ansible_port: 2222\n")
    with pytest.raises(InventoryError) as caught:
        load_inventory([path])
    assert [(p.line, p.message) for p in caught.value.problems] == [
        (3, "group all: host 1 is a YAML number, not a name"),
        (4, "group all: host 2001 is a YAML number, not a name"),
    ]
    assert "quote it" in str(caught.value)


@pytest.mark.parametrize(
    ("name", "text", "line"),
    [
        ("self.yml", "all:\n  children:\n    a:\n      children:\n        a:\n", 5),
        ("self.ini", "[a:children]\na\n", 2),
    ],
)
def test_a_group_that_is_its_own_child_is_a_cycle_even_without_hosts(
    write: Write, name: str, text: str, line: int
) -> None:
    path = write(name, text)
    with pytest.raises(InventoryError) as caught:
        load_inventory([path])
    [problem] = caught.value.problems
    assert "a is its own ancestor: a -> a" in problem.message
    assert (problem.file, problem.line) == (str(path), line)


def test_jinja_expressions_are_kept_as_text_with_a_warning(write: Write) -> None:
    path = write(
        "hosts.yml",
        "all:\n  hosts:\n    cp1:\n      ansible_host: '{{ ip }}'\n"
        "      apiserver_flags:\n        advertise-address: '{{ ansible_host }}'\n",
    )
    inventory, warnings = load_inventory_with_warnings([path])

    assert inventory["cp1"].address == "{{ ip }}"
    assert [(w.line, w.is_warning) for w in warnings] == [(4, True), (6, True)]
    assert "apiserver_flags.advertise-address" in warnings[1].message


def test_host_vars_of_a_host_no_file_declares_are_ignored_with_a_warning(data_dir: Path) -> None:
    # ansible-core's host_group_vars reads the files of known hosts only.
    inventory, warnings = load_inventory_with_warnings([data_dir / "errors" / "unknown_host_vars"])
    assert "cp9" not in inventory.names
    [warning] = [w for w in warnings if w.host == "cp9"]
    assert warning.file and warning.file.endswith("host_vars/cp9.yml")
    assert "not used" in warning.message
