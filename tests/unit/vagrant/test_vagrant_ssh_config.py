"""Parsing `vagrant ssh-config` output: OpenSSH's rules as far as Vagrant's template uses them."""

from __future__ import annotations

import pytest
from vagrant_support import recorded

from deployer.errors import InputError
from deployer.vagrant.ssh_config import parse_ssh_config, split_config_line

CASES_WITH_OUTPUT = [
    "one-vm",
    "three-vms",
    "custom-ports",
    "libvirt",
    "libvirt-remote-proxy",
    "identity-spaces-quotes",
    "several-identity-files",
]


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ("HostName 127.0.0.1", ["HostName", "127.0.0.1"]),
        ("  Port 2222  ", ["Port", "2222"]),
        ("Port=2222", ["Port", "2222"]),
        ("Port = 2222", ["Port", "2222"]),
        ("User\tvagrant", ["User", "vagrant"]),
        ('User "va grant"', ["User", "va grant"]),
        ("User 'va grant'", ["User", "va grant"]),
        (r"User va\ grant", ["User", "va grant"]),
        (r'User "say \"hi\""', ["User", 'say "hi"']),
        (r"User C:\dir", ["User", r"C:\dir"]),
        ("SendEnv LANG LC_ALL", ["SendEnv", "LANG", "LC_ALL"]),
    ],
)
def test_split_config_line_follows_openssh_quoting(line: str, words: list[str]) -> None:
    assert split_config_line(line) == words


def test_split_config_line_refuses_an_unterminated_quote() -> None:
    with pytest.raises(ValueError, match="unterminated"):
        split_config_line('User "vagrant')


def test_three_vm_recording_gives_each_vm_its_forwarded_port_and_key() -> None:
    entries = parse_ssh_config(recorded("three-vms", "ssh-config.out"))
    assert [(e.name, e.hostname, e.port, e.user) for e in entries] == [
        ("cp1", "127.0.0.1", 2222, "vagrant"),
        ("cp2", "127.0.0.1", 2200, "vagrant"),
        ("cp3", "127.0.0.1", 2201, "vagrant"),
    ]
    assert entries[1].identity_files == (
        "@VAGRANT_DIR@/.vagrant/machines/cp2/virtualbox/private_key",
    )
    assert entries[0].option("StrictHostKeyChecking") == "no"
    assert entries[0].option("proxycommand") is None


@pytest.mark.parametrize("case", CASES_WITH_OUTPUT)
def test_every_recorded_output_parses_to_complete_entries(case: str) -> None:
    entries = parse_ssh_config(recorded(case, "ssh-config.out"))
    assert entries
    for entry in entries:
        assert entry.hostname
        assert entry.user
        assert 0 < entry.port < 65536
        assert entry.identity_files


def test_identity_files_keep_spaces_and_quotes_exactly_as_vagrant_wrote_them() -> None:
    entries = parse_ssh_config(recorded("identity-spaces-quotes", "ssh-config.out"))
    assert [e.identity_files for e in entries] == [
        ("/home/op/my labs/deployer/.vagrant/machines/cp1/virtualbox/private_key",),
        ('/home/op/it\'s "lab" v2/.vagrant/machines/cp2/virtualbox/private_key',),
        ('/home/op/quote"no-space/.vagrant/machines/cp3/virtualbox/private_key',),
    ]


def test_several_identity_files_are_all_kept_in_order() -> None:
    entries = parse_ssh_config(recorded("several-identity-files", "ssh-config.out"))
    assert [len(e.identity_files) for e in entries] == [3, 2]
    assert entries[0].identity_files[1].endswith("vagrant.key.ed25519")
    assert entries[0].identity_files[2].endswith("vagrant.key.rsa")


def test_proxy_command_stays_one_string() -> None:
    (entry,) = parse_ssh_config(recorded("libvirt-remote-proxy", "ssh-config.out"))
    assert entry.option("ProxyCommand") == (
        "ssh 'virt-host.example' -l 'op' -i '/home/op/.ssh/id_ed25519' nc %h %p"
    )


def test_keywords_are_case_insensitive_and_the_first_value_wins() -> None:
    text = "host cp1\n  HOSTNAME 10.0.0.5\n  port=2022\n  USER ops\n  hostname 10.9.9.9\n"
    text += "  identityfile /k1\n  IdentityFile /k2\n"
    (entry,) = parse_ssh_config(text)
    assert (entry.name, entry.hostname, entry.port, entry.user) == ("cp1", "10.0.0.5", 2022, "ops")
    assert entry.identity_files == ("/k1", "/k2")


def test_comments_and_blank_lines_are_ignored() -> None:
    text = "# made by hand\n\nHost cp1\n  # a comment\n  HostName h\n  Port 22\n  User u\n"
    text += "  IdentityFile /k\n"
    assert parse_ssh_config(text)[0].hostname == "h"


def test_problems_are_all_reported_with_their_lines() -> None:
    text = (
        "Warning: plugin chatter\n"
        "Host cp1\n  HostName h\n  Port 99999\n  User u\n  IdentityFile /k\n"
        "Host cp2\n  User u\n"
        "Host cp1\n"
        "Host a b\n"
        "Match all\n"
        '  User "unterminated\n'
    )
    with pytest.raises(InputError) as err:
        parse_ssh_config(text, source="recording")
    messages = [(p.line, p.message) for p in err.value.problems]
    assert (1, "'Warning: plugin chatter' comes before any Host line") in messages
    assert (9, "Host cp1 appears twice") in messages
    assert (10, "Host with 2 patterns; Vagrant prints one") in messages
    assert (11, "Match blocks are not supported") in messages
    assert any(line == 12 and "unterminated" in m for line, m in messages)
    assert (2, "Host cp1: bad Port '99999'") in messages
    assert (7, "Host cp2: no hostname, port, identityfile in its block") in messages
    assert all(p.file == "recording" for p in err.value.problems)
    assert err.value.exit_code == 6


def test_empty_output_means_no_vm_and_says_to_bring_the_lab_up() -> None:
    with pytest.raises(InputError) as err:
        parse_ssh_config("\n\n")
    assert "no Host block" in str(err.value)
    assert "vagrant up" in str(err.value)
