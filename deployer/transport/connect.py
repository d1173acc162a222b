"""Open one connection to a host: ssh_config, jump hosts, host keys, bounded retries.

A host reached directly gets a :class:`~deployer.transport.direct.DirectConnection` (paramiko
alone); one behind a jump host or a ProxyCommand a Fabric ``Connection``, which chains hops.
Fabric is imported only then.

Why apart from :mod:`deployer.transport.ssh`: setting a connection up (which file, which hop,
which key, what a failure means) is a different job from using it, and the failure mapping
here is what turns every network problem into one :class:`UnreachableError` an operator can
act on (DESIGN.md exit code 5).
"""

from __future__ import annotations

import contextlib
import logging
import math
import socket
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias, cast

import paramiko

from deployer.errors import HostKeyError, UnreachableError
from deployer.model.host import Host
from deployer.transport.direct import DirectConnection, needs_hop
from deployer.transport.hostkeys import (
    KnownHostsPolicy,
    changed_key_error,
    known_hosts_name,
    load_known_hosts,
)
from deployer.transport.options import SshOptions, known_hosts_path

if TYPE_CHECKING:
    from fabric import Config, Connection

__all__ = ["Link", "close_chain", "connect", "connection_chain", "target_of"]

#: A connection to one host, direct or through Fabric's hops (same attributes read here).
Link: TypeAlias = "DirectConnection | Connection"

_log = logging.getLogger(__name__)


#: ssh_config files parsed in this run: path -> ((inode, size, mtime), parsed).
_SSH_CONFIGS: dict[str, tuple[tuple[int, int, int], paramiko.SSHConfig]] = {}
_SSH_CONFIGS_LOCK = threading.Lock()

#: AEAD ciphers first: paramiko prefers AES-CTR with HMAC-SHA2, whose MAC it checks in Python
#: for every packet received (constant-time compare, a loop over the digest's bytes). With
#: AES-GCM, cryptography authenticates in C: about 1.3 ms less CPU per connection measured
#: over 4 commands. Every other cipher stays, after these, for servers without GCM.
_AEAD_FIRST = ("aes128-gcm@openssh.com", "aes256-gcm@openssh.com")


def _transport(
    sock: socket.socket | paramiko.Channel, disabled_algorithms: dict[str, list[str]] | None = None
) -> paramiko.Transport:
    """The ``transport_factory`` of paramiko's connect: a Transport offering AES-GCM first."""
    transport = paramiko.Transport(sock, disabled_algorithms=disabled_algorithms)
    options = transport.get_security_options()
    offered = tuple(options.ciphers)
    options.ciphers = tuple(c for c in _AEAD_FIRST if c in offered) + tuple(
        c for c in offered if c not in _AEAD_FIRST
    )
    return transport


def _ssh_config(options: SshOptions) -> paramiko.SSHConfig:
    """The ssh_config file, parsed once per run and version of the file (as known_hosts)."""
    if options.ssh_config_path is None:
        return paramiko.SSHConfig()
    path = options.ssh_config_path.expanduser()
    try:
        status = path.stat()
    except OSError:
        return paramiko.SSHConfig()
    if not path.is_file():
        return paramiko.SSHConfig()
    version = (status.st_ino, status.st_size, status.st_mtime_ns)
    with _SSH_CONFIGS_LOCK:
        cached = _SSH_CONFIGS.get(str(path))
        if cached is None or cached[0] != version:
            # Read-only once parsed: Fabric only calls lookup(), which builds a new dict.
            cached = (version, paramiko.SSHConfig.from_path(str(path)))
            _SSH_CONFIGS[str(path)] = cached
        return cached[1]


def _connect_kwargs(options: SshOptions) -> dict[str, object]:
    """The ``SSHClient.connect`` arguments from the options (host, user and port aside)."""
    connect_kwargs: dict[str, object] = {
        "allow_agent": options.allow_agent,
        "look_for_keys": options.look_for_keys,
        "banner_timeout": options.connect_timeout_s,
        "auth_timeout": options.connect_timeout_s,
        "channel_timeout": options.connect_timeout_s,
        "transport_factory": _transport,
    }
    if options.key_files:
        connect_kwargs["key_filename"] = [str(p.expanduser()) for p in options.key_files]
    return connect_kwargs


def _fabric_config(options: SshOptions) -> Config:
    from fabric import Config

    connect_kwargs = _connect_kwargs(options)
    # An explicit SSHConfig object stops Fabric from reading any other file (/etc/ssh/...), so
    # what is honoured is exactly options.ssh_config_path; lazy=True skips Invoke's own files.
    return Config(
        ssh_config=_ssh_config(options),
        lazy=True,
        overrides={
            "timeouts": {"connect": math.ceil(options.connect_timeout_s)},
            "connect_kwargs": connect_kwargs,
        },
    )


def _gateway(options: SshOptions, config: Config) -> Connection | str | bool | None:
    """Return Fabric's ``gateway`` argument: our jump hosts win over ssh_config's."""
    from fabric import Connection

    if options.proxy_command:
        return options.proxy_command
    if options.proxy_jump is None:
        return None  # let Fabric read ProxyJump/ProxyCommand from ssh_config
    if options.proxy_jump.strip().lower() == "none":
        return False
    previous: Connection | None = None
    # ProxyJump "a,b": reach a, then b through a, then the target through b.
    for hop in (h.strip() for h in options.proxy_jump.split(",") if h.strip()):
        previous = Connection(hop, config=config.clone(), gateway=previous)
    return previous


def connection_chain(connection: Link) -> list[Link]:
    """Return ``connection`` followed by its jump hosts, nearest first."""
    chain: list[Link] = [connection]
    gateway: Any = connection.gateway
    # A hop is a Fabric Connection; a ProxyCommand (str), False or None ends the chain.
    while gateway is not None and not isinstance(gateway, str | bool):
        chain.append(gateway)
        gateway = gateway.gateway
    return chain


def target_of(connection: Link) -> str:
    """Return ``user@host:port`` for messages."""
    return f"{connection.user}@{connection.host}:{connection.port}"


def _build(host: Host, options: SshOptions, lock: threading.Lock) -> tuple[Link, Path]:
    explicit_port = host.port != 22 or "ansible_port" in host.vars
    ssh_config = _ssh_config(options).lookup(host.address)
    connection: Link
    if needs_hop(options, ssh_config):
        from fabric import Connection

        config = _fabric_config(options)
        connection = Connection(
            host.address,
            user=host.user,
            port=host.port if explicit_port else None,
            config=config,
            gateway=_gateway(options, config),
            connect_timeout=math.ceil(options.connect_timeout_s),
        )
    else:
        connection = DirectConnection(
            host.address,
            user=host.user,
            port=host.port if explicit_port else None,
            ssh_config=ssh_config,
            connect_timeout=math.ceil(options.connect_timeout_s),
            connect_kwargs=_connect_kwargs(options),
        )
    path = known_hosts_path(options, connection.ssh_config)
    # Fabric installs AutoAddPolicy on every client, jump hosts included: replace it everywhere.
    for link in connection_chain(connection):
        load_known_hosts(link.client, path)
        link.client.set_missing_host_key_policy(
            KnownHostsPolicy(
                host=host.name, path=path, accept_new=options.accept_new_host_keys, lock=lock
            )
        )
    return connection, path


def close_chain(connection: Link) -> None:
    """Close a connection, its jump hosts and the socket :func:`_dial` made; never raises."""
    for link in connection_chain(connection):
        try:
            link.close()
        except Exception:  # closing must not mask the error being reported
            _log.debug("closing %s failed", target_of(link), exc_info=True)
        sock = link.connect_kwargs.pop("sock", None)
        if isinstance(sock, socket.socket):
            sock.close()


def _failed_link(connection: Link) -> Link:
    """Return the hop that failed: the farthest jump host not connected, else the target."""
    for link in reversed(connection_chain(connection)[1:]):
        if not link.is_connected:
            return link
    return connection


def _port_of(connection: Link, hostname: str) -> int:
    for link in connection_chain(connection):
        if link.host == hostname:
            return int(link.port)
    return int(connection.port)


def _classify(
    err: BaseException, host: Host, connection: Link, path: Path, options: SshOptions
) -> tuple[UnreachableError, bool]:
    """Map a set-up failure to (error, worth retrying); call before closing the chain."""
    failed = _failed_link(connection)
    where = target_of(failed)
    if failed is not connection:
        where += f" (jump host for {target_of(connection)})"
    if isinstance(err, HostKeyError):
        return err, False
    if isinstance(err, paramiko.BadHostKeyException):
        name = known_hosts_name(err.hostname, _port_of(connection, err.hostname))
        return (
            changed_key_error(
                host=host.name, name=name, offered=err.key, expected=err.expected_key, path=path
            ),
            False,
        )
    if isinstance(err, paramiko.AuthenticationException) or (
        type(err) is paramiko.SSHException and "authentication" in str(err).lower()
    ):
        return (
            UnreachableError(
                f"SSH authentication failed for {where}: {err}",
                host=host.name,
                hint="check ansible_user and ansible_ssh_private_key_file, that the key is in "
                "ssh-agent or unencrypted, and that it is in the host's authorized_keys",
            ),
            False,
        )
    if isinstance(err, socket.gaierror):
        return (
            UnreachableError(
                f"cannot resolve {failed.host}: {err.strerror}",
                host=host.name,
                hint="check ansible_host in the inventory, HostName in ~/.ssh/config and DNS",
            ),
            False,
        )
    if isinstance(err, TimeoutError | socket.timeout):
        cause = f"timed out after {options.connect_timeout_s:g}s connecting to {where}"
        hint = "check that the host is up, the port is right and no firewall drops SSH"
    elif isinstance(err, paramiko.ssh_exception.NoValidConnectionsError | ConnectionRefusedError):
        cause = f"connection refused by {where}"
        hint = "check that sshd runs on that address and port (ansible_port, Port in ssh_config)"
    elif isinstance(err, paramiko.ChannelException):
        cause = f"the jump host could not open a connection to {where}: {err.text}"
        hint = "check ProxyJump and that the jump host can reach the target"
    else:
        cause = f"SSH connection to {where} failed: {type(err).__name__}: {err}"
        hint = "run with -vvv for paramiko's log"
    return UnreachableError(cause, host=host.name, hint=hint), True


def _dial(connection: Link, options: SshOptions) -> None:
    """Open the chain's one TCP socket ourselves, with Nagle's algorithm off from the start.

    Why: paramiko leaves Nagle on, and each small request then waits for the peer's delayed
    ACK. Measured on loopback: a connection took 80 ms with it and 30-40 ms without, and
    opening a session 38 ms against 0.5 ms. Jump hosts reuse that socket through channels; a
    ProxyCommand has no socket to tune.
    """
    first = connection_chain(connection)[-1]
    if first.gateway or "sock" in first.connect_kwargs:
        return
    # An ASCII name as bytes: getaddrinfo encodes a str with the 'idna' codec, whose first use
    # imports encodings.idna and stringprep (~9 ms of start-up, in the first connection's way).
    name = str(first.host)
    # (typeshed says str; create_connection hands the name to getaddrinfo, which takes bytes.)
    address = cast(str, name.encode("ascii")) if name.isascii() else name
    sock = socket.create_connection((address, int(first.port)), timeout=options.connect_timeout_s)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    first.connect_kwargs["sock"] = sock


def _no_delay(connection: Link) -> None:
    """Make sure Nagle's algorithm is off on every TCP socket of the chain (see :func:`_dial`)."""
    for link in connection_chain(connection):
        transport = link.transport
        sock = getattr(transport, "sock", None) if transport is not None else None
        if isinstance(sock, socket.socket):
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def connect(
    host: Host, options: SshOptions, *, known_hosts_lock: threading.Lock | None = None
) -> Link:
    """Open a connection to ``host``, retrying set-up (never commands) with back-off.

    Authentication, host key and DNS failures are not retried: they will not change by
    waiting. Refused connections, timeouts and broken banners are.

    Raises:
        HostKeyError: unknown (without the opt-in) or changed host key.
        UnreachableError: every other set-up failure, with a one-line cause and a hint.
    """
    lock = known_hosts_lock or threading.Lock()
    last: UnreachableError | None = None
    for attempt in range(options.retries):
        connection, path = _build(host, options, lock)
        try:
            _dial(connection, options)
            connection.open()
        except Exception as err:  # classified below; anything else is a bug, re-raised
            if not isinstance(err, OSError | EOFError | paramiko.SSHException | HostKeyError):
                close_chain(connection)
                raise
            last, retry = _classify(err, host, connection, path, options)
            close_chain(connection)
            if not retry:
                raise last from err
            if attempt + 1 < options.retries:
                delay = options.retry_backoff_s * (2**attempt)
                _log.debug("[%s] %s; retrying in %.1fs", host.name, last.message, delay)
                time.sleep(delay)
            continue
        _no_delay(connection)
        _log.debug("[%s] connected to %s", host.name, target_of(connection))
        return connection
    if last is None:  # unreachable: SshOptions insists on retries >= 1
        raise UnreachableError("no connection attempt was made", host=host.name)
    raise last
