"""``deployer import``: the live manifests of running hosts into an inventory folder.

Why a command of its own: adoption is the first thing an operator does with deployer, and it
must restart nothing. Import reads (read-only, in parallel, over the same connections plan
uses) each host's live manifest, turns it into variables, renders them back and compares the
result with the live pod the way kubelet does; it writes nothing unless every selected host
was read.
"""

from __future__ import annotations

import functools
import shutil
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

import click

from deployer.cli.options import common_inventory_options, limit_option, output_options
from deployer.cli.output import make_console
from deployer.desired import DesiredState, desired_state
from deployer.errors import DeployerError, InputError, UnreachableError
from deployer.importer.companions import annotation_check, import_companions, read_named
from deployer.importer.extract import extract_host, reproduce
from deployer.importer.layout import ImportedHost, carried_vars, inventory_files, write_inventory
from deployer.inventory import load_inventory_with_warnings, select_hosts
from deployer.model.inventory import Inventory
from deployer.model.manifest import Manifest
from deployer.model.plan import HostPlan
from deployer.render import ManifestRenderer, parse
from deployer.rollout.observe import build_plan
from deployer.transport.base import Transport
from deployer.transport.options import SshOptions
from deployer.transport.pool import default_forks, open_transports

__all__ = ["register"]

#: What import writes (and, with --force, replaces) in --out.
_MANAGED = ("hosts.yml", "group_vars", "host_vars")


@contextmanager
def _connected(
    inventory: Inventory, *, forks: int | None, accept_new: bool
) -> Iterator[dict[str, Transport | DeployerError]]:
    options = SshOptions(accept_new_host_keys=accept_new)
    with open_transports(
        inventory.hosts, options, forks=default_forks(len(inventory.hosts), forks)
    ) as connections:
        merged: dict[str, Transport | DeployerError] = dict(connections.transports)
        merged.update(connections.unreachable)
        yield merged


def _check_out(out: Path, force: bool) -> None:
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out} exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise InputError(
            f"--out {out} is not empty",
            hint="choose an empty folder, or --force to replace hosts.yml, group_vars/ and "
            "host_vars/ there",
        )


def _states(inventory: Inventory) -> tuple[DesiredState, ...]:
    # Only the paths matter for reading (manifest folder, host_root, crictl): the source
    # inventory need not declare flags, so its flag problems are not this command's business.
    return tuple(desired_state(host)[0] for host in inventory.hosts)


def _read_one(transport: Transport, state: DesiredState, path: PurePosixPath) -> bytes | None:
    return transport.read(state.on_host(path), sudo=state.become)


def _read_companions(
    plans: tuple[HostPlan, ...], transports: Mapping[str, Transport | DeployerError]
) -> dict[str, dict[PurePosixPath, bytes | None]]:
    """Each host's companion files (those its live flags name), read over its connection."""
    found: dict[str, dict[PurePosixPath, bytes | None]] = {}
    for host_plan in plans:
        transport = transports.get(host_plan.name)
        observed = host_plan.observed
        if isinstance(transport, DeployerError) or transport is None or observed is None:
            continue
        if observed.manifest is None:
            continue
        state = host_plan.state
        found[host_plan.name] = read_named(
            functools.partial(_read_one, transport, state), observed.manifest
        )
    return found


@click.command(name="import")
@common_inventory_options
@limit_option
@click.option(
    "--out",
    "out_dir",
    required=True,
    metavar="DIR",
    help="Folder for the inventory (hosts.yml, group_vars/, host_vars/).",
)
@click.option(
    "--group",
    default="control_plane",
    show_default=True,
    help="Group name of the imported hosts.",
)
@click.option(
    "--force", is_flag=True, default=False, help="Replace what a previous import wrote in DIR."
)
@click.option(
    "-f",
    "--forks",
    type=click.IntRange(min=1),
    default=None,
    help="Parallel connections (default: every host, at most 32).",
)
@click.option(
    "--accept-new-host-keys",
    is_flag=True,
    default=False,
    help="Trust and record UNKNOWN host keys (never a changed one). Off by default.",
)
@output_options
def import_command(
    inventories: tuple[str, ...],
    extra_vars: tuple[str, ...],
    limit: str | None,
    out_dir: str,
    group: str,
    force: bool,
    forks: int | None,
    accept_new_host_keys: bool,
    verbose: int,
    no_color: bool,
) -> int:
    """Write an inventory that reproduces what the hosts run now, restarting nothing.

    Reads each selected host's live kube-apiserver manifest (read-only, in parallel) and
    writes DIR/hosts.yml (the hosts and their connection variables), group_vars/GROUP.yml
    (what every host shares: the exact kubernetes_version of the running image, flags,
    volumes, pod fields) and host_vars/HOST.yml (what differs). Each value says where it came
    from. Right after, `deployer plan -i DIR` restarts nothing (in sync or cosmetic); anything
    the variables cannot say is listed (and noted in host_vars). No key material is copied,
    only paths. Exit 0 written, 5 a host unreachable (nothing written), 6 a live file is not
    a kube-apiserver pod, or DIR is not empty (without --force).
    """
    del verbose
    console = make_console(no_color=no_color)
    started = time.monotonic()
    out = Path(out_dir)
    _check_out(out, force)
    loaded, _warnings = load_inventory_with_warnings(inventories, extra_vars)
    inventory = select_hosts(loaded, limit)
    states = _states(inventory)
    blank = {s.host.name: Manifest.from_content(s.manifest_path, b"") for s in states}
    with _connected(inventory, forks=forks, accept_new=accept_new_host_keys) as transports:
        plan = build_plan(states, blank, transports, forks=default_forks(len(states), forks))
        companions = _read_companions(plan.hosts, transports)
    unreachable = [p for p in plan.hosts if p.unreachable]
    if unreachable:
        names = ", ".join(f"{p.name} ({p.unreachable})" for p in unreachable)
        raise UnreachableError(
            f"not every host could be read, nothing written: {names}",
            host=unreachable[0].name,
        )
    renderer = ManifestRenderer()
    imported: list[ImportedHost] = []
    for host_plan, host in zip(plan.hosts, inventory.hosts, strict=True):
        source = str(host_plan.state.manifest_path)
        observed = host_plan.observed
        if observed is None or observed.manifest is None:
            raise InputError(f"{host.name}: {source}: no such file (is this a control-plane node?)")
        carried = carried_vars(host.vars)
        item = extract_host(host.name, source, observed.manifest)
        read = companions.get(host.name, {})
        pod = parse.load_pod(observed.manifest)
        import_companions(item, pod, read.get)
        reproduce(item, observed.manifest, carried, renderer)
        annotation_check(item, pod)
        if host_plan.pod_drift:
            # The file is what kubelet will run and what import reads; say that it differs.
            item.notes.append(f"imported the file, but {host_plan.pod_drift}")
        imported.append(ImportedHost(host.name, carried, item))
    files = inventory_files(imported, group)
    if force:
        for name in _MANAGED:
            target = out / name
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()
    out.mkdir(parents=True, exist_ok=True)
    written = write_inventory(out, files)
    for item in (i.imported for i in imported):
        if item.not_reproduced:
            console.print(
                f"[yellow]{item.host}[/]: not reproduced (the first apply restarts it): "
                + ", ".join(item.not_reproduced)
            )
        for note in item.notes:
            console.print(f"[yellow]{item.host}[/]: note: {note}")
    console.print(
        f"imported {len(imported)} hosts into {out} ({len(written)} files) in "
        f"{time.monotonic() - started:.1f}s\nnext: deployer plan -i {out}"
    )
    return 0


def register(group: click.Group) -> None:
    """Attach the import command to the ``deployer`` group."""
    group.add_command(import_command)
