"""``deployer lab up|down|status|fault``: the embedded lab on the command line.

A thin shell over :mod:`deployer.lab.control`: options, output, nothing else.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import click

from deployer.desired import DEFAULT_KUBERNETES_VERSION, DEFAULT_PATCH_RELEASES
from deployer.errors import ExitCode
from deployer.lab.control import LabOptions, lab_down, lab_fault, lab_status, lab_up
from deployer.lab.faults import FAULTS
from deployer.lab.layout import FIRST_ADDRESS
from deployer.lab.status import LabStatus

__all__ = ["register"]

_DIR = click.option(
    "--dir",
    "lab_dir",
    default=".lab",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="The lab folder (PKI, node folders, inventory.yml, lab.json).",
)


def _print_status(status: LabStatus) -> None:
    for node in status.nodes:
        state = "ready" if node.is_ready else "NOT READY"
        click.echo(f"[{node.name}] {node.ip}  {state}")
        click.echo(
            f"    sshd {'up' if node.is_ssh_up else 'down'}  "
            f"etcd {'healthy' if node.is_etcd_healthy else 'unhealthy'}  "
            f"/readyz {node.readyz_status or 'no answer'}"
        )
        for p in node.processes:
            extra = (
                f" id={p.container_id[:13]} restarts={p.restart_count}" if p.container_id else ""
            )
            click.echo(
                f"    {p.role:<26} pid {p.pid:<8} {'running' if p.is_running else 'stopped'}{extra}"
            )
        if node.faults:
            click.echo(f"    faults: {', '.join(node.faults)}")


@click.group("lab")
def lab() -> None:
    """Simulated control-plane nodes on loopback, to try deployer and to test it.

    \b
    Each node lab-cp<i> (127.0.10.<i>) has a real OpenSSH sshd on port 2222, etcd, a kubelet
    stand-in running a kube-apiserver stand-in from /etc/kubernetes/manifests, and crictl.
    """


def _supported_version(value: str) -> str:
    """Refuse an unsupported version before anything is created (a usage error: exit 6)."""
    match = re.match(r"^v?(?P<minor>1\.\d+)(?:\.\d+)?$", value.strip())
    if not match or match["minor"] not in DEFAULT_PATCH_RELEASES:
        supported = ", ".join(DEFAULT_PATCH_RELEASES)
        raise click.BadParameter(f"unsupported version {value!r}; supported: {supported}")
    return value


@lab.command("up")
@click.option("--nodes", default=3, show_default=True, type=click.IntRange(1, 200))
@_DIR
@click.option(
    "--version",
    "kubernetes_version",
    default=DEFAULT_KUBERNETES_VERSION,
    show_default=True,
    help="Kubernetes version of the first manifests (1.31 or 1.31.4).",
    callback=lambda ctx, param, value: _supported_version(value),
)
@click.option(
    "--first-address",
    default=FIRST_ADDRESS,
    show_default=True,
    help="Address of lab-cp1; node i gets the i-th address after it (127.0.0.0/8 only).",
)
@click.option(
    "--timeout", "timeout_s", default=60.0, show_default=True, help="Seconds to wait for /readyz."
)
@click.option(
    "--ready-delay",
    default=1.0,
    show_default=True,
    envvar="DEPLOYER_LAB_READY_DELAY_S",
    help="Seconds an apiserver takes to become ready (env DEPLOYER_LAB_READY_DELAY_S).",
)
@click.option(
    "--slow-seconds",
    default=None,
    type=float,
    envvar="DEPLOYER_LAB_SLOW_S",
    help="Readiness delay under the apiserver-slow fault (default 30; env DEPLOYER_LAB_SLOW_S).",
)
@click.option(
    "--time-scale",
    default=0.1,
    show_default=True,
    envvar="DEPLOYER_LAB_TIME_SCALE",
    help="Multiplies kubelet's back-off and grace periods (env DEPLOYER_LAB_TIME_SCALE).",
)
@click.option(
    "--etcd",
    type=click.Choice(["auto", "real", "standin"]),
    default="auto",
    show_default=True,
    help="The system's etcd, or the lab's minimal stand-in.",
)
def up(
    nodes: int,
    lab_dir: Path,
    kubernetes_version: str,
    first_address: str,
    timeout_s: float,
    ready_delay: float,
    slow_seconds: float | None,
    time_scale: float,
    etcd: str,
) -> None:
    """Create the lab, start every node and wait until each apiserver is ready.

    Running it on a lab that is up only reports its status (exit 5 if a node is not ready).
    """
    options = LabOptions(
        root=lab_dir,
        nodes=nodes,
        first_address=first_address,
        kubernetes_version=kubernetes_version,
        ready_timeout_s=timeout_s,
        ready_delay_s=ready_delay,
        slow_s=slow_seconds,
        time_scale=time_scale,
        etcd=etcd,
    )
    status = lab_up(options, progress=lambda line: click.echo(f"[lab] {line}", err=True))
    if status.was_already_up:
        click.echo(f"the lab at {status.root} is already up; nothing changed")
    _print_status(status)
    click.echo(f"\ninventory: {status.inventory}\nnext: deployer plan -i {status.inventory}")
    if not status.is_ready:  # only possible for a lab that was up already (faults, crashes)
        click.echo(
            "some node is not ready: `deployer lab fault NODE FAULT --clear`, or "
            f"`deployer lab down --dir {lab_dir}` and up again",
            err=True,
        )
        raise click.exceptions.Exit(int(ExitCode.UNREACHABLE))


@lab.command("status")
@_DIR
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def status(lab_dir: Path, as_json: bool) -> None:
    """Show every node with its processes, addresses and health.

    Exits 0 when every node is ready, 5 when some node does not answer or is not ready.
    """
    result = lab_status(lab_dir)
    if as_json:
        click.echo(json.dumps(result.to_json(), indent=2))
    else:
        _print_status(result)
    if not result.is_ready:
        raise click.exceptions.Exit(int(ExitCode.UNREACHABLE))


@lab.command("down")
@_DIR
@click.option("--purge", is_flag=True, help="Also delete the lab folder.")
def down(lab_dir: Path, purge: bool) -> None:
    """Stop exactly the processes the lab started (by pid and start time)."""
    count = lab_down(
        lab_dir, purge=purge, progress=lambda line: click.echo(f"[lab] {line}", err=True)
    )
    click.echo(f"stopped {count} process(es); nothing of the lab is running")


@lab.command("fault")
@_DIR
@click.argument("node")
@click.argument("fault", type=click.Choice(FAULTS))
@click.option("--clear", is_flag=True, help="Switch the fault off (restarts a stopped process).")
def fault(lab_dir: Path, node: str, fault: str, clear: bool) -> None:
    """Switch a fault on NODE on (or off with --clear).

    \b
    apiserver-crash  the apiserver exits at its next start
    apiserver-slow   the apiserver becomes ready only after 30 s (at its next start)
    readyz-fail      /readyz fails from now on
    kubelet-stop     kubelet stops (containers keep running)
    sshd-stop        sshd stops
    etcd-stop        etcd stops (/readyz then fails its etcd check)
    """
    switches = lab_fault(lab_dir, node, fault, clear=clear)
    active = [name for name, on in switches.items() if on]
    click.echo(
        f"[{node}] {fault} {'cleared' if clear else 'on'}; active: {', '.join(active) or 'none'}"
    )


def register(group: click.Group) -> None:
    """Attach ``lab`` to the ``deployer`` group."""
    group.add_command(lab)
