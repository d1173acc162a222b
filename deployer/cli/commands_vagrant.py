"""``deployer inventory vagrant``: write the inventory of the running Vagrant lab.

The ``inventory`` group itself belongs to ``commands_offline`` (``inventory show``); this module
only adds its ``vagrant`` sub-command, and creates the group when that module is absent, so
the two never fight over it.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import click

from deployer.errors import InputError, InputProblem
from deployer.vagrant.inventory import vagrant_inventory

__all__ = ["register", "vagrant_inventory_command"]

_HELP = """Write an inventory of the Vagrant lab's control-plane VMs.

\b
Reads `vagrant status` and `vagrant ssh-config` in the lab folder (the VMs must be up) and
the lab's address plan vagrant/addresses (each VM's private address becomes its
--advertise-address). The inventory groups the VMs as control_plane, with the SSH host, port,
user and key Vagrant reports, ansible_become (Vagrant logs in as `vagrant`) and the paths of a
kubeadm node. Write it beside inventories/vagrant/group_vars/ to use the lab's flags:

\b
  deployer inventory vagrant --out inventories/vagrant/hosts.yml
  deployer plan -i inventories/vagrant/hosts.yml

Exit codes: 0 written, 5 VMs not running or not answering SSH, 6 Vagrant missing, VMs not
created, or output that cannot be parsed.
"""


def _write_atomically(path: Path, text: str) -> None:
    """Replace ``path`` in one rename, so a reader never sees half an inventory.

    Raises:
        InputError: the folder does not exist or is not writable.
    """
    folder = path.parent if str(path.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=folder)
    except OSError as err:
        raise InputError(
            [
                InputProblem(
                    f"cannot write {path}: {err.strerror or err}",
                    hint="--out must name a file in an existing, writable folder",
                )
            ]
        ) from err
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@click.command("vagrant", help=_HELP, short_help="Inventory of the Vagrant lab's VMs.")
@click.option(
    "--vagrant-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="The folder of deployer's Vagrantfile (with vagrant/addresses beside it).",
)
@click.option(
    "--out",
    "out",
    type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
    default=Path("-"),
    show_default=True,
    help="Where to write the inventory; - for standard output.",
)
def vagrant_inventory_command(vagrant_dir: Path, out: Path) -> None:
    """Write the Vagrant lab's inventory (the help text is in ``_HELP``)."""
    inventory = vagrant_inventory(vagrant_dir)
    text = inventory.to_yaml()
    if str(out) == "-":
        click.echo(text, nl=False)
        return
    _write_atomically(out, text)
    hosts = ", ".join(f"{h.name} ({h.private_address})" for h in inventory.hosts)
    click.echo(f"wrote {out}: {len(inventory.hosts)} control-plane nodes: {hosts}", err=True)
    click.echo(f"next: deployer plan -i {out}", err=True)


def register(group: click.Group) -> None:
    """Attach ``vagrant`` to the ``inventory`` group, creating the group if nobody did."""
    inventory = group.commands.get("inventory")
    if inventory is None:

        @click.group("inventory")
        def inventory_group() -> None:
            """Inspect and make inventories."""

        group.add_command(inventory_group)
        inventory = inventory_group
    if not isinstance(inventory, click.Group):
        raise TypeError(f"the 'inventory' command is a {type(inventory).__name__}, not a group")
    inventory.add_command(vagrant_inventory_command)
