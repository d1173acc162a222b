"""DirectConnection resolves a host from ssh_config in Fabric 3's order (no network here).

The order is Fabric's (``fabric/connection.py``: ``Connection.__init__`` and
``resolve_connect_kwargs``): the end-to-end proof against real sshd is in
``tests/integration/transport/test_ssh_connect.py``.
"""

from __future__ import annotations

import getpass

import paramiko
import pytest

from deployer.transport.direct import DirectConnection, needs_hop
from deployer.transport.options import SshOptions

CONFIG = """
Host cp-alias
    HostName 10.0.0.7
    Port 2200
    User ops
    IdentityFile /keys/from-config
Host cp-jump
    ProxyJump bastion
Host cp-command
    ProxyCommand nc %h %p
"""


def _lookup(name: str) -> dict[str, object]:
    return dict(paramiko.SSHConfig.from_text(CONFIG).lookup(name))


def _direct(name: str, *, user: str | None = None, port: int | None = None) -> DirectConnection:
    return DirectConnection(
        name,
        user=user,
        port=port,
        ssh_config=_lookup(name),
        connect_timeout=10,
        connect_kwargs={"key_filename": ["/keys/from-inventory"], "allow_agent": False},
    )


def test_ssh_config_fills_what_the_inventory_leaves_out() -> None:
    link = _direct("cp-alias")
    assert (link.host, link.port, link.user) == ("10.0.0.7", 2200, "ops")
    # The inventory's keys first, then IdentityFile, as Fabric merges them.
    assert link.connect_kwargs["key_filename"] == ["/keys/from-inventory", "/keys/from-config"]
    assert link.connect_kwargs["allow_agent"] is False


def test_the_inventory_wins_over_ssh_config() -> None:
    link = _direct("cp-alias", user="root", port=2222)
    assert (link.host, link.port, link.user) == ("10.0.0.7", 2222, "root")


def test_without_ssh_config_the_address_port_22_and_the_local_user() -> None:
    link = _direct("192.0.2.5")
    assert (link.host, link.port, link.user) == ("192.0.2.5", 22, getpass.getuser())
    assert link.gateway is None
    assert not link.is_connected


@pytest.mark.parametrize(
    ("name", "options", "hop"),
    [
        ("cp-alias", SshOptions(), False),
        ("cp-jump", SshOptions(), True),
        ("cp-command", SshOptions(), True),
        ("cp-jump", SshOptions(proxy_jump="none"), False),  # "none" disables ssh_config's
        ("cp-alias", SshOptions(proxy_jump="root@bastion:2222"), True),
        ("cp-alias", SshOptions(proxy_command="nc %h %p"), True),
    ],
)
def test_a_hop_from_the_options_or_ssh_config_goes_through_fabric(
    name: str, options: SshOptions, hop: bool
) -> None:
    assert needs_hop(options, _lookup(name)) is hop


@pytest.mark.parametrize(
    ("name", "user", "port"),
    [("cp-alias", None, None), ("cp-alias", "root", 2222), ("192.0.2.5", None, None)],
)
def test_resolution_is_fabrics_own(name: str, user: str | None, port: int | None) -> None:
    """Fabric itself is the oracle: the same inputs give the same place and identity."""
    from fabric import Config, Connection

    config = Config(
        ssh_config=paramiko.SSHConfig.from_text(CONFIG),
        lazy=True,
        overrides={"connect_kwargs": {"key_filename": ["/keys/from-inventory"]}},
    )
    fabric = Connection(name, user=user, port=port, config=config)
    direct = _direct(name, user=user, port=port)
    assert (direct.host, direct.port, direct.user) == (fabric.host, fabric.port, fabric.user)
    assert direct.connect_kwargs["key_filename"] == fabric.connect_kwargs["key_filename"]
