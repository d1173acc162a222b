"""Faults after the push, against one lab: every failure is rolled back, or reported exactly.

The rollout runs through the library (``prepare`` -> ``build_plan`` -> ``apply_plan``) with the
real SSH transport of each node wrapped by :class:`_Faulty`, which injects one fault at a
chosen point: a write that fails before the rename (no inode left), an unexpected exception
type, a connection that is really cut (the node's sshd session processes are killed), a host
that never comes back, a lease another run took. After each case every node is checked on its
own: apiserver ready, manifests folder holding only the manifest, the expected manifest live.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Collection, Iterator, Sequence
from pathlib import Path, PurePosixPath

import pytest

from deployer.errors import ExitCode, TransportError, UnreachableError
from deployer.lab.testing import LabHandle, running_lab
from deployer.locks import LOCK_FILE_NAME
from deployer.model.events import Event, SystemClock
from deployer.model.report import CommandResult, HostReport, Outcome
from deployer.offline import prepare
from deployer.rollout.observe import build_plan, new_run_id
from deployer.rollout.outcome import exit_code_for_run
from deployer.rollout.run import ApplyOptions, apply_plan
from deployer.transport.base import HttpResponse, Transport
from deployer.transport.options import SshOptions
from deployer.transport.pool import connect_host, open_transports

pytestmark = pytest.mark.integration

CHANGE = "apiserver_flags.audit-log-maxage=45"
NODE = "lab-cp1"

Hook = Callable[[str, object], None]


class _Faulty:
    """A real transport with one injected fault; ``hook(op, target)`` runs before each call.

    ``pushed`` turns True once the manifest write returned, so hooks can fire "after the push".
    """

    def __init__(self, inner: Transport, hook: Hook | None) -> None:
        self.inner = inner
        self.host = inner.host
        self.hook = hook
        self.pushed = False
        self.reconnects = 0

    def _before(self, op: str, target: object) -> None:
        if self.hook is not None:
            self.hook(op, target)

    def run(
        self,
        argv: Sequence[str],
        *,
        sudo: bool = False,
        stdin: bytes | None = None,
        ok_exit_codes: Collection[int] = (0,),
        timeout_s: float = 60.0,
    ) -> CommandResult:
        self._before("run", tuple(argv))
        return self.inner.run(
            argv, sudo=sudo, stdin=stdin, ok_exit_codes=ok_exit_codes, timeout_s=timeout_s
        )

    def read(self, path: PurePosixPath, *, sudo: bool = True) -> bytes | None:
        self._before("read", path)
        return self.inner.read(path, sudo=sudo)

    def put_atomic(
        self, content: bytes, path: PurePosixPath, *, mode: int = 0o600, sudo: bool = True
    ) -> None:
        self._before("put", path)
        self.inner.put_atomic(content, path, mode=mode, sudo=sudo)
        if path.name == "kube-apiserver.yaml" and path.parent.name == "manifests":
            self.pushed = True

    def https_get(self, address: str, port: int, path: str, **options: object) -> HttpResponse:
        self._before("https", path)
        return self.inner.https_get(address, port, path, **options)  # type: ignore[attr-defined,no-any-return]

    def reconnect(self) -> None:
        self.reconnects += 1
        self._before("reconnect", None)
        self.inner.reconnect()  # type: ignore[attr-defined]

    def close(self) -> None:
        self.inner.close()


class _Events:
    def __init__(self) -> None:
        self.events: list[Event] = []

    def emit(self, event: Event) -> None:
        self.events.append(event)


def _apply(
    lab: LabHandle,
    hook_for: Callable[[_Faulty], Hook | None],
    *,
    extra: Sequence[str] = (CHANGE,),
    heartbeat_s: float | None = None,
) -> tuple[ExitCode, HostReport, _Faulty, _Events]:
    prepared = prepare([lab.inventory], extra_vars=list(extra), limit=NODE)
    made: list[_Faulty] = []

    def connect(host: object) -> Transport:
        faulty = _Faulty(connect_host(host, SshOptions()), None)  # type: ignore[arg-type]
        faulty.hook = hook_for(faulty)
        made.append(faulty)
        return faulty

    events = _Events()
    with open_transports(prepared.inventory.hosts, SshOptions(), connect=connect) as conns:
        transports = dict(conns.transports)
        plan = build_plan(
            prepared.states, prepared.manifests, transports, forks=1, run_id=new_run_id()
        )
        reports = apply_plan(
            plan,
            transports,
            clock=SystemClock(),
            reporter=events,
            options=ApplyOptions(heartbeat_s=heartbeat_s),
        )
    return exit_code_for_run(reports), reports[0], made[0], events


def _phases(report: HostReport) -> list[str]:
    return [p.phase for p in report.phases]


def _check_node(lab: LabHandle, name: str, manifest: bytes) -> None:
    lab.wait_ready(name, timeout_s=30)
    assert os.listdir(lab.node(name).manifests_dir) == ["kube-apiserver.yaml"], name
    assert lab.manifest(name).read_bytes() == manifest, name


def _lock_file(lab: LabHandle) -> Path:
    return lab.node(NODE).root / "etc" / "kubernetes" / "tmp" / LOCK_FILE_NAME


def _kill_sessions(lab: LabHandle) -> int:
    """Cut every SSH connection to the node: kill its sshd's per-connection children."""
    sshd_pid = int((lab.node(NODE).sshd_dir / "sshd.pid").read_text())
    killed = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == sshd_pid:
            os.kill(int(entry), 9)  # a session process of the lab's own sshd
            killed += 1
    return killed


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabHandle]:
    folder = tmp_path_factory.mktemp("faults")
    with running_lab(folder / "lab", nodes=2, first_address="127.0.140.1") as handle:
        yield handle


@pytest.fixture
def original(lab: LabHandle) -> Iterator[dict[str, bytes]]:
    """Each node's manifest before the test; every node is checked against it afterwards."""
    before = {n.name: lab.manifest(n.name).read_bytes() for n in lab.nodes}
    yield before
    for node in lab.nodes:
        _check_node(lab, node.name, before[node.name])


def test_push_that_fails_before_the_rename_restores_nothing_and_exits_3(
    lab: LabHandle, original: dict[str, bytes]
) -> None:
    def hook_for(faulty: _Faulty) -> Hook:
        def hook(op: str, target: object) -> None:
            if (
                op == "put"
                and isinstance(target, PurePosixPath)
                and target.parent.name == "manifests"
            ):
                raise TransportError(
                    f"cannot write {target.parent}/.kube-apiserver.yaml.0: [Errno 28] No space "
                    "left on device",
                    host=faulty.host.name,
                )

        return hook

    code, report, _, _ = _apply(lab, hook_for)
    assert code is ExitCode.ROLLED_BACK
    assert report.outcome is Outcome.FAILED
    assert "rollback" not in _phases(report)
    assert "ROLLBACK FAILED" not in str(report.error)
    assert "never changed" in str(report.error)
    assert not _lock_file(lab).exists(), "the lock is released: nothing was changed"


def test_unexpected_error_after_the_push_is_rolled_back(
    lab: LabHandle, original: dict[str, bytes]
) -> None:
    def hook_for(faulty: _Faulty) -> Hook:
        fired = []

        def hook(op: str, target: object) -> None:
            if op == "read" and faulty.pushed and not fired and str(target).endswith("admin.conf"):
                fired.append(target)
                raise UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte")

        return hook

    code, report, _, _ = _apply(lab, hook_for)
    assert code is ExitCode.ROLLED_BACK
    assert report.outcome is Outcome.ROLLED_BACK
    assert _phases(report)[-1] == "rollback"
    assert not _lock_file(lab).exists()


def test_connection_cut_during_the_restart_wait_reconnects_and_rolls_back(
    lab: LabHandle, original: dict[str, bytes]
) -> None:
    def hook_for(faulty: _Faulty) -> Hook:
        cut = []

        def hook(op: str, target: object) -> None:
            if faulty.pushed and not cut and op == "run":
                cut.append(_kill_sessions(lab))
                time.sleep(0.3)  # let paramiko notice the dead connection

        return hook

    code, report, faulty, events = _apply(lab, hook_for)
    assert code is ExitCode.ROLLED_BACK, report.error
    assert report.outcome is Outcome.ROLLED_BACK
    assert faulty.reconnects >= 1
    assert any("reconnecting" in e.message for e in events.events)
    assert not _lock_file(lab).exists()


def test_host_that_never_comes_back_exits_4_with_recovery_commands(
    lab: LabHandle, original: dict[str, bytes]
) -> None:
    def hook_for(faulty: _Faulty) -> Hook:
        def hook(op: str, target: object) -> None:
            if faulty.pushed:
                raise UnreachableError("the SSH connection was lost", host=faulty.host.name)

        return hook

    code, report, faulty, _ = _apply(lab, hook_for)
    assert code is ExitCode.ROLLBACK_FAILED
    assert report.outcome is Outcome.ROLLBACK_FAILED
    assert faulty.reconnects >= 3
    assert "did not come back" in str(report.error)
    assert "install -m 0600" in str(report.error.hint if report.error else "")
    # The host was left with the new manifest: put the old one back as the hint says.
    _lock_file(lab).unlink()
    lab.wait_ready(NODE, timeout_s=60)
    code, report, _, _ = _apply(lab, lambda f: None, extra=())
    assert code is ExitCode.OK, report.error


def test_lease_taken_during_a_step_stops_without_touching_the_host_again(
    lab: LabHandle, original: dict[str, bytes]
) -> None:
    def hook_for(faulty: _Faulty) -> Hook:
        def hook(op: str, target: object) -> None:
            lock = _lock_file(lab)
            if faulty.pushed and lock.exists() and "other-run" not in lock.read_text():
                now = int(time.time())
                lock.write_text(f"run_id=other-run\nacquired_at={now}\nexpires_at={now + 600}\n")
                time.sleep(1.0)  # the heartbeat (every 0.2 s) renews meanwhile: lost

        return hook

    code, report, faulty, _ = _apply(lab, hook_for, heartbeat_s=0.2)
    assert code is ExitCode.LOCKED
    assert report.outcome is Outcome.FAILED
    assert "rollback" not in _phases(report)
    assert "other-run" in _lock_file(lab).read_text(), "the other run's lock is left alone"
    changed = lab.manifest(NODE).read_bytes()
    assert changed != original[NODE], "the host was not touched again (no rollback)"
    _lock_file(lab).unlink()
    lab.wait_ready(NODE, timeout_s=60)  # the restart this run left behind, finished
    code, report, _, _ = _apply(lab, lambda f: None, extra=())
    assert code is ExitCode.OK, report.error


def _cli(lab: LabHandle, tmp_path: Path, *args: str) -> tuple[int, str]:
    """Run the command line in a child process (so it can be killed); return code and output."""
    argv = [
        sys.executable,
        "-m",
        "deployer",
        args[0],
        "-i",
        str(lab.inventory),
        "--limit",
        NODE,
        "--no-color",
        "--lock",
        str(tmp_path / "lock"),
        "-e",
        "soak_seconds=1",
        *args[1:],
    ]
    env = dict(os.environ, XDG_STATE_HOME=str(tmp_path / "state"), PYTHONUNBUFFERED="1")
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=180, check=False)
    return done.returncode, done.stdout + done.stderr


def test_the_run_after_a_kill_names_the_backup_and_repair_restores_it(
    lab: LabHandle, original: dict[str, bytes], tmp_path: Path
) -> None:
    # A change that passes validation but never gets ready: no etcd answers on that port.
    broken = f"apiserver_flags.etcd-servers=https://{lab.node(NODE).ip}:2999"
    env = dict(os.environ, XDG_STATE_HOME=str(tmp_path / "state"), PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "deployer",
            "apply",
            "-i",
            str(lab.inventory),
            "--limit",
            NODE,
            "--yes",
            "--no-color",
            "--lock",
            str(tmp_path / "lock"),
            "-e",
            broken,
            "-e",
            "ready_timeout=120",
            "-e",
            "soak_seconds=1",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    deadline = time.monotonic() + 90
    seen = []
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        seen.append(line)
        if f"[{NODE}] [restart] ok" in line or not line:
            break
    proc.send_signal(signal.SIGKILL)  # killed after the push, during verify, before rollback
    proc.wait(timeout=30)
    assert any(f"[{NODE}] [restart] ok" in line for line in seen), "".join(seen)
    assert lab.manifest(NODE).read_bytes() != original[NODE], "the broken push is live"
    temp = lab.node(NODE).manifests_dir / ".kube-apiserver.yaml.0123456789ab"
    temp.write_text("left by a killed run\n")

    # Without --repair: the run names the killed run's backup and how to restore it.
    code, out = _cli(lab, tmp_path, "apply", "--yes")
    assert code == 3, out
    assert "unverified push of run" in out and "deployer-backup-" in out, out
    assert "--repair" in out

    # converge --repair restores the previous manifest, waits for it and verifies it.
    code, out = _cli(lab, tmp_path, "converge", "--repair", "--json", str(tmp_path / "r.json"))
    assert code == 3, out
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["hosts"][NODE]["outcome"] == "rolled_back", report
    assert lab.manifest(NODE).read_bytes() == original[NODE]
    lab.wait_ready(NODE, timeout_s=60)

    # The next change removes the killed run's temp file and goes through.
    code, out = _cli(lab, tmp_path, "apply", "--yes", "-e", CHANGE)
    assert code == 0, out
    assert not temp.exists()
    assert "removed temp files a killed run left" in out
    code, out = _cli(lab, tmp_path, "apply", "--yes")  # back to the original for the checks
    assert code == 0, out


def test_a_report_that_cannot_be_written_keeps_the_exit_code_and_the_history(
    lab: LabHandle, original: dict[str, bytes], tmp_path: Path
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    code, out = _cli(lab, tmp_path, "apply", "--yes", "--json", str(blocker / "report.json"))
    assert code == 0, out
    assert "JSON report not written" in out
    history = (tmp_path / "state" / "deployer" / "history.jsonl").read_text()
    assert history.strip(), "the history line was written anyway"
