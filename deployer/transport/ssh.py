"""The SSH executor: one connection per host, reused by every step of a run.

Commands go over paramiko's ``exec`` channels (no pty, stdout and stderr apart, the real exit
code); files over SFTP, or through ``sudo`` when ``ansible_become`` asks for a user the login
user is not; HTTPS probes through a ``direct-tcpip`` channel, so they leave from the host that
is being changed (DESIGN.md rule 5). Fabric's ``Connection.run`` is not used: its pty, watcher
and thread machinery buys nothing for argv commands and costs time on every call.
"""

from __future__ import annotations

import contextlib
import logging
import select
import threading
import time
from collections.abc import Callable, Collection, Sequence
from pathlib import PurePosixPath
from types import TracebackType

import paramiko

from deployer.errors import CommandFailed, TransportError, UnreachableError
from deployer.model.host import Host
from deployer.model.report import CommandResult
from deployer.transport import requestlog
from deployer.transport.become import Become, Escalated, SudoExchange
from deployer.transport.command import check_argv, command_line
from deployer.transport.connect import Link, close_chain, connect
from deployer.transport.https import HttpResult, TlsProbeError, https_get_over
from deployer.transport.options import SshOptions, options_from_host
from deployer.transport.scripts import (
    ABSENT_EXIT_CODE,
    check_remote_path,
    finish_put_argv,
    read_argv,
    temp_path_for,
)

__all__ = ["TIMEOUT_EXIT_CODE", "SshTransport"]

_log = logging.getLogger(__name__)

#: Exit code reported when a command outlives its timeout (as coreutils' ``timeout`` does).
TIMEOUT_EXIT_CODE = 124


class SshTransport:
    """:class:`deployer.transport.base.Transport` over SSH (paramiko; Fabric for jump hosts).

    ``options`` are the run-wide defaults; the host's ``ansible_*`` variables refine them
    (:func:`~deployer.transport.options.options_from_host`), so an invalid variable raises
    :class:`~deployer.errors.InventoryError` here, before any connection.

    The connection opens on first use (or :meth:`open`) and stays open until :meth:`close`.
    Methods may be called from several threads: channels are independent, and the SFTP
    session is used under a lock.
    """

    def __init__(
        self,
        host: Host,
        options: SshOptions | None = None,
        *,
        known_hosts_lock: threading.Lock | None = None,
    ) -> None:
        self.host = host
        #: The run-wide options refined with this host's ``ansible_*`` variables.
        self.options = options_from_host(host, options)
        self._known_hosts_lock = known_hosts_lock
        self._lock = threading.RLock()
        self._connection: Link | None = None
        self._sftp: paramiko.SFTPClient | None = None
        self._become = Become(self.options, host.name)

    # -- connection -------------------------------------------------------------------------

    def open(self) -> None:
        """Connect now (idempotent).

        Raises:
            HostKeyError: unknown or changed host key.
            UnreachableError: any other set-up failure.
        """
        with self._lock:
            if self._connection is None:
                self._connection = connect(
                    self.host, self.options, known_hosts_lock=self._known_hosts_lock
                )

    def close(self) -> None:
        """Close the connection and its jump hosts; safe to call twice."""
        with self._lock:
            connection, self._connection, self._sftp = self._connection, None, None
        if connection is not None:
            close_chain(connection)

    def reconnect(self) -> None:
        """Drop the (possibly dead) connection and open a new one, for recovery steps.

        Raises:
            HostKeyError: the host key changed meanwhile.
            UnreachableError: the host cannot be reached now.
        """
        self.close()
        self.open()

    def __enter__(self) -> SshTransport:
        self.open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _paramiko(self) -> paramiko.Transport:
        self.open()
        connection = self._connection
        transport: paramiko.Transport | None = (
            connection.transport if connection is not None else None
        )
        if transport is None or not transport.is_active():
            raise UnreachableError(
                "the SSH connection was lost", host=self.host.name, hint="run again"
            )
        return transport

    def _sftp_client(self) -> paramiko.SFTPClient:
        with self._lock:
            if self._sftp is None:
                self._paramiko()
                assert self._connection is not None  # noqa: S101 - set by _paramiko()
                self._sftp = self._connection.sftp()
            return self._sftp

    @property
    def is_open(self) -> bool:
        """True while a connection is held (it may still have died since its last use)."""
        return self._connection is not None

    @property
    def login_user(self) -> str:
        """The user the connection logs in as (inventory, then ssh_config, then local user)."""
        self.open()
        assert self._connection is not None  # noqa: S101 - set by open()
        return str(self._connection.user)

    # -- privilege --------------------------------------------------------------------------

    def _escalates(self, sudo: bool) -> bool:
        return self._become.escalates(sudo, self.login_user)

    def _wrap(self, argv: tuple[str, ...], sudo: bool, payload: bytes | None) -> Escalated:
        """Return the command to send and, under sudo, the exchange that drives its stdin."""
        return self._become.wrap(argv, sudo=sudo, login_user=self.login_user, payload=payload)

    # -- commands ---------------------------------------------------------------------------

    def _exec(
        self,
        command: str,
        stdin: bytes | None,
        timeout_s: float,
        on_stdout: Callable[[bytes], None] | None = None,
        exchange: SudoExchange | None = None,
    ) -> tuple[int, bytes, bytes]:
        """Run one command line; return (exit code, stdout, stderr), -1 when none came back.

        Without ``exchange`` stdin is sent at once and closed. With one (a sudo command), stdin
        stays open and only what the exchange decides from the command's output is sent: the
        password after sudo's own prompt, the payload after the command announced its start.

        A command with nothing for its stdin is run as ``exec COMMAND </dev/null`` (``exec``: the
        login shell would otherwise fork for the redirection and stay in between), and no EOF
        is sent on its channel. Why: paramiko builds the EOF under the channel's lock but sends it
        after releasing it, so for a command that ends at once (``test``, ``sha256sum``) its
        reading thread may answer the server's CLOSE first. OpenSSH then receives an EOF for a
        channel it has freed and drops the whole connection ("ieof packet referred to
        nonexistent channel"), with every other channel on it: seen about once in 1,500 hosts
        of a 30-host ``bench/floor.py`` under load. sshd closes a session's channel when its
        command exits, without waiting for the client's EOF.

        Raises:
            UnreachableError: the connection failed.
            TimeoutError: the command outlived ``timeout_s`` (its channel is closed).
        """
        transport = self._paramiko()
        deadline = time.monotonic() + timeout_s
        try:
            channel = transport.open_session(timeout=self.options.connect_timeout_s)
        except (paramiko.SSHException, EOFError, OSError) as err:
            raise UnreachableError(
                f"cannot open a session: {err}", host=self.host.name, hint="run again"
            ) from err
        out, err_out = bytearray(), bytearray()
        quiet_stdin = exchange is None and not stdin
        try:
            # "exec": a shell forks for a command with a redirection, and would stay in between.
            channel.exec_command(f"exec {command} </dev/null" if quiet_stdin else command)
            if exchange is None and stdin:
                channel.sendall(stdin)
                channel.shutdown_write()  # a command given input reads it to the end first
            while not (channel.eof_received or channel.closed):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(command)
                # Short slices: a signal delivered to another thread is seen here promptly.
                select.select([channel], [], [], min(left, 0.5))
                _drain(channel, out, err_out, on_stdout, exchange)
            _drain(channel, out, err_out, on_stdout, exchange)
            if not channel.status_event.wait(max(deadline - time.monotonic(), 0.05)):
                raise TimeoutError(command)
            code = channel.recv_exit_status()
        except (paramiko.SSHException, EOFError, OSError) as err:
            if isinstance(err, TimeoutError):
                raise
            raise UnreachableError(
                f"the SSH connection failed during a command: {err}", host=self.host.name
            ) from err
        finally:
            channel.close()
        if code == -1 and not transport.is_active():
            raise UnreachableError("the SSH connection was lost", host=self.host.name)
        if exchange is not None:
            return code, bytes(out), exchange.stderr()
        return code, bytes(out), bytes(err_out)

    def run(
        self,
        argv: Sequence[str],
        *,
        sudo: bool = False,
        stdin: bytes | None = None,
        ok_exit_codes: Collection[int] = (0,),
        timeout_s: float | None = None,
    ) -> CommandResult:
        """Run ``argv`` on the host; see :meth:`deployer.transport.base.Transport.run`.

        ``sudo=True`` goes through sudo only when the inventory sets ``ansible_become`` and the
        login user is not ``ansible_become_user``; otherwise the command runs as the login user.
        ``timeout_s`` defaults to ``options.command_timeout_s``. A command that outlives it is
        reported as exit code :data:`TIMEOUT_EXIT_CODE`; its channel is closed (the remote
        process may linger until it next writes).

        Raises:
            CommandFailed: the exit code is not in ``ok_exit_codes``.
            UnreachableError: the connection failed, or sudo needs a password nobody gave.
        """
        return self._run(argv, sudo, stdin, ok_exit_codes, timeout_s, None)

    def run_streaming(
        self,
        argv: Sequence[str],
        on_stdout: Callable[[bytes], None],
        *,
        sudo: bool = False,
        timeout_s: float = 60.0,
    ) -> CommandResult:
        """:meth:`run`, handing each chunk of stdout to ``on_stdout`` as it arrives."""
        return self._run(argv, sudo, None, (0,), timeout_s, on_stdout)

    def _run(
        self,
        argv: Sequence[str],
        sudo: bool,
        stdin: bytes | None,
        ok_exit_codes: Collection[int],
        timeout_s: float | None,
        on_stdout: Callable[[bytes], None] | None,
    ) -> CommandResult:
        items = check_argv(argv)
        limit = self.options.command_timeout_s if timeout_s is None else timeout_s
        escalated = self._wrap(items, sudo, stdin)
        started = time.monotonic()
        try:
            code, out, err = self._exec(
                command_line(escalated.argv), stdin, limit, on_stdout, escalated.exchange
            )
        except TimeoutError:
            code, out, err = TIMEOUT_EXIT_CODE, b"", f"timed out after {limit:g}s".encode()
        result = CommandResult(
            host=self.host.name,
            argv=items,
            exit_code=code,
            stdout=out.decode("utf-8", "replace"),
            stderr=err.decode("utf-8", "replace"),
            duration_s=time.monotonic() - started,
        )
        requestlog.log_command(result, stdin_bytes=len(stdin or b""))
        if code not in ok_exit_codes:
            raise CommandFailed(
                host=self.host.name,
                argv=items,
                exit_code=code,
                stderr=result.stderr,
                hint="the command timed out; raise the timeout or check the host"
                if code == TIMEOUT_EXIT_CODE
                else None,
            )
        return result

    # -- files ------------------------------------------------------------------------------

    def read(self, path: PurePosixPath, *, sudo: bool = True) -> bytes | None:
        """Return the file's bytes, or ``None`` when it does not exist.

        Raises:
            TransportError: the file exists but cannot be read.
            UnreachableError: the connection failed.
        """
        p = check_remote_path(path)
        if self._escalates(sudo):
            escalated = self._wrap(tuple(read_argv(p)), sudo, None)
            started = time.monotonic()
            code, out, err = self._exec(
                command_line(escalated.argv),
                None,
                self.options.command_timeout_s,
                None,
                escalated.exchange,
            )
            requestlog.log_command_counts(
                self.host.name,
                read_argv(p),
                exit_code=code,
                duration_s=time.monotonic() - started,
                stdin_bytes=0,
                stdout_bytes=len(out),
                stderr_bytes=len(err),
            )
            if code == ABSENT_EXIT_CODE:
                return None
            if code != 0:
                raise CommandFailed(
                    host=self.host.name, argv=read_argv(p), exit_code=code, stderr=err.decode()
                )
            return out
        with self._lock:
            sftp = self._sftp_client()
            try:
                started = time.monotonic()
                with sftp.open(str(p), "rb") as handle:
                    handle.prefetch()
                    data = handle.read()
                requestlog.log_transfer(
                    self.host.name,
                    "read",
                    str(p),
                    size=len(data),
                    duration_s=time.monotonic() - started,
                )
                return data
            except FileNotFoundError:
                requestlog.log_transfer(
                    self.host.name, "read", f"{p} (absent)", size=0, duration_s=0
                )
                return None
            except OSError as err:
                raise TransportError(
                    f"cannot read {p}: {err}",
                    host=self.host.name,
                    hint="set ansible_become if the login user lacks permission",
                ) from err

    def put_atomic(
        self, content: bytes, path: PurePosixPath, *, mode: int = 0o600, sudo: bool = True
    ) -> None:
        """Write ``path`` atomically (DESIGN.md rule 2); no temp file is left on failure.

        Raises:
            CommandFailed: a step (fsync, chmod, chown, rename) failed; the temp file is gone.
            TransportError: SFTP could not write the temp file.
            UnreachableError: the connection failed.
        """
        target = check_remote_path(path)
        temp = temp_path_for(target)
        chown = self._become.as_root(sudo, self.login_user)
        if self._escalates(sudo):
            argv = finish_put_argv(temp, target, mode=mode, chown_root=chown, from_stdin=True)
            self.run(argv, sudo=True, stdin=content)
            return
        argv = finish_put_argv(temp, target, mode=mode, chown_root=chown, from_stdin=False)
        with self._lock:
            sftp = self._sftp_client()
            try:
                # "x": never reuse an existing name; chmod before any byte is written, so the
                # content is never readable under the SFTP server's umask.
                with sftp.open(str(temp), "wbx") as handle:
                    handle.chmod(mode)
                    handle.set_pipelined(True)
                    handle.write(content)
            except OSError as err:
                _remove_quietly(sftp, temp)
                raise TransportError(
                    f"cannot write {temp}: {err}",
                    host=self.host.name,
                    hint="set ansible_become if the login user lacks permission",
                ) from err
        try:
            self.run(argv)
        except CommandFailed:
            with self._lock:  # the script's trap removed it already; make sure
                _remove_quietly(self._sftp_client(), temp)
            raise

    # -- probes -----------------------------------------------------------------------------

    def https_get(
        self,
        address: str,
        port: int,
        path: str,
        *,
        ca_pem: bytes,
        client_cert_pem: bytes | None = None,
        client_key_pem: bytes | None = None,
        server_name: str | None = None,
        timeout_s: float = 10.0,
        method: str = "GET",
        body: bytes | None = None,
    ) -> HttpResult:
        """GET ``https://address:port/path`` from the host's side, TLS verified against ``ca_pem``.

        Raises:
            TransportError: the host could not connect there, or TLS/HTTP failed.
            UnreachableError: the SSH connection failed.
        """
        transport = self._paramiko()
        try:
            channel = transport.open_channel(
                "direct-tcpip", (address, port), ("127.0.0.1", 0), timeout=timeout_s
            )
        except paramiko.ChannelException as err:
            raise TransportError(
                f"cannot connect to {address}:{port} from the host: {err.text}",
                host=self.host.name,
            ) from err
        except (paramiko.SSHException, EOFError, OSError) as err:
            raise UnreachableError(
                f"cannot open a tunnel: {err}", host=self.host.name, hint="run again"
            ) from err
        try:
            return https_get_over(
                channel,
                host_header=_host_header(address, port),
                path=path,
                ca_pem=ca_pem,
                server_name=server_name or address,
                client_cert_pem=client_cert_pem,
                client_key_pem=client_key_pem,
                timeout_s=timeout_s,
                method=method,
                body=body,
            )
        except TlsProbeError as err:
            raise TransportError(
                f"https://{_host_header(address, port)}{path}: {err}", host=self.host.name
            ) from err
        finally:
            channel.close()


def _drain(
    channel: paramiko.Channel,
    out: bytearray,
    err: bytearray,
    on_stdout: Callable[[bytes], None] | None = None,
    exchange: SudoExchange | None = None,
) -> None:
    """Move what arrived into ``out``/``err``; stream stdout; under sudo, answer the exchange.

    ``on_stdout`` sees each stdout chunk as it arrives (plan reads the CA early from it).
    """
    while channel.recv_ready():
        chunk = channel.recv(65536)
        out += chunk
        if on_stdout is not None and chunk:
            on_stdout(chunk)
        if exchange is not None:
            _answer(channel, *exchange.on_stdout(chunk))
    while channel.recv_stderr_ready():
        chunk = channel.recv_stderr(65536)
        err += chunk
        if exchange is not None:
            _answer(channel, *exchange.on_stderr(chunk))


def _answer(channel: paramiko.Channel, data: bytes, close: bool) -> None:
    if data:
        channel.sendall(data)
    if close:
        channel.shutdown_write()


def _remove_quietly(sftp: paramiko.SFTPClient, path: PurePosixPath) -> None:
    with contextlib.suppress(OSError):
        sftp.remove(str(path))


def _host_header(address: str, port: int) -> str:
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"
