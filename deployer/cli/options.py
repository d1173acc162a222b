"""Options shared by several commands, declared once so every command spells them the same."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from typing import Any, TypeVar

import click

__all__ = ["common_inventory_options", "limit_option", "output_options"]

F = TypeVar("F", bound=Callable[..., Any])


def _inventory_setting(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    """Record --inventory-backend/--vault-password-file/--vault-id for the inventory reader."""
    from deployer.inventory.settings import current_settings, use_settings

    settings = current_settings()
    if param.name == "inventory_backend":
        settings = dataclasses.replace(settings, backend=value)
    elif param.name == "vault_password_files":
        vault = dataclasses.replace(settings.vault, password_files=tuple(value))
        settings = dataclasses.replace(settings, vault=vault)
    else:
        vault = dataclasses.replace(settings.vault, vault_ids=tuple(value))
        settings = dataclasses.replace(settings, vault=vault)
    use_settings(settings)
    return value


def common_inventory_options(func: F) -> F:
    """``-i`` and ``-e`` (repeatable) as Ansible spells them, the vault and backend options."""
    func = click.option(
        "--inventory-backend",
        type=click.Choice(["builtin", "ansible"]),
        default="builtin",
        expose_value=False,
        is_eager=True,
        callback=_inventory_setting,
        help="builtin (default): deployer reads the files; ansible: through "
        "'ansible-inventory --list' (dynamic inventories and plugins always are).",
    )(func)
    func = click.option(
        "--vault-id",
        "vault_ids",
        multiple=True,
        metavar="ID@SOURCE",
        expose_value=False,
        is_eager=True,
        callback=_inventory_setting,
        help="Passed to ansible-vault when a vault value deployer needs must be decrypted.",
    )(func)
    func = click.option(
        "--vault-password-file",
        "vault_password_files",
        multiple=True,
        metavar="FILE",
        expose_value=False,
        is_eager=True,
        callback=_inventory_setting,
        help="Passed to ansible-vault when a vault value deployer needs must be decrypted.",
    )(func)
    func = click.option(
        "-e",
        "--extra-vars",
        "extra_vars",
        multiple=True,
        metavar="K=V|@FILE",
        help="Extra variables, highest precedence: KEY=VALUE, apiserver_flags.FLAG=VALUE, "
        "or @file.yml. May repeat.",
    )(func)
    func = click.option(
        "-i",
        "--inventory",
        "inventories",
        multiple=True,
        required=True,
        metavar="PATH",
        type=click.Path(),
        help="Inventory file (YAML or INI) or directory; group_vars/ and host_vars/ beside it "
        "are read. May repeat.",
    )(func)
    return func


def limit_option(func: F) -> F:
    """``--limit`` with Ansible's patterns."""
    return click.option(
        "-l",
        "--limit",
        metavar="PATTERN",
        default=None,
        help="Select hosts: name, group, glob (cp*), all:!cp3, group1:&group2.",
    )(func)


def _configure_logging(ctx: click.Context, param: click.Parameter, verbose: int) -> int:
    """-v: deployer's info; -vv: debug; -vvv: paramiko's debug and the request log too."""
    level = {0: logging.WARNING, 1: logging.INFO}.get(verbose, logging.DEBUG)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", force=True)
    # paramiko logs tracebacks at ERROR for refused banners; our errors already say it.
    logging.getLogger("paramiko").setLevel(logging.DEBUG if verbose >= 3 else logging.CRITICAL)
    # The kubectl --v=8 style request log (transport/requestlog.py) is for -vvv only.
    logging.getLogger("deployer.requests").setLevel(
        logging.DEBUG if verbose >= 3 else logging.WARNING
    )
    return verbose


def output_options(func: F) -> F:
    """``-v`` and ``--no-color``."""
    func = click.option(
        "--no-color", is_flag=True, default=False, help="Plain output, no colours."
    )(func)
    func = click.option(
        "-v",
        "--verbose",
        count=True,
        callback=_configure_logging,
        help="More detail: -v, -vv, -vvv (diagnostic logging; -vvv: every request and command).",
    )(func)
    return func
