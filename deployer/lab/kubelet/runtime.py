"""The container runtime part of the kubelet stand-in: start, log, stop a container process.

What is imitated (containerd + runc as kubelet drives them over CRI):
- a container is a process in its own process group, started with the pod's ``command`` +
  ``args``; the lab runs ``kube-apiserver`` as ``python -m deployer.lab.apiserver``;
- its stdout and stderr go through FIFOs (as containerd's shim does), so the container keeps
  running, and its output is kept, while kubelet is stopped; a restarted kubelet re-opens them;
- kubelet turns the output into CRI log lines (``<RFC3339Nano> <stream> <F|P> <text>``) under
  ``/var/log/pods/<namespace>_<pod>_<uid>/<container>/<restartCount>.log``;
- a command that does not exist fails like runc (``StartError``, exit code 128).
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import select
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from deployer.lab.kubelet.pods import ContainerSpec, StaticPod
from deployer.lab.kubelet.records import (
    CONTAINER_EXITED,
    CONTAINER_RUNNING,
    ContainerRecord,
    SandboxRecord,
)
from deployer.lab.procs import ProcessRecord, is_running, read_start_time
from deployer.lab.timefmt import rfc3339_nano

__all__ = [
    "LogPump",
    "StartedContainer",
    "check_volumes",
    "container_mounts",
    "new_id",
    "signal_container",
    "start_container",
]

_log = logging.getLogger(__name__)

_F_SETPIPE_SZ = 1031
_PIPE_SIZE = 1 << 20
_MAX_LINE = 16 * 1024


def new_id() -> str:
    """Return a new container or sandbox id: 64 lowercase hex digits, as containerd makes."""
    return os.urandom(32).hex()  # not ``secrets``: it loads OpenSSL into every kubelet


def check_volumes(root: Path, pod: StaticPod) -> list[str]:
    """Prepare the pod's hostPath volumes like kubelet's volume manager; return the failures.

    ``DirectoryOrCreate``/``FileOrCreate`` are created (0755 / 0644); ``Directory``, ``File``,
    ``Socket``... must exist and be of that kind. A failure keeps the pod from starting.
    """
    errors: list[str] = []
    for volume in pod.volumes.values():
        if volume.host_path is None:
            continue
        target = root / volume.host_path.lstrip("/")
        kind = volume.path_type
        if kind == "DirectoryOrCreate" and not target.exists():
            target.mkdir(mode=0o755, parents=True, exist_ok=True)
        elif kind == "FileOrCreate" and not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            target.touch(mode=0o644)
        elif kind == "Directory" and not target.is_dir():
            errors.append(
                f'MountVolume.SetUp failed for volume "{volume.name}" : hostPath type check '
                f"failed: {volume.host_path} is not a directory"
            )
        elif kind == "File" and not target.is_file():
            errors.append(
                f'MountVolume.SetUp failed for volume "{volume.name}" : hostPath type check '
                f"failed: {volume.host_path} is not a file"
            )
    return errors


def container_mounts(root: Path, pod: StaticPod, spec: ContainerSpec) -> list[dict[str, object]]:
    """Return the container's mount table (container path -> node path)."""
    mounts: list[dict[str, object]] = []
    for volume_name, mount_path, read_only in spec.volume_mounts:
        volume = pod.volumes[volume_name]
        host_path = volume.host_path
        if host_path is None:  # emptyDir and friends live in kubelet's pod folder
            host_path = (
                f"/var/lib/kubelet/pods/{pod.uid}/volumes/kubernetes.io~empty-dir/{volume_name}"
            )
            (root / host_path.lstrip("/")).mkdir(parents=True, exist_ok=True)
        mounts.append({"containerPath": mount_path, "hostPath": host_path, "readonly": read_only})
    return mounts


@dataclass(slots=True)
class StartedContainer:
    """A container kubelet just created: its record and, if it runs, the process handle."""

    record: ContainerRecord
    process: subprocess.Popen[bytes] | None


def _argv(
    spec: ContainerSpec, programs: Mapping[str, Sequence[str]]
) -> tuple[list[str], str | None]:
    command = list(spec.command)
    if not command and "kube-apiserver" in spec.image:
        command = ["kube-apiserver"]  # the image's entrypoint
    if not command:
        return [], "no command specified"
    program = programs.get(os.path.basename(command[0]))
    if program is None:
        return [], (
            "failed to create containerd task: failed to create shim task: OCI runtime create "
            "failed: runc create failed: unable to start container process: exec: "
            f'"{command[0]}": executable file not found in $PATH: unknown'
        )
    return [*program, *command[1:], *spec.args], None


def _fifo(path: Path) -> int:
    if not path.exists():
        os.mkfifo(path, 0o600)
    fd = os.open(path, os.O_RDWR)  # never blocks, and the pipe outlives kubelet's reader
    with contextlib.suppress(OSError):
        fcntl.fcntl(fd, _F_SETPIPE_SZ, _PIPE_SIZE)
    return fd


def start_container(
    root: Path,
    *,
    pod: StaticPod,
    spec: ContainerSpec,
    sandbox: SandboxRecord,
    attempt: int,
    env: Mapping[str, str],
    programs: Mapping[str, Sequence[str]],
) -> StartedContainer:
    """Create and start one container of ``pod``; a start failure gives an exited container.

    ``programs`` maps a command name (``kube-apiserver``) to the argv that runs it here; any
    other command fails as an executable missing from the image would.
    """
    cid = new_id()
    log_dir = f"/var/log/pods/{pod.namespace}_{pod.name}_{pod.uid}/{spec.name}"
    log_path = f"{log_dir}/{attempt}.log"
    (root / log_dir.lstrip("/")).mkdir(parents=True, exist_ok=True)
    io_dir = root / "run/containerd/io" / cid
    io_dir.mkdir(parents=True, exist_ok=True)
    mounts = container_mounts(root, pod, spec)
    argv, start_error = _argv(spec, programs)
    now = time.time_ns()
    record = ContainerRecord(
        id=cid,
        sandbox_id=sandbox.id,
        pod_uid=pod.uid,
        pod_name=pod.name,
        namespace=pod.namespace,
        name=spec.name,
        attempt=attempt,
        image=spec.image,
        command=spec.command,
        args=spec.args,
        envs=spec.env,
        mounts=tuple(mounts),
        state=CONTAINER_RUNNING,
        created_at_ns=now,
        started_at_ns=now,
        finished_at_ns=0,
        exit_code=0,
        reason="",
        message="",
        pid=0,
        pid_start_time=0,
        log_path=log_path,
        labels={
            "io.kubernetes.container.name": spec.name,
            "io.kubernetes.pod.name": pod.name,
            "io.kubernetes.pod.namespace": pod.namespace,
            "io.kubernetes.pod.uid": pod.uid,
        },
        annotations={
            "io.kubernetes.container.hash": spec.hash,
            "io.kubernetes.container.restartCount": str(attempt),
            "io.kubernetes.container.terminationMessagePath": "/dev/termination-log",
            "io.kubernetes.container.terminationMessagePolicy": "File",
            "io.kubernetes.pod.terminationGracePeriod": f"{pod.grace_period_s:g}",
        },
        stdout_fifo=f"/run/containerd/io/{cid}/stdout",
        stderr_fifo=f"/run/containerd/io/{cid}/stderr",
        process_args=tuple(argv) if argv else spec.command + spec.args,
    )
    if start_error is not None:
        return StartedContainer(
            _exited(record, exit_code=128, reason="StartError", message=start_error), None
        )
    out_fd = _fifo(io_dir / "stdout")
    err_fd = _fifo(io_dir / "stderr")
    full_env = {"PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")}
    full_env.update(dict(spec.env))
    full_env.update(env)
    try:
        process = subprocess.Popen(
            argv,
            cwd=root,
            env=full_env,
            stdin=subprocess.DEVNULL,
            stdout=out_fd,
            stderr=err_fd,
            start_new_session=True,
            close_fds=True,
        )
    except OSError as exc:
        return StartedContainer(
            _exited(record, exit_code=128, reason="StartError", message=str(exc)), None
        )
    finally:
        os.close(out_fd)
        os.close(err_fd)
    start_time = read_start_time(process.pid) or 0
    return StartedContainer(_replace(record, pid=process.pid, pid_start_time=start_time), process)


def _replace(record: ContainerRecord, **changes: object) -> ContainerRecord:
    return replace(record, **changes)  # type: ignore[arg-type]


def _exited(
    record: ContainerRecord, *, exit_code: int, reason: str, message: str = ""
) -> ContainerRecord:
    now = time.time_ns()
    return _replace(
        record,
        state=CONTAINER_EXITED,
        finished_at_ns=now,
        exit_code=exit_code,
        reason=reason,
        message=message,
        pid=0,
    )


def signal_container(record: ContainerRecord, sig: signal.Signals) -> bool:
    """Send ``sig`` to the container's process group if it is still that process."""
    if record.pid <= 0 or not is_running(
        ProcessRecord("container", record.pid, record.pid_start_time)
    ):
        return False
    try:
        os.killpg(record.pid, sig)
    except ProcessLookupError:
        return False
    except PermissionError:
        os.kill(record.pid, sig)
    return True


@dataclass(slots=True)
class _Stream:
    container_id: str
    name: str
    fd: int
    log: Path
    pending: bytes = b""


@dataclass(slots=True)
class LogPump:
    """Moves container output from FIFOs into CRI log files."""

    root: Path
    _streams: dict[int, _Stream] = field(default_factory=dict)

    def attach(self, record: ContainerRecord) -> None:
        """Start reading a container's FIFOs (after start, or when adopting it)."""
        for name, fifo in (("stdout", record.stdout_fifo), ("stderr", record.stderr_fifo)):
            path = self.root / fifo.lstrip("/")
            if not fifo or not path.exists():
                continue
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
            self._streams[fd] = _Stream(
                record.id, name, fd, self.root / record.log_path.lstrip("/")
            )

    def is_attached(self, container_id: str) -> bool:
        """Whether some output of the container is still being read."""
        return any(s.container_id == container_id for s in self._streams.values())

    def pump(self, timeout_s: float) -> None:
        """Wait up to ``timeout_s`` for output and write what arrived."""
        if not self._streams:
            time.sleep(timeout_s)
            return
        ready, _, _ = select.select(list(self._streams), [], [], timeout_s)
        for fd in ready:
            stream = self._streams[fd]
            try:
                chunk = os.read(fd, 65536)
            except BlockingIOError:
                continue
            if chunk:
                self._write(stream, chunk)
            else:  # no writer left: the container is gone
                self._close(stream)

    def detach(self, container_id: str) -> None:
        """Flush and stop reading a container's output."""
        for stream in [s for s in self._streams.values() if s.container_id == container_id]:
            self._drain(stream)
            self._close(stream)

    def close(self) -> None:
        """Stop reading everything (kubelet exits; the FIFOs keep the data for the next one)."""
        for stream in list(self._streams.values()):
            os.close(stream.fd)
        self._streams.clear()

    def _drain(self, stream: _Stream) -> None:
        while True:
            try:
                chunk = os.read(stream.fd, 65536)
            except (BlockingIOError, OSError):
                return
            if not chunk:
                return
            self._write(stream, chunk)

    def _close(self, stream: _Stream) -> None:
        if stream.pending:
            self._emit(stream, [(stream.pending, "F")])
            stream.pending = b""
        os.close(stream.fd)
        self._streams.pop(stream.fd, None)

    def _write(self, stream: _Stream, chunk: bytes) -> None:
        data = stream.pending + chunk
        lines = data.split(b"\n")
        stream.pending = lines.pop()
        entries = [(line, "F") for line in lines]
        while len(stream.pending) > _MAX_LINE:
            entries.append((stream.pending[:_MAX_LINE], "P"))
            stream.pending = stream.pending[_MAX_LINE:]
        self._emit(stream, entries)

    def _emit(self, stream: _Stream, entries: Sequence[tuple[bytes, str]]) -> None:
        if not entries:
            return
        stamp = rfc3339_nano(time.time_ns()).encode()
        out = b"".join(
            stamp + b" " + stream.name.encode() + b" " + tag.encode() + b" " + line + b"\n"
            for line, tag in entries
        )
        stream.log.parent.mkdir(parents=True, exist_ok=True)
        with open(stream.log, "ab") as handle:
            handle.write(out)
