"""A connection without a hop: paramiko alone, resolved from ssh_config as Fabric resolves it.

Why not Fabric's ``Connection`` here: most hosts are reached directly, and for them Fabric adds
nothing paramiko does not do, but it costs every connection a layered configuration (Invoke's
``Config``: about 1,300 dictionary merges and copies per host) and every run its import
(Fabric, and Invoke's ``unittest.mock`` and ``asyncio``, 25-45 ms of start-up). Jump hosts and
ProxyCommand keep going through Fabric (:mod:`deployer.transport.connect`), which chains them.

What is resolved, in Fabric 3's order (``fabric/connection.py``, ``Connection.__init__`` and
``resolve_connect_kwargs``), so a host reaches the same place with the same identity either
way: ``HostName`` replaces the address; the user is the inventory's, else ``User``, else the
local user; the port the inventory's, else ``Port``, else 22; the key files are ours followed
by ``IdentityFile``. :func:`needs_hop` says when a host is not direct (ProxyJump or
ProxyCommand from the options or ssh_config).
"""

from __future__ import annotations

import getpass
from collections.abc import Mapping
from typing import Any

import paramiko

from deployer.transport.options import SshOptions

__all__ = ["DirectConnection", "needs_hop"]


def needs_hop(options: SshOptions, ssh_config: Mapping[str, Any]) -> bool:
    """True when the host is reached through a jump host or a ProxyCommand."""
    if options.proxy_command:
        return True
    if options.proxy_jump is not None:
        return options.proxy_jump.strip().lower() != "none"
    return "proxyjump" in ssh_config or "proxycommand" in ssh_config


def _local_user() -> str | None:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no such user in the password database
        return None


class DirectConnection:
    """One paramiko client to ``host``, with the attributes the transport reads of Fabric's.

    ``connect_kwargs`` are paramiko's ``SSHClient.connect`` arguments besides host, port, user
    and timeout; ``sock`` may be set in it before :meth:`open` (the caller's own TCP socket).
    """

    #: Never a jump host: see :func:`needs_hop`.
    gateway: None = None

    def __init__(
        self,
        address: str,
        *,
        user: str | None,
        port: int | None,
        ssh_config: Mapping[str, Any],
        connect_timeout: int,
        connect_kwargs: Mapping[str, Any],
    ) -> None:
        self.ssh_config = ssh_config
        self.host: str = str(ssh_config.get("hostname", address))
        self.user: str | None = user or ssh_config.get("user") or _local_user()
        self.port: int = port or int(ssh_config.get("port", 22))
        self.connect_timeout = connect_timeout
        kwargs = dict(connect_kwargs)
        keys = [*kwargs.pop("key_filename", []), *ssh_config.get("identityfile", [])]
        if keys:
            kwargs["key_filename"] = keys
        self.connect_kwargs: dict[str, Any] = kwargs
        self.client = paramiko.SSHClient()
        self.transport: paramiko.Transport | None = None
        self._sftp: paramiko.SFTPClient | None = None

    @property
    def is_connected(self) -> bool:
        """True while the SSH transport is up."""
        return self.transport is not None and self.transport.is_active()

    def open(self) -> None:
        """Connect and authenticate (no-op when connected).

        Raises:
            paramiko.SSHException, OSError: as ``SSHClient.connect`` does (the caller classifies).
        """
        if self.is_connected:
            return
        self.client.connect(
            self.host,
            port=self.port,
            username=self.user,
            timeout=self.connect_timeout,
            **self.connect_kwargs,
        )
        self.transport = self.client.get_transport()

    def sftp(self) -> paramiko.SFTPClient:
        """The connection's one SFTP session, opened on first use."""
        if self._sftp is None:
            self._sftp = self.client.open_sftp()
        return self._sftp

    def close(self) -> None:
        """Close the SFTP session and the connection; safe to call twice."""
        if self._sftp is not None:
            self._sftp.close()
            self._sftp = None
        self.client.close()
