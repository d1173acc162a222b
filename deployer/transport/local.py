"""The local transport: the same protocol on this machine, for unit tests and ``transport: local``.

Why: phases and facts must be testable with real files and real processes but without sshd;
and a host declared ``transport: local`` (the machine deployer runs on) needs no SSH at all.
Remote paths are mapped under ``root`` (``/`` for a real local host, a temporary folder in
tests); the atomic write takes the same steps as the SSH one, with system calls.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Collection, Sequence
from pathlib import Path, PurePosixPath

from deployer.errors import CommandFailed, TransportError
from deployer.model.host import Host
from deployer.model.report import CommandResult
from deployer.transport.command import check_argv
from deployer.transport.https import HttpResult, TlsProbeError, https_get_over
from deployer.transport.scripts import check_remote_path, temp_path_for

__all__ = ["LocalTransport"]

#: Exit code reported when a command outlives its timeout (as coreutils' ``timeout`` does).
_TIMEOUT_EXIT_CODE = 124


class LocalTransport:
    """:class:`deployer.transport.base.Transport` on this machine, paths mapped under ``root``.

    ``sudo`` is accepted and ignored: a local transport runs with the caller's privileges.
    Commands run with ``cwd=root`` and are *not* rewritten, so a command that names absolute
    paths must be given the mapped ones.
    """

    def __init__(self, host: Host, root: Path = Path("/")) -> None:
        self.host = host
        self.root = root.resolve()

    def local_path(self, path: PurePosixPath) -> Path:
        """Return where the host path ``path`` lives on this machine.

        Raises:
            ValueError: ``path`` is relative or escapes ``root`` with ``..``.
        """
        p = check_remote_path(path)
        # normpath, not resolve(): a symlink at the target is replaced, as rename(2) does.
        mapped = Path(os.path.normpath(self.root / p.relative_to("/")))
        if mapped != self.root and self.root not in mapped.parents:
            raise ValueError(f"{path} escapes the transport root {self.root}")
        return mapped

    def run(
        self,
        argv: Sequence[str],
        *,
        sudo: bool = False,
        stdin: bytes | None = None,
        ok_exit_codes: Collection[int] = (0,),
        timeout_s: float = 60.0,
    ) -> CommandResult:
        """Run ``argv`` with :mod:`subprocess` (no shell).

        Raises:
            CommandFailed: the exit code is not in ``ok_exit_codes`` (124 on timeout).
        """
        items = check_argv(argv)
        started = time.monotonic()
        try:
            done = subprocess.run(
                items,
                input=stdin or b"",
                capture_output=True,
                timeout=timeout_s,
                cwd=self.root,
                check=False,
            )
            code, out, err = done.returncode, done.stdout, done.stderr
        except subprocess.TimeoutExpired:
            code, out, err = _TIMEOUT_EXIT_CODE, b"", f"timed out after {timeout_s:g}s".encode()
        except FileNotFoundError as error:
            code, out, err = 127, b"", f"{items[0]}: {error.strerror}".encode()
        result = CommandResult(
            host=self.host.name,
            argv=items,
            exit_code=code,
            stdout=out.decode("utf-8", "replace"),
            stderr=err.decode("utf-8", "replace"),
            duration_s=time.monotonic() - started,
        )
        if code not in ok_exit_codes:
            raise CommandFailed(
                host=self.host.name, argv=items, exit_code=code, stderr=result.stderr
            )
        return result

    def read(self, path: PurePosixPath, *, sudo: bool = True) -> bytes | None:
        """Return the file's bytes, or ``None`` when it does not exist.

        Raises:
            TransportError: the path exists but cannot be read (a folder, no permission).
        """
        local = self.local_path(path)
        try:
            return local.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as err:
            raise TransportError(
                f"cannot read {path}: {err.strerror}", host=self.host.name
            ) from err

    def put_atomic(
        self, content: bytes, path: PurePosixPath, *, mode: int = 0o600, sudo: bool = True
    ) -> None:
        """Write ``path`` atomically: temp dot-file, fsync, chmod, chown, rename, fsync folder.

        Raises:
            TransportError: a step failed; the temp file is removed.
        """
        if not 0 <= mode <= 0o7777:
            raise ValueError(f"mode out of range: {oct(mode)}")
        target = self.local_path(path)
        temp = self.local_path(temp_path_for(check_remote_path(path)))
        try:
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except OSError as err:
            raise TransportError(
                f"cannot create {temp}: {err.strerror}", host=self.host.name
            ) from err
        try:
            try:
                view = memoryview(content)
                while view:
                    view = view[os.write(fd, view) :]
                os.fsync(fd)
                os.fchmod(fd, mode)
                if os.geteuid() == 0:
                    os.fchown(fd, 0, 0)
            finally:
                os.close(fd)
            if target.is_dir():
                # rename(2) would replace an empty folder; `mv -T` on a host refuses it.
                raise IsADirectoryError(21, "Is a directory", str(target))
            os.replace(temp, target)
        except OSError as err:
            temp.unlink(missing_ok=True)
            raise TransportError(
                f"cannot write {path}: {err.strerror}", host=self.host.name
            ) from err
        folder = os.open(target.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)

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
        """GET ``https://address:port/path`` from this machine, TLS verified against ``ca_pem``.

        Raises:
            TransportError: connection, TLS or HTTP failed.
        """
        header = f"[{address}]:{port}" if ":" in address else f"{address}:{port}"
        try:
            with socket.create_connection((address, port), timeout=timeout_s) as sock:
                return https_get_over(
                    sock,
                    host_header=header,
                    path=path,
                    ca_pem=ca_pem,
                    server_name=server_name or address,
                    client_cert_pem=client_cert_pem,
                    client_key_pem=client_key_pem,
                    timeout_s=timeout_s,
                    method=method,
                    body=body,
                )
        except (OSError, TlsProbeError) as err:
            raise TransportError(f"https://{header}{path}: {err}", host=self.host.name) from err

    def close(self) -> None:
        """Nothing to close; present for the protocol."""
