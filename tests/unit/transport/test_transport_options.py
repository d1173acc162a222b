"""From an inventory host's ``ansible_*`` variables to SSH options."""

from __future__ import annotations

from pathlib import Path

import pytest

from deployer.errors import ExitCode, InventoryError
from deployer.model.host import Host, Secret
from deployer.transport.options import (
    SshOptions,
    become_password,
    known_hosts_path,
    options_from_host,
    parse_ssh_args,
)


def _host(**variables: object) -> Host:
    return Host("cp1", "10.0.0.11", vars=variables)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ("-o ProxyJump=admin@bastion:2222", {"proxyjump": "admin@bastion:2222"}),
        ("-oProxyJump=bastion", {"proxyjump": "bastion"}),
        ("-J admin@b1,b2", {"proxyjump": "admin@b1,b2"}),
        ("-Jbastion", {"proxyjump": "bastion"}),
        ("-o 'ProxyJump bastion'", {"proxyjump": "bastion"}),
        ("-o UserKnownHostsFile=/etc/k", {"userknownhostsfile": "/etc/k"}),
        (
            "-i ~/.ssh/k -o StrictHostKeyChecking=accept-new",
            {"identityfile": "~/.ssh/k", "stricthostkeychecking": "accept-new"},
        ),
    ],
)
def test_parse_ssh_args_understands_openssh_spellings(args: str, expected: dict[str, str]) -> None:
    assert parse_ssh_args(args)[0] == expected


def test_parse_ssh_args_reports_what_it_ignores() -> None:
    found, ignored = parse_ssh_args("-C -o ServerAliveInterval=30 -v")
    assert found == {"serveraliveinterval": "30"}
    assert ignored == ["-C", "-v"]


def test_defaults_when_the_host_has_no_connection_variables() -> None:
    options = options_from_host(_host())
    assert options == SshOptions()
    assert options.accept_new_host_keys is False
    assert options.connect_timeout_s == 10.0
    assert options.retries == 3


def test_proxy_jump_from_common_args_and_extra_args_wins() -> None:
    options = options_from_host(
        _host(
            ansible_ssh_common_args="-o ProxyJump=jump1",
            ansible_ssh_extra_args="-J admin@jump2:2200",
        )
    )
    assert options.proxy_jump == "admin@jump2:2200"


def test_proxy_command_is_kept_as_fabric_gateway_text() -> None:
    options = options_from_host(
        _host(ansible_ssh_common_args="-o 'ProxyCommand=ssh -W %h:%p bastion'")
    )
    assert options.proxy_command == "ssh -W %h:%p bastion"


def test_known_hosts_from_variable_beats_user_known_hosts_file() -> None:
    host = _host(
        ansible_ssh_common_args="-o UserKnownHostsFile=/from/args",
        ssh_known_hosts_file="/from/var",
    )
    assert options_from_host(host).known_hosts == Path("/from/var")
    only_args = _host(ansible_ssh_common_args="-o UserKnownHostsFile=/from/args")
    assert options_from_host(only_args).known_hosts == Path("/from/args")


def test_known_hosts_path_order_options_then_ssh_config_then_default() -> None:
    assert known_hosts_path(SshOptions(known_hosts=Path("/o")), {}) == Path("/o")
    assert known_hosts_path(SshOptions(), {"userknownhostsfile": "/c1 /c2"}) == Path("/c1")
    assert known_hosts_path(SshOptions(), {}) == Path("~/.ssh/known_hosts").expanduser()


def test_trust_on_first_use_comes_only_from_the_command_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    accept = _host(ansible_ssh_common_args="-o StrictHostKeyChecking=accept-new")
    assert options_from_host(accept).accept_new_host_keys is False
    assert "--accept-new-host-keys" in caplog.text
    from_cli = SshOptions(accept_new_host_keys=True)
    assert options_from_host(accept, from_cli).accept_new_host_keys is True
    lax = _host(ansible_ssh_common_args="-o StrictHostKeyChecking=no")
    assert options_from_host(lax).accept_new_host_keys is False
    assert "ignoring StrictHostKeyChecking=no" in caplog.text


def test_key_files_and_become() -> None:
    options = options_from_host(
        _host(
            ansible_ssh_private_key_file="~/keys/cp",
            ansible_become="yes",
            ansible_become_user="admin",
            ansible_ssh_timeout="4.5",
        ),
        SshOptions(key_files=(Path("/default/key"),)),
    )
    assert options.key_files == (Path("~/keys/cp").expanduser(), Path("/default/key"))
    assert options.become is True
    assert options.become_user == "admin"
    assert options.connect_timeout_s == 4.5


def test_applying_host_variables_twice_changes_nothing() -> None:
    host = _host(ansible_ssh_private_key_file="/k", ansible_become=True)
    once = options_from_host(host)
    assert options_from_host(host, once) == once


@pytest.mark.parametrize(
    "name",
    ["ansible_become_password", "ansible_become_pass", "ansible_password", "ansible_ssh_pass"],
)
def test_passwords_in_clear_in_the_inventory_are_refused(name: str) -> None:
    with pytest.raises(InventoryError) as info:
        options_from_host(_host(**{name: "hunter2"}))
    assert info.value.exit_code == ExitCode.INVALID_INPUT
    assert name in str(info.value)
    assert "hunter2" not in str(info.value)
    assert "DEPLOYER_BECOME_PASSWORD" in str(info.value)


def test_every_problem_of_a_host_is_reported_at_once() -> None:
    with pytest.raises(InventoryError) as info:
        options_from_host(
            _host(
                ansible_become="maybe",
                ansible_become_method="su",
                ansible_ssh_timeout="-1",
            )
        )
    assert len(info.value.problems) == 3


def test_become_password_comes_from_the_environment_then_the_prompt(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked: list[str] = []

    def prompt(host: str) -> Secret:
        asked.append(host)
        return Secret("typed")

    options = SshOptions(prompt_become_password=prompt)
    monkeypatch.setenv("DEPLOYER_BECOME_PASSWORD", "from-env")
    env_value = become_password(options, "cp1")
    assert env_value is not None
    assert env_value.value == "from-env"
    assert str(env_value) == "***"
    monkeypatch.delenv("DEPLOYER_BECOME_PASSWORD")
    prompted = become_password(options, "cp1")
    assert prompted is not None
    assert prompted.value == "typed"
    assert asked == ["cp1"]
    assert become_password(SshOptions(), "cp1") is None


def test_options_refuse_impossible_values() -> None:
    with pytest.raises(ValueError, match="retries"):
        SshOptions(retries=0)
    with pytest.raises(ValueError, match="timeouts"):
        SshOptions(connect_timeout_s=0)


@pytest.mark.parametrize("timeout", ["nan", "inf", "-1", "0", "1e400", "100000"])
def test_ssh_timeout_must_be_finite_and_bounded(timeout: str) -> None:
    with pytest.raises(InventoryError, match="ansible_ssh_timeout"):
        options_from_host(_host(ansible_ssh_timeout=timeout))
