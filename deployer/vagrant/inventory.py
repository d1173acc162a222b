"""Turn the running Vagrant lab into an Ansible-compatible inventory of control-plane nodes.

Sources: ``vagrant status`` (which VMs exist and run), ``vagrant ssh-config`` (how to reach
each one: forwarded address, port, user, key) and ``vagrant/addresses`` (each VM's private
address, which the Vagrantfile assigned and kubeadm advertises). The result is plain data
(:class:`VagrantInventory`) and its YAML text, which deployer's inventory loader and Ansible
both read.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import yaml

from deployer.errors import InputError, InputProblem, UnreachableError
from deployer.vagrant.addresses import ADDRESSES_FILE, read_addresses
from deployer.vagrant.runner import (
    DEFAULT_VAGRANT_TIMEOUT_S,
    find_vagrant_dir,
    run_vagrant,
    stderr_tail,
)
from deployer.vagrant.ssh_config import SshConfigEntry, parse_ssh_config
from deployer.vagrant.status import MachineState, parse_machine_status

__all__ = [
    "CONTROL_PLANE_GROUP",
    "KNOWN_HOSTS_FILE",
    "NODE_VARS",
    "VagrantHost",
    "VagrantInventory",
    "build_inventory",
    "check_machines",
    "choose_key_file",
    "vagrant_inventory",
]

#: The group every lab VM goes to; inventories/vagrant/group_vars/ sets its flags.
CONTROL_PLANE_GROUP = "control_plane"
#: The lab's own known_hosts, relative to the Vagrantfile's folder. The Vagrantfile deletes it
#: on ``vagrant destroy``: new VMs have new host keys, which would otherwise be refused as
#: changed.
KNOWN_HOSTS_FILE = Path(".vagrant") / "deployer-lab" / "known_hosts"

#: What a kubeadm node needs, the same on every lab VM. Vagrant logs in as ``vagrant``, so
#: everything deployer does on the node goes through sudo.
NODE_VARS: Mapping[str, object] = MappingProxyType(
    {
        "ansible_become": True,
        "manifest_dir": "/etc/kubernetes/manifests",
        "kubeconfig": "/etc/kubernetes/admin.conf",
        # cri-tools from pkgs.k8s.io; node.sh points it at containerd in /etc/crictl.yaml.
        "crictl": "/usr/bin/crictl",
    }
)


@dataclass(frozen=True, slots=True)
class VagrantHost:
    """One lab VM as the inventory describes it."""

    name: str
    #: Where SSH connects (``HostName``): a forwarded port on 127.0.0.1 (VirtualBox) or the
    #: VM's management address (libvirt).
    ssh_host: str
    ssh_port: int
    ssh_user: str
    #: The key deployer logs in with.
    key_file: str
    #: The private-network address from ``vagrant/addresses``: ``--advertise-address``.
    private_address: str
    #: ``ProxyCommand`` when Vagrant needs one (libvirt on a remote host).
    proxy_command: str | None = None

    def to_vars(self) -> dict[str, object]:
        """Return the host's inventory variables (Ansible names where Ansible has one)."""
        data: dict[str, object] = {
            "ansible_host": self.ssh_host,
            "ansible_port": self.ssh_port,
            "ansible_user": self.ssh_user,
            "ansible_ssh_private_key_file": self.key_file,
        }
        if self.proxy_command:
            data["ansible_ssh_common_args"] = "-o " + shlex.quote(
                f"ProxyCommand={self.proxy_command}"
            )
        data["apiserver_flags"] = {"advertise-address": self.private_address}
        return data


@dataclass(frozen=True, slots=True)
class VagrantInventory:
    """The lab's control-plane nodes in rollout order (the address plan's order)."""

    vagrant_dir: Path
    hosts: tuple[VagrantHost, ...]

    def to_data(self) -> dict[str, object]:
        """Return the inventory as Ansible's YAML inventory structure."""
        group_vars: dict[str, object] = dict(NODE_VARS)
        group_vars["ssh_known_hosts_file"] = str(self.vagrant_dir / KNOWN_HOSTS_FILE)
        return {
            "all": {
                "children": {
                    CONTROL_PLANE_GROUP: {
                        "hosts": {h.name: h.to_vars() for h in self.hosts},
                        "vars": group_vars,
                    }
                }
            }
        }

    def to_yaml(self) -> str:
        """Return the inventory file's text: a header saying where it came from, then YAML.

        No timestamp: making it twice from the same lab gives the same bytes.
        """
        where = str(self.vagrant_dir).replace("\n", "\\n")
        plan = str(self.vagrant_dir / ADDRESSES_FILE).replace("\n", "\\n")
        header = (
            f"# Made by `deployer inventory vagrant` from `vagrant ssh-config` in "
            f"{where}\n"
            f"# and the address plan {plan} (advertise-address).\n"
            "# Make it again after `vagrant up` or `vagrant reload`: forwarded ports may change.\n"
        )
        body = yaml.safe_dump(
            self.to_data(),
            sort_keys=False,
            default_flow_style=False,
            allow_unicode=True,
            # One value per line, however long: folded values are hard to read and to grep.
            width=2**16,
        )
        return header + body


def choose_key_file(entry: SshConfigEntry, exists: Callable[[str], bool]) -> str:
    """Return the first ``IdentityFile`` that exists, else the first one listed.

    Why: ssh tries every listed key in order, but an Ansible inventory names one
    (``ansible_ssh_private_key_file``). Vagrant lists the machine's own key first; a box that
    kept the insecure keys lists several, and only some exist on this machine.
    """
    for candidate in entry.identity_files:
        if exists(candidate):
            return candidate
    return entry.identity_files[0]


def check_machines(machines: Sequence[MachineState]) -> tuple[str, ...]:
    """Return the running machines' names, or raise for the ones that are not running.

    Raises:
        InputError: a machine was never created (``vagrant up`` first); exit 6.
        UnreachableError: a machine exists but is not running (halted, suspended); exit 5.
    """
    missing = [m.name for m in machines if not m.is_created]
    if missing:
        raise InputError(
            [
                InputProblem(
                    f"lab VMs not created: {', '.join(missing)}",
                    hint=f"bring them up first: vagrant up {' '.join(missing)} (or set "
                    "DEPLOYER_LAB_NODES to the number of VMs you want)",
                )
            ]
        )
    stopped = [m for m in machines if not m.is_running]
    if stopped:
        shown = ", ".join(f"{m.name} ({m.state})" for m in stopped)
        raise UnreachableError(
            f"lab VMs not running: {shown}; nothing was written",
            host=",".join(m.name for m in stopped),
            hint=f"start them: vagrant up {' '.join(m.name for m in stopped)}",
        )
    return tuple(m.name for m in machines)


def build_inventory(
    entries: Sequence[SshConfigEntry],
    addresses: Mapping[str, str],
    *,
    vagrant_dir: Path,
    running: Sequence[str] | None = None,
    exists: Callable[[str], bool] = lambda p: Path(p).expanduser().is_file(),
) -> VagrantInventory:
    """Combine ``vagrant ssh-config`` entries with the address plan into an inventory.

    Args:
        entries: the parsed ``vagrant ssh-config`` output.
        addresses: VM name -> private address (``vagrant/addresses``).
        vagrant_dir: the lab folder (for the known_hosts path and the header).
        running: the machines ``vagrant status`` reported running; each must have an entry.
        exists: tells whether a key file exists (injected so tests decide).

    Raises:
        InputError: a VM that the address plan does not know, or a running VM that
            ``vagrant ssh-config`` did not describe; every problem at once.
    """
    problems: list[InputProblem] = []
    by_name = {e.name: e for e in entries}
    plan_file = str(vagrant_dir / ADDRESSES_FILE)
    for entry in entries:
        if entry.name not in addresses:
            problems.append(
                InputProblem(
                    f"VM {entry.name} has no private address in the address plan",
                    file=plan_file,
                    hint=f"add a line '{entry.name} 192.168.56.<N>' there (the Vagrantfile "
                    "reads the same file), or use deployer's Vagrantfile",
                )
            )
    for name in running or ():
        if name not in by_name:
            problems.append(
                InputProblem(
                    f"VM {name} is running but `vagrant ssh-config` did not describe it",
                    hint=f"check `vagrant ssh-config {name}`",
                )
            )
    if problems:
        raise InputError(problems)
    hosts = tuple(
        VagrantHost(
            name=name,
            ssh_host=found.hostname,
            ssh_port=found.port,
            ssh_user=found.user,
            key_file=choose_key_file(found, exists),
            private_address=address,
            proxy_command=found.option("proxycommand"),
        )
        for name, address in addresses.items()
        if (found := by_name.get(name)) is not None
    )
    return VagrantInventory(vagrant_dir=vagrant_dir, hosts=hosts)


def vagrant_inventory(
    vagrant_dir: Path,
    *,
    executable: str = "vagrant",
    timeout_s: float = DEFAULT_VAGRANT_TIMEOUT_S,
) -> VagrantInventory:
    """Ask Vagrant about the lab in ``vagrant_dir`` and return its inventory.

    Raises:
        InputError: Vagrant missing, no Vagrantfile, a bad address plan, VMs not created,
            output that cannot be parsed (exit 6).
        UnreachableError: VMs halted or not answering SSH (exit 5).
    """
    folder = find_vagrant_dir(vagrant_dir)
    addresses = read_addresses(folder)
    status = run_vagrant(
        ("status", "--machine-readable"),
        vagrant_dir=folder,
        executable=executable,
        timeout_s=timeout_s,
    )
    if not status.ok:
        raise InputError(
            [
                InputProblem(
                    f"`vagrant status` failed (exit {status.exit_code}):\n"
                    f"{stderr_tail(status.stderr or status.stdout)}",
                    hint="fix what Vagrant reports (a Vagrantfile error, a missing provider), "
                    "then run this again",
                )
            ]
        )
    running = check_machines(parse_machine_status(status.stdout))
    config = run_vagrant(
        ("ssh-config",), vagrant_dir=folder, executable=executable, timeout_s=timeout_s
    )
    if not config.ok:
        raise UnreachableError(
            f"`vagrant ssh-config` failed (exit {config.exit_code}):\n"
            f"{stderr_tail(config.stderr or config.stdout)}",
            host=",".join(running),
            hint="a VM may still be booting: wait, check `vagrant status`, then run this again",
        )
    entries = parse_ssh_config(config.stdout)
    return build_inventory(entries, addresses, vagrant_dir=folder, running=running)
