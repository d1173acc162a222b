"""Locks (DESIGN.md rule 10) and the re-check of a plan before acting (rule 3), on the lab."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path, PurePosixPath

import pytest
from rollout_support import Deployer

from deployer.lab.testing import LabHandle
from deployer.locks import LOCK_FILE_NAME, LocalRunLock, RemoteLock
from deployer.model.events import NullReporter, SystemClock
from deployer.model.report import Outcome
from deployer.offline import prepare
from deployer.phases.preflight import StalePlan
from deployer.rollout.observe import build_plan
from deployer.rollout.run import ApplyOptions, apply_plan
from deployer.transport.options import SshOptions
from deployer.transport.pool import open_transports

pytestmark = pytest.mark.integration

CHANGE = "apiserver_flags.audit-log-maxage=45"


def _lock_path(lab: LabHandle, node: str) -> PurePosixPath:
    return PurePosixPath(lab.node(node).root / "etc" / "kubernetes" / "tmp" / LOCK_FILE_NAME)


def test_plan_that_went_stale_touches_nothing(lab: LabHandle) -> None:
    prepared = prepare([lab.inventory], extra_vars=[CHANGE])
    with open_transports(prepared.inventory.hosts, SshOptions()) as connections:
        plan = build_plan(prepared.states, prepared.manifests, connections.transports, forks=3)
        assert len(plan.pending) == 3
        # Someone edits lab-cp1's manifest between plan and apply.
        manifest = lab.manifest("lab-cp1")
        edited = b"# edited after the plan\n" + manifest.read_bytes()
        manifest.write_bytes(edited)
        reports = apply_plan(
            plan,
            connections.transports,
            clock=SystemClock(),
            reporter=NullReporter(),
            options=ApplyOptions(),
        )
    assert [r.outcome for r in reports] == [Outcome.FAILED, Outcome.SKIPPED, Outcome.SKIPPED]
    assert isinstance(reports[0].error, StalePlan)
    assert manifest.read_bytes() == edited, "nothing was written over the operator's edit"
    backups = list((lab.node("lab-cp1").root / "etc" / "kubernetes" / "tmp").glob("deployer-*"))
    assert backups == []


def test_local_lock_held_exits_7_at_once(
    lab: LabHandle, deployer: Deployer, tmp_path: Path
) -> None:
    with LocalRunLock.acquire(tmp_path / "deployer.lock", run_id="someone-else"):
        assert deployer("apply", "-e", CHANGE) == 7
    assert deployer("plan", "-e", CHANGE) == 2, "nothing was changed by the locked run"


def test_host_lock_held_by_another_run_stops_the_rollout_with_7(
    lab: LabHandle, deployer: Deployer
) -> None:
    prepared = prepare([lab.inventory], limit="lab-cp2")
    with open_transports(prepared.inventory.hosts, SshOptions()) as connections:
        transport = connections.transports["lab-cp2"]
        held = RemoteLock.acquire(transport, _lock_path(lab, "lab-cp2"), "other-run", 600)
        try:
            assert deployer("apply", "-e", CHANGE) == 7
        finally:
            held.release(transport)
    hosts = deployer.hosts()
    assert hosts["lab-cp1"]["outcome"] == "changed"
    assert hosts["lab-cp2"]["outcome"] == "failed"
    assert "other-run" in str(hosts["lab-cp2"]["error"])
    assert hosts["lab-cp3"]["outcome"] == "skipped"


def test_a_crashed_run_leaves_no_lock_that_blocks_the_next(
    lab: LabHandle, deployer: Deployer
) -> None:
    node = lab.node("lab-cp1")
    # A run that takes lab-cp1's lock with a long lease and dies without releasing it.
    script = textwrap.dedent(
        f"""
        import os, signal
        from pathlib import PurePosixPath
        from deployer.locks import RemoteLock
        from deployer.offline import prepare
        from deployer.transport.options import SshOptions
        from deployer.transport.pool import open_transports
        prepared = prepare([{str(lab.inventory)!r}], limit="lab-cp1")
        lock = PurePosixPath({str(_lock_path(lab, "lab-cp1"))!r})
        with open_transports(prepared.inventory.hosts, SshOptions()) as c:
            RemoteLock.acquire(c.transports["lab-cp1"], lock, "crashed-run", 900)
            print("locked", flush=True)
            os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    crashed = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert crashed.returncode == -signal.SIGKILL and "locked" in crashed.stdout, crashed.stderr
    assert Path(str(_lock_path(lab, "lab-cp1"))).exists(), "the crashed run left its lock"
    assert os.path.isdir(node.root)
    assert deployer("apply", "-e", CHANGE) == 0
    assert deployer.hosts()["lab-cp1"]["outcome"] == "changed"
