"""`vagrant status --machine-readable` and the lab's address plan (vagrant/addresses)."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest
from vagrant_support import REPO, recorded

from deployer.errors import InputError, UnreachableError
from deployer.vagrant.addresses import parse_addresses, read_addresses
from deployer.vagrant.inventory import check_machines
from deployer.vagrant.status import MachineState, parse_machine_status


def test_status_lists_every_machine_with_state_and_provider() -> None:
    machines = parse_machine_status(recorded("not-created", "status.out"))
    assert machines == (
        MachineState("cp1", "running", "virtualbox"),
        MachineState("cp2", "not_created", "virtualbox"),
        MachineState("cp3", "not_created", "virtualbox"),
    )
    assert [m.is_running for m in machines] == [True, False, False]
    assert [m.is_created for m in machines] == [True, False, False]


def test_status_reads_libvirt_states_and_unescapes_commas() -> None:
    text = (
        "1,cp1,provider-name,libvirt\n1,cp1,state,shutoff\n"
        "1,cp1,state-human-long,off%!(VAGRANT_COMMA) really\n"
        "1,,ui,info,Current machine states:\\n\\ncp1  shutoff (libvirt)\n"
    )
    (machine,) = parse_machine_status(text)
    assert machine == MachineState("cp1", "shutoff", "libvirt")
    assert machine.is_created
    assert not machine.is_running


def test_status_without_any_state_is_not_machine_readable_output() -> None:
    with pytest.raises(InputError, match="no machine state"):
        parse_machine_status("Current machine states:\n\ncp1   running (virtualbox)\n")


def test_check_machines_separates_missing_vms_from_stopped_ones() -> None:
    running = (MachineState("cp1", "running"), MachineState("cp2", "running"))
    assert check_machines(running) == ("cp1", "cp2")
    with pytest.raises(InputError) as missing:
        check_machines((*running, MachineState("cp3", "not_created")))
    assert missing.value.exit_code == 6
    assert "vagrant up cp3" in str(missing.value)
    with pytest.raises(UnreachableError) as stopped:
        check_machines((*running, MachineState("cp3", "poweroff"), MachineState("cp4", "saved")))
    assert stopped.value.exit_code == 5
    assert "cp3 (poweroff), cp4 (saved)" in str(stopped.value)


def test_the_address_plan_is_the_documented_scheme() -> None:
    plan = read_addresses(REPO)
    assert list(plan)[:3] == ["cp1", "cp2", "cp3"]
    network = ipaddress.ip_network("192.168.56.0/24")
    for index, (name, address) in enumerate(plan.items(), start=1):
        assert name == f"cp{index}"
        assert address == f"192.168.56.1{index}"
        assert ipaddress.ip_address(address) in network


def test_address_plan_problems_are_reported_together() -> None:
    text = "cp1 192.168.56.11\ncp1 192.168.56.12\ncp2 192.168.56.11\nCP3 10.0.0.1\n"
    text += "cp4 10.0.0.300\ncp5 fd00::1\ncp6\n"
    with pytest.raises(InputError) as err:
        parse_addresses(text, source="plan")
    assert [(p.line, p.message) for p in err.value.problems] == [
        (2, "cp1 is listed twice"),
        (3, "192.168.56.11 is listed twice"),
        (4, "'CP3' is not a usable VM name"),
        (5, "'10.0.0.300' is not an IPv4 address"),
        (6, "'fd00::1' is not an IPv4 address"),
        (7, "expected \"NAME ADDRESS\", got 'cp6'"),
    ]


def test_a_missing_address_plan_names_the_file_and_the_fix(tmp_path: Path) -> None:
    with pytest.raises(InputError) as err:
        read_addresses(tmp_path)
    (problem,) = err.value.problems
    assert problem.file == str(tmp_path / "vagrant" / "addresses")
    assert problem.hint is not None
    assert "--vagrant-dir" in problem.hint
