"""Offline commands: ``validate``, ``render``, ``inventory show``; they open no connection."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

import click

from deployer.cli.options import common_inventory_options, limit_option, output_options
from deployer.errors import InputProblem
from deployer.inventory import explain_host, load_inventory, select_hosts
from deployer.offline import prepare
from deployer.report.secret_values import ValueMasker, secret_values

__all__ = ["register"]


def _show_warnings(warnings: tuple[InputProblem, ...]) -> None:
    for warning in warnings:
        click.echo(f"warning: {warning}", err=True)


@click.command()
@common_inventory_options
@limit_option
@output_options
def validate(
    inventories: tuple[str, ...],
    extra_vars: tuple[str, ...],
    limit: str | None,
    verbose: int,
    no_color: bool,
) -> int:
    """Check inventory, flags and template offline; touch no host.

    Every problem of every selected host is listed (file, line, host, flag and a hint), not only
    the first. Exit 0 when valid, 6 when not. Warnings (deprecated flags) do not fail.
    """
    prepared = prepare(inventories, extra_vars=extra_vars, limit=limit)
    _show_warnings(prepared.warnings)
    for state in prepared.states:
        click.echo(
            f"{state.host.name}: ok (kube-apiserver {state.kubernetes_version}, "
            f"{len(state.flags)} flags)"
        )
    click.echo(f"{len(prepared.states)} host(s) valid")
    return 0


@click.command()
@common_inventory_options
@limit_option
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Write DIR/<host>/kube-apiserver.yaml; without it one selected host prints to stdout.",
)
@output_options
def render(
    inventories: tuple[str, ...],
    extra_vars: tuple[str, ...],
    limit: str | None,
    out_dir: str | None,
    verbose: int,
    no_color: bool,
) -> int:
    """Render each selected host's kube-apiserver.yaml offline (validated first).

    With one host selected and no --out, the manifest goes to stdout, ready to diff.
    """
    prepared = prepare(inventories, extra_vars=extra_vars, limit=limit)
    _show_warnings(prepared.warnings)
    if out_dir is None:
        if len(prepared.manifests) != 1:
            raise click.UsageError(
                f"{len(prepared.manifests)} hosts selected: pass --out DIR, or --limit one host"
            )
        (manifest,) = prepared.manifests.values()
        click.echo(manifest.content.decode(), nl=False)
        return 0
    for name, manifest in prepared.manifests.items():
        target = Path(out_dir) / name / "kube-apiserver.yaml"
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.tmp")
        tmp.write_bytes(manifest.content)
        os.replace(tmp, target)
        click.echo(f"{name}: {target}")
    return 0


@click.group()
def inventory() -> None:
    """Inspect inventories: merged variables and where each value came from."""


@inventory.command("show")
@common_inventory_options
@click.argument("host_name", metavar="HOST")
@click.option("--explain", is_flag=True, help="Show the file (and line) each value came from.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of YAML-like text.")
def inventory_show(
    inventories: tuple[str, ...],
    extra_vars: tuple[str, ...],
    host_name: str,
    explain: bool,
    as_json: bool,
) -> int:
    """Print HOST's merged variables after the documented precedence."""
    inv = select_hosts(load_inventory(inventories, extra_vars), None)
    host = inv[host_name]
    rows = explain_host(host)
    flags, env = host.vars.get("apiserver_flags"), host.vars.get("apiserver_extra_env")
    mask = ValueMasker(
        secret_values(
            flags=flags if isinstance(flags, Mapping) else None,
            env=env if isinstance(env, Mapping) else None,
            host_vars=host.vars,
        )
    )
    if as_json:
        payload = {
            key: {"value": _plain(value), "origin": str(origin) if origin else None}
            if explain
            else _plain(value)
            for key, value, origin in rows
        }
        click.echo(mask(json.dumps(payload, indent=2, sort_keys=False)))
        return 0
    click.echo(f"{host.name} (groups: {', '.join(sorted(host.groups))})")
    width = max((len(key) for key, _, _ in rows), default=0)
    for key, value, origin in rows:
        shown = value if isinstance(value, str) else json.dumps(_plain(value))
        line = f"  {key.ljust(width)}  {shown}"
        if explain:
            line += f"    # {origin}" if origin else "    # default"
        click.echo(mask(line))
    return 0


def _plain(value: object) -> object:
    """Render values for display; secrets stay masked because ``Secret.__str__`` masks."""
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return str(value)


def register(group: click.Group) -> None:
    """Attach the offline commands to the top-level group."""
    group.add_command(validate)
    group.add_command(render)
    group.add_command(inventory)
