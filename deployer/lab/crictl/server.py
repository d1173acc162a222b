"""The node's CRI socket: answers the compiled crictl client inside the kubelet stand-in.

Why: real crictl is a Go binary that asks containerd over ``/run/containerd/containerd.sock``
and answers in a few milliseconds; a Python crictl pays an interpreter start per call, which
made the lab's ``deployer plan`` mostly crictl start-ups. Here the kubelet stand-in, already
running, serves the same code (:func:`deployer.lab.crictl.cli.main`) on
``<node>/run/containerd/containerd.sock``; the client (``client.c``) sends its arguments and
its stdout and stderr descriptors (``SCM_RIGHTS``), so the answer is written straight to the
caller's streams, then the exit status goes back as decimal text.

The state still comes from the kubelet's state file, read per call as the standalone crictl
reads it, so both paths print the same bytes; while the kubelet is stopped the client falls
back to the standalone crictl, as real crictl keeps answering through containerd.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
from pathlib import Path

from deployer.lab.crictl.cli import Streams, main

__all__ = ["CriServer", "MAGIC", "socket_path"]

#: The first bytes of every request (``client.c`` sends the same).
MAGIC = b"CRICTL1\0"

_MAX_REQUEST = 1 << 20
_log = logging.getLogger("kubelet")


def socket_path(node_root: Path) -> Path:
    """Where a node's CRI socket lives (containerd's own path, under the node folder)."""
    return node_root / "run" / "containerd" / "containerd.sock"


def _bind(sock: socket.socket, path: Path) -> None:
    """Bind to ``path`` even when it is longer than ``sun_path`` allows (108 bytes)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    folder = os.open(path.parent, os.O_PATH)
    try:
        sock.bind(f"/proc/self/fd/{folder}/{path.name}")
    finally:
        os.close(folder)


def _streams(fds: list[int]) -> Streams:
    out = open(fds[0], "w", encoding="utf-8", errors="replace", closefd=True)  # noqa: SIM115
    err = open(fds[1], "w", encoding="utf-8", errors="replace", closefd=True)  # noqa: SIM115
    return Streams(out=out, err=err)


class CriServer:
    """Serve crictl calls for one node until :meth:`close` (one thread per call)."""

    def __init__(self, node_root: Path, state_file: Path) -> None:
        self.path = socket_path(node_root)
        self._state = str(state_file)
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        _bind(self._sock, self.path)
        self._sock.listen(64)
        self._thread = threading.Thread(target=self._accept, name="cri", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop listening and remove the socket (clients then use the standalone crictl)."""
        self.path.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)
        self._sock.close()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return  # closed
            threading.Thread(target=self._serve, args=(conn,), name="cri-call", daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        fds: list[int] = []
        with conn:
            try:
                data, fds, _, _ = socket.recv_fds(conn, 65536, 2)
                chunks = [data]
                size = len(data)
                while data and size <= _MAX_REQUEST:
                    data = conn.recv(65536)
                    chunks.append(data)
                    size += len(data)
                request = b"".join(chunks)
                if len(fds) != 2 or not request.startswith(MAGIC) or size > _MAX_REQUEST:
                    conn.sendall(b"1")
                    return
                body = request[len(MAGIC) :]
                args = [a.decode("utf-8", "surrogateescape") for a in body.split(b"\0")]
                if args and args[-1] == "":
                    args.pop()
                std = _streams(fds)
                fds = []
                code = 1
                try:
                    code = main(["--state", self._state, *args], std)
                except Exception:  # a bug in the stand-in: the caller gets exit 1, not a hang
                    _log.exception('"crictl call failed" args="%s"', args)
                finally:
                    for stream in (std.out, std.err):
                        try:
                            stream.close()
                        except OSError:
                            code = 1
                conn.sendall(str(code).encode())
            except OSError as exc:
                _log.warning('"crictl call failed" err="%s"', exc)
            finally:
                for fd in fds:
                    os.close(fd)
