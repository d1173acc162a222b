"""The Vagrant lab: real control-plane VMs made with kubeadm, and the inventory that reaches them.

The VMs themselves are made by the Vagrantfile and the scripts under ``vagrant/``; this package
only reads what Vagrant reports (``vagrant status``, ``vagrant ssh-config``) and the lab's
address plan, and writes an inventory deployer (or Ansible) can use.
"""

from __future__ import annotations

from deployer.vagrant.addresses import ADDRESSES_FILE, parse_addresses, read_addresses
from deployer.vagrant.inventory import (
    CONTROL_PLANE_GROUP,
    KNOWN_HOSTS_FILE,
    NODE_VARS,
    VagrantHost,
    VagrantInventory,
    build_inventory,
    check_machines,
    vagrant_inventory,
)
from deployer.vagrant.ssh_config import SshConfigEntry, parse_ssh_config, split_config_line
from deployer.vagrant.status import MachineState, parse_machine_status

__all__ = [
    "ADDRESSES_FILE",
    "CONTROL_PLANE_GROUP",
    "KNOWN_HOSTS_FILE",
    "NODE_VARS",
    "MachineState",
    "SshConfigEntry",
    "VagrantHost",
    "VagrantInventory",
    "build_inventory",
    "check_machines",
    "parse_addresses",
    "parse_machine_status",
    "parse_ssh_config",
    "read_addresses",
    "split_config_line",
    "vagrant_inventory",
]
