"""The kubelet stand-in's sync loop: make the running containers match the static pods.

What is imitated, from kubelet's behaviour (times scaled by ``time_scale`` for the lab):
- a changed pod (new UID) is a new pod: the old pod's containers get SIGTERM, SIGKILL after
  ``terminationGracePeriodSeconds`` (default 30 s), and the new pod starts only once no other
  pod of the same name is still running (kubelet's static-pod start gate);
- a container that exits is restarted in the same pod (``restartPolicy: Always``) with
  ``restartCount`` + 1, behind kubelet's crash-loop back-off: the first restart is immediate,
  then 10 s doubling up to 300 s, forgotten after 600 s without restarts;
- a hostPath volume whose type check fails keeps the pod from starting (``MountVolume.SetUp
  failed``), and is retried on every sync;
- stopping kubelet leaves the containers running; the next kubelet adopts them from the state
  file (pid and start time checked) instead of starting duplicates;
- garbage collection keeps one dead container per pod container and removes pods that are gone.
"""

from __future__ import annotations

import json
import logging
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from deployer.lab.kubelet.housekeeping import collect_garbage, log_link_name, take_backoff
from deployer.lab.kubelet.pods import StaticPod, image_version
from deployer.lab.kubelet.records import (
    CONTAINER_EXITED,
    CONTAINER_RUNNING,
    SANDBOX_NOTREADY,
    SANDBOX_READY,
    ContainerRecord,
    KubeletState,
    SandboxRecord,
    load_state,
    save_state,
)
from deployer.lab.kubelet.runtime import (
    LogPump,
    check_volumes,
    container_mounts,
    new_id,
    signal_container,
    start_container,
)
from deployer.lab.kubelet.source import FileSource
from deployer.lab.procs import ProcessRecord, is_running
from deployer.lab.timefmt import rfc3339_fixed

__all__ = ["Kubelet", "KubeletConfig"]

_log = logging.getLogger("kubelet")

_GC_PERIOD_S = 60.0
_RELIST_S = 20.0


@dataclass(frozen=True, slots=True)
class KubeletConfig:
    """How one node's kubelet stand-in runs."""

    node_name: str
    #: The node folder (the node's ``/``).
    root: Path
    #: The Python that runs the containers' programs.
    python: str
    #: Multiplies kubelet's own durations (back-off, grace period, GC, re-list).
    time_scale: float = 0.1
    #: How often the manifests folder is looked at.
    poll_s: float = 0.2
    manifests_folder: str = "/etc/kubernetes/manifests"
    #: Environment given to every container on top of its own ``env``.
    container_env: Mapping[str, str] = field(default_factory=dict)
    #: Command name -> the argv that runs it (default: ``kube-apiserver`` -> the stand-in).
    programs: Mapping[str, Sequence[str]] | None = None

    def program_table(self) -> Mapping[str, Sequence[str]]:
        """The programs containers may run."""
        if self.programs is not None:
            return self.programs
        return {"kube-apiserver": (self.python, "-m", "deployer.lab.apiserver")}

    @property
    def state_file(self) -> Path:
        """Where the state is kept (crictl reads it)."""
        return self.root / "var/lib/kubelet/state.json"


def _exit_code(returncode: int) -> int:
    return returncode if returncode >= 0 else 128 - returncode


class Kubelet:
    """One node's kubelet stand-in."""

    def __init__(self, config: KubeletConfig) -> None:
        """Load the state left by a previous kubelet (if any) and watch the manifests."""
        self._config = config
        self._scale = config.time_scale
        self._state: KubeletState = load_state(config.state_file)
        self._source = FileSource(
            config.root / config.manifests_folder.lstrip("/"),
            node_folder=config.manifests_folder,
            node_name=config.node_name,
            relist_s=_RELIST_S * self._scale,
        )
        self._pump = LogPump(config.root)
        self._processes: dict[str, subprocess.Popen[bytes]] = {}
        self._kill_at: dict[str, float] = {}
        self._killed: set[str] = set()
        self._reported: dict[str, str] = {}
        self._next_gc = time.monotonic() + _GC_PERIOD_S * self._scale
        self._dirty = False
        self._draining = False

    @property
    def state(self) -> KubeletState:
        """The current state (for tests)."""
        return self._state

    # -- lifecycle -----------------------------------------------------------------------------

    def adopt(self) -> None:
        """Take over the containers a previous kubelet left running."""
        for record in list(self._state.containers):
            if record.state != CONTAINER_RUNNING:
                continue
            if record.pid and is_running(
                ProcessRecord("container", record.pid, record.pid_start_time)
            ):
                self._pump.attach(record)
                _log.info(
                    '"Adopted running container" containerID="%s" pod="%s"',
                    record.id,
                    record.pod_name,
                )
                if record.is_stop_requested:
                    self._request_stop(record, force_resend=True)
            else:
                self._pump.attach(record)  # drain what it wrote before it died
                self._pump.detach(record.id)
                self._mark_exited(
                    record, 255, "Unknown", "the container exited while kubelet was stopped"
                )
        self._save()

    def run(self, should_stop: Callable[[], bool], should_drain: Callable[[], bool]) -> None:
        """Sync until ``should_stop()``; containers keep running afterwards, as for real.

        ``should_drain()`` is the node shutting down (kubelet's graceful node shutdown): every
        container is stopped with its grace period, then kubelet exits. ``lab down`` uses it
        so that kubelet, the containers' parent, collects their exit status.
        """
        self.adopt()
        try:
            while not should_stop():
                if should_drain() and not self._draining:
                    self._draining = True
                    _log.info('"Shutdown manager: stopping every pod"')
                if self._draining and not self._running():
                    break
                self.step()
        finally:
            self._save()
            self._pump.close()

    def step(self) -> None:
        """One round: move logs, notice exits, read the manifests, act, collect garbage."""
        self._pump.pump(self._config.poll_s)
        self._reap()
        self._source.poll()
        self._sync([] if self._draining else self._source.pods)
        if time.monotonic() >= self._next_gc:
            self._next_gc = time.monotonic() + _GC_PERIOD_S * self._scale
            desired = {p.uid for p in self._source.pods}
            min_age_s = _GC_PERIOD_S * self._scale
            if collect_garbage(self._config.root, self._state, desired, min_age_s=min_age_s):
                self._dirty = True
        if self._dirty:
            self._save()

    # -- state helpers -------------------------------------------------------------------------

    def _save(self) -> None:
        save_state(self._config.state_file, self._state)
        self._dirty = False

    def _put(self, record: ContainerRecord) -> None:
        self._state.containers = [
            c if c.id != record.id else record for c in self._state.containers
        ]
        self._dirty = True

    def _put_sandbox(self, record: SandboxRecord) -> None:
        self._state.sandboxes = [s if s.id != record.id else record for s in self._state.sandboxes]
        self._dirty = True

    def _running(self) -> list[ContainerRecord]:
        return [c for c in self._state.containers if c.state == CONTAINER_RUNNING]

    def _report_once(self, key: str, text: str, *, level: int = logging.INFO) -> None:
        if self._reported.get(key) != text:
            self._reported[key] = text
            _log.log(level, "%s", text)

    # -- exits and stops -----------------------------------------------------------------------

    def _mark_exited(
        self, record: ContainerRecord, code: int, reason: str, message: str = ""
    ) -> None:
        self._put(
            replace(
                record,
                state=CONTAINER_EXITED,
                exit_code=code,
                reason=reason,
                message=message,
                finished_at_ns=time.time_ns(),
                pid=0,
            )
        )
        self._processes.pop(record.id, None)
        self._kill_at.pop(record.id, None)
        self._killed.discard(record.id)

    def _reap(self) -> None:
        now = time.monotonic()
        for record in self._running():
            process = self._processes.get(record.id)
            code: int | None
            if process is not None:
                returncode = process.poll()
                code = None if returncode is None else _exit_code(returncode)
            elif is_running(ProcessRecord("container", record.pid, record.pid_start_time)):
                code = None
            else:  # adopted, so not our child: the exit status is not ours to read
                code = 137 if record.id in self._killed else 0 if record.is_stop_requested else 255
            if code is None:
                deadline = self._kill_at.get(record.id)
                if deadline is not None and now >= deadline and record.id not in self._killed:
                    _log.info('"Killing container after grace period" containerID="%s"', record.id)
                    signal_container(record, signal.SIGKILL)
                    self._killed.add(record.id)
                continue
            self._pump.detach(record.id)
            reason = "Completed" if code == 0 else "Error"
            self._mark_exited(record, code, reason)
            level = logging.INFO if record.is_stop_requested else logging.WARNING
            _log.log(
                level,
                '"Container exited" containerID="%s" pod="%s" exitCode=%d',
                record.id,
                record.pod_name,
                code,
            )

    def _request_stop(self, record: ContainerRecord, *, force_resend: bool = False) -> None:
        if record.is_stop_requested and not force_resend:
            return
        grace_s = float(record.annotations.get("io.kubernetes.pod.terminationGracePeriod", "30"))
        _log.info(
            '"Killing container with a grace period" pod="%s" containerID="%s" gracePeriod=%g',
            record.pod_name,
            record.id,
            grace_s,
        )
        self._put(replace(record, is_stop_requested=True))
        self._kill_at[record.id] = time.monotonic() + grace_s * self._scale
        signal_container(record, signal.SIGTERM)

    # -- the sync ------------------------------------------------------------------------------

    def _sync(self, pods: list[StaticPod]) -> None:
        desired = {p.uid: p for p in pods}
        for sandbox in [s for s in self._state.sandboxes if s.state == SANDBOX_READY]:
            if sandbox.uid in desired:
                continue
            running = [c for c in self._running() if c.sandbox_id == sandbox.id]
            for record in running:
                self._request_stop(record)
            if not running:
                _log.info('"Pod sandbox stopped" pod="%s" podUID="%s"', sandbox.name, sandbox.uid)
                self._put_sandbox(replace(sandbox, state=SANDBOX_NOTREADY))
        for pod in sorted(pods, key=lambda p: p.name):
            self._sync_pod(pod)

    def _sync_pod(self, pod: StaticPod) -> None:
        other = [
            c
            for c in self._running()
            if c.pod_name == pod.name and c.namespace == pod.namespace and c.pod_uid != pod.uid
        ]
        if other:  # kubelet waits for the previous static pod of this name to terminate
            return
        errors = check_volumes(self._config.root, pod)
        if errors:
            for error in errors:
                self._report_once(
                    f"volume/{pod.uid}", f'"{error}" pod="{pod.name}"', level=logging.ERROR
                )
            return
        sandbox = next(
            (s for s in self._state.sandboxes if s.uid == pod.uid and s.state == SANDBOX_READY),
            None,
        )
        if sandbox is None:
            sandbox = self._create_sandbox(pod)
        for spec in pod.containers:
            mine = [
                c for c in self._state.containers if c.pod_uid == pod.uid and c.name == spec.name
            ]
            if any(c.state == CONTAINER_RUNNING for c in mine):
                continue
            last = max(mine, key=lambda c: c.created_at_ns, default=None)
            attempt = 0
            if last is not None:
                # A container kubelet stopped itself (pod replaced, then restored) is no crash.
                if not last.is_stop_requested and self._in_backoff(f"{pod.uid}/{spec.name}", last):
                    continue
                attempt = last.attempt + 1
            self._start(pod, sandbox, spec.name, attempt)

    def _create_sandbox(self, pod: StaticPod) -> SandboxRecord:
        now = time.time_ns()
        previous = [s for s in self._state.sandboxes if s.uid == pod.uid]
        sandbox = SandboxRecord(
            id=new_id(),
            uid=pod.uid,
            name=pod.name,
            namespace=pod.namespace,
            attempt=len(previous),
            state=SANDBOX_READY,
            created_at_ns=now,
            labels={
                **pod.labels,
                "io.kubernetes.pod.name": pod.name,
                "io.kubernetes.pod.namespace": pod.namespace,
                "io.kubernetes.pod.uid": pod.uid,
            },
            annotations={
                **pod.annotations,
                "kubernetes.io/config.hash": pod.uid,
                "kubernetes.io/config.seen": rfc3339_fixed(now),
                "kubernetes.io/config.source": "file",
            },
            source=pod.source,
        )
        self._state.sandboxes.append(sandbox)
        self._dirty = True
        _log.info(
            '"Created pod sandbox" pod="%s" podUID="%s" source="%s"', pod.name, pod.uid, pod.source
        )
        return sandbox

    def _in_backoff(self, key: str, last: ContainerRecord) -> bool:
        held = take_backoff(self._state, key, last.finished_at_ns / 1e9, scale=self._scale)
        if held is None:  # the restart goes ahead; the next back-off was recorded
            self._dirty = True
        else:
            self._report_once(
                f"backoff/{key}",
                f'"Back-off restarting failed container" pod="{last.pod_name}" '
                f'container="{last.name}" backoff="{held.backoff_s / self._scale:g}s" '
                f'containerID="{last.id}"',
                level=logging.WARNING,
            )
        return held is not None

    def _start(self, pod: StaticPod, sandbox: SandboxRecord, name: str, attempt: int) -> None:
        spec = next(c for c in pod.containers if c.name == name)
        env = dict(self._config.container_env)
        mounts = [
            {
                "mountPath": m["containerPath"],
                "hostPath": str(self._config.root / str(m["hostPath"]).lstrip("/")),
                "readOnly": m["readonly"],
            }
            for m in container_mounts(self._config.root, pod, spec)
        ]
        env["DEPLOYER_LAB_MOUNTS"] = json.dumps(mounts)
        env["DEPLOYER_LAB_VERSION"] = image_version(spec.image)
        started = start_container(
            self._config.root,
            pod=pod,
            spec=spec,
            sandbox=sandbox,
            attempt=attempt,
            env=env,
            programs=self._config.program_table(),
        )
        self._state.containers.append(started.record)
        self._dirty = True
        if started.process is None:
            _log.error(
                '"Error starting container" pod="%s" container="%s" err="%s"',
                pod.name,
                name,
                started.record.message,
            )
            return
        self._processes[started.record.id] = started.process
        self._pump.attach(started.record)
        self._link_log(started.record)
        _log.info(
            '"Started container" pod="%s" container="%s" containerID="%s" restartCount=%d pid=%d',
            pod.name,
            name,
            started.record.id,
            attempt,
            started.record.pid,
        )
        self._save()  # record the pid at once: lab down must find it even if kubelet dies now

    def _link_log(self, record: ContainerRecord) -> None:
        folder = self._config.root / "var/log/containers"
        folder.mkdir(parents=True, exist_ok=True)
        link = folder / log_link_name(record)
        if not link.is_symlink():
            link.symlink_to(record.log_path)
