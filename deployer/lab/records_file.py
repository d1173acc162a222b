"""``lab.json``: the lab's settings and every process it started, written atomically.

Why written after every start: ``lab down`` must stop what an interrupted ``lab up`` started, so
each pid is on disk (with its start time) before the next process is started.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from pathlib import Path

from deployer.errors import LabError
from deployer.lab.atomic import write_json_atomic
from deployer.lab.procs import ProcessRecord

__all__ = ["LabRecord", "LabSettings", "load_lab_record"]


@dataclass(frozen=True, slots=True)
class LabSettings:
    """How a lab was created; ``fault --clear`` restarts processes with the same settings."""

    nodes: int
    first_address: str
    kubernetes_version: str
    #: ``real`` (the system's etcd) or ``standin``.
    etcd: str
    ready_delay_s: float
    time_scale: float
    slow_s: float | None = None

    def to_json(self) -> dict[str, object]:
        """Return the settings as stored."""
        return {
            "nodes": self.nodes,
            "first_address": self.first_address,
            "kubernetes_version": self.kubernetes_version,
            "etcd": self.etcd,
            "ready_delay_s": self.ready_delay_s,
            "time_scale": self.time_scale,
            "slow_s": self.slow_s,
        }


@dataclass(slots=True)
class LabRecord:
    """The contents of ``lab.json``; thread-safe, saved on every change."""

    path: Path
    settings: LabSettings
    #: node name -> role -> process.
    processes: dict[str, dict[str, ProcessRecord]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(self, node: str, process: ProcessRecord) -> None:
        """Remember a process just started, on disk before returning."""
        with self._lock:
            self.processes.setdefault(node, {})[process.role] = process
            self._save()

    def forget(self, node: str, role: str) -> None:
        """Drop a process the lab stopped."""
        with self._lock:
            self.processes.get(node, {}).pop(role, None)
            self._save()

    def forget_all(self) -> None:
        """Drop every process (after ``lab down``)."""
        with self._lock:
            self.processes.clear()
            self._save()

    def save(self) -> None:
        """Write the file now."""
        with self._lock:
            self._save()

    def _save(self) -> None:
        write_json_atomic(
            self.path,
            {
                "schema_version": 1,
                "settings": self.settings.to_json(),
                "processes": {
                    node: {role: p.to_json() for role, p in roles.items()}
                    for node, roles in self.processes.items()
                },
            },
        )


def load_lab_record(path: Path) -> LabRecord | None:
    """Read ``lab.json``; None when there is none.

    Raises:
        LabError: the file exists but cannot be read.
    """
    try:
        raw = json.loads(path.read_text())
        settings = LabSettings(**raw["settings"])
        processes = {
            node: {role: ProcessRecord.from_json(p) for role, p in roles.items()}
            for node, roles in raw.get("processes", {}).items()
        }
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError) as exc:
        raise LabError(
            f"{path} is damaged: {exc}",
            hint="stop the lab's processes by hand (see `ps`), then delete the lab folder",
        ) from exc
    return LabRecord(path, settings, processes)
