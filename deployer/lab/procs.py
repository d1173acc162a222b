"""Processes the lab starts, identified by pid *and* start time, and stopped by pid only.

Why the start time: a pid is reused once its process is gone; ``lab down`` after a crash or a
reboot must never signal an unrelated process that got the same number. ``/proc/<pid>/stat``
field 22 (start time in clock ticks since boot) tells the two apart.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "LAB_MARKER_ENV",
    "ProcessRecord",
    "descendants",
    "find_marked_processes",
    "is_running",
    "process_record",
    "read_start_time",
    "stop_processes",
]

#: The environment variable every lab process carries (value: the lab folder), so that
#: ``lab down`` can find what an interrupted ``up`` started before it could record it.
LAB_MARKER_ENV = "DEPLOYER_LAB_DIR"


@dataclass(frozen=True, slots=True)
class ProcessRecord:
    """A process the lab started."""

    #: ``sshd``, ``etcd``, ``kubelet`` or ``container``.
    role: str
    pid: int
    #: ``/proc/<pid>/stat`` field 22, clock ticks after boot.
    start_time: int

    def to_json(self) -> dict[str, object]:
        """Return the record as stored in ``lab.json``."""
        return {"role": self.role, "pid": self.pid, "start_time": self.start_time}

    @classmethod
    def from_json(cls, value: Mapping[str, object]) -> ProcessRecord:
        """Read a record stored by :meth:`to_json`."""
        pid = value.get("pid")
        start = value.get("start_time")
        if not isinstance(pid, int) or not isinstance(start, int):
            raise ValueError(f"bad process record {dict(value)!r}")
        return cls(str(value.get("role", "")), pid, start)


def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may contain spaces or ')'.
    return text[text.rindex(")") + 2 :].split()


def read_start_time(pid: int) -> int | None:
    """Return the start time of ``pid`` (clock ticks after boot), or None if it is gone."""
    fields = _stat_fields(pid)
    # After the command name: field 3 (state) is index 0, so field 22 is index 19.
    return int(fields[19]) if fields else None


def process_record(role: str, pid: int) -> ProcessRecord:
    """Record a process just started (``pid`` must still exist).

    Raises:
        ProcessLookupError: the process is already gone.
    """
    start = read_start_time(pid)
    if start is None:
        raise ProcessLookupError(pid)
    return ProcessRecord(role, pid, start)


def is_running(record: ProcessRecord) -> bool:
    """Return whether the recorded process still runs (same start time, not a zombie).

    A zombie that is our child is collected on the way, so none stays behind.
    """
    fields = _stat_fields(record.pid)
    if not fields or int(fields[19]) != record.start_time:
        return False
    if fields[0] in ("Z", "X"):
        _reap(record)
        return False
    return True


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        fields = _stat_fields(int(entry.name))
        if fields:
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    return children


def descendants(pid: int) -> list[ProcessRecord]:
    """Return every live descendant of ``pid`` (children first), recorded with start times.

    Why: sshd forks a process per connection; stopping only the listener would leave them.
    """
    children = _children_map()
    found: list[ProcessRecord] = []
    queue = list(children.get(pid, ()))
    while queue:
        child = queue.pop(0)
        start = read_start_time(child)
        if start is not None:
            found.append(ProcessRecord("child", child, start))
        queue.extend(children.get(child, ()))
    return found


def find_marked_processes(lab_root: Path) -> list[ProcessRecord]:
    """Return the live processes whose environment marks them as started by this lab.

    Why: the last line of defence for ``lab down`` after an ``up`` was killed between starting
    a process and recording it. Matching is on the exact lab folder, never on a program name.
    """
    marker = f"{LAB_MARKER_ENV}={lab_root}".encode()
    own = os.getpid()
    found: list[ProcessRecord] = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit() or int(entry.name) == own:
            continue
        try:
            environ = Path(f"/proc/{entry.name}/environ").read_bytes()
        except OSError:
            continue
        if marker in environ.split(b"\0"):
            start = read_start_time(int(entry.name))
            if start is not None:
                found.append(ProcessRecord("marked", int(entry.name), start))
    return found


def _signal(record: ProcessRecord, sig: signal.Signals) -> None:
    if not is_running(record):
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(record.pid, sig)


def _reap(record: ProcessRecord) -> None:
    """Collect the exit status if the process is our child (so no zombie stays behind)."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(record.pid, os.WNOHANG)


def stop_processes(
    records: Iterable[ProcessRecord], *, grace_s: float = 5.0
) -> list[ProcessRecord]:
    """Stop the given processes: SIGTERM, wait up to ``grace_s``, then SIGKILL.

    Only processes whose start time still matches are signalled. Returns the records that were
    still running when SIGKILL had to be sent.
    """
    pending = [r for r in records if is_running(r)]
    for record in pending:
        _signal(record, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while True:
        for record in pending:
            _reap(record)
        pending = [r for r in pending if is_running(r)]
        if not pending or time.monotonic() >= deadline:
            break
        time.sleep(0.02)
    killed = list(pending)
    for record in killed:
        _signal(record, signal.SIGKILL)
    deadline = time.monotonic() + 5.0
    while pending and time.monotonic() < deadline:
        for record in pending:
            _reap(record)
        pending = [r for r in pending if is_running(r)]
        if pending:
            time.sleep(0.02)
    return killed
