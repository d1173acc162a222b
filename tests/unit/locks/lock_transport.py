"""A minimal local transport for the lock tests: runs argv with subprocess on this machine.

Why not a scripted fake: the remote lock's correctness lives in its sh script (flock, lease
arithmetic, the run-id checks), so the tests run that script for real, as a host would.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Collection, Sequence
from pathlib import Path, PurePosixPath

from deployer.errors import CommandFailed
from deployer.model.host import Host
from deployer.model.report import CommandResult
from deployer.transport.base import HttpResponse


class LocalExecTransport:
    """Just enough of the Transport protocol for locks: run, read, put_atomic, close."""

    def __init__(self, name: str = "cp1") -> None:
        self.host = Host(name=name, address="127.0.0.1", transport="local")
        self.commands: list[tuple[str, ...]] = []

    def run(
        self,
        argv: Sequence[str],
        *,
        sudo: bool = False,
        stdin: bytes | None = None,
        ok_exit_codes: Collection[int] = (0,),
        timeout_s: float = 60.0,
    ) -> CommandResult:
        started = time.monotonic()
        self.commands.append(tuple(argv))
        proc = subprocess.run(
            list(argv), input=stdin, capture_output=True, timeout=timeout_s, check=False
        )
        result = CommandResult(
            host=self.host.name,
            argv=tuple(argv),
            exit_code=proc.returncode,
            stdout=proc.stdout.decode(),
            stderr=proc.stderr.decode(),
            duration_s=time.monotonic() - started,
        )
        if proc.returncode not in ok_exit_codes:
            raise CommandFailed(
                host=self.host.name, argv=argv, exit_code=proc.returncode, stderr=result.stderr
            )
        return result

    def read(self, path: PurePosixPath, *, sudo: bool = True) -> bytes | None:
        try:
            return Path(path).read_bytes()
        except FileNotFoundError:
            return None

    def put_atomic(
        self, content: bytes, path: PurePosixPath, *, mode: int = 0o600, sudo: bool = True
    ) -> None:
        tmp = Path(path).with_name(f".{Path(path).name}.tmp")
        tmp.write_bytes(content)
        tmp.chmod(mode)
        tmp.replace(Path(path))

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
    ) -> HttpResponse:
        raise NotImplementedError("the lock tests never probe HTTPS")

    def close(self) -> None:
        return None
