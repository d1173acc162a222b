"""A host's file set over real SSH: companions then the manifest, restored together (rule 12).

The lab's apiserver stand-in does not read companion files yet, so the failure here comes
from the manifest (an etcd nobody answers: /readyz never turns 200); what is under test is
the rollout's side: every file written atomically over SFTP, the backup's index, and every
file restored (the new one deleted) with nothing left in the manifests folder.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Iterator, Sequence
from pathlib import Path, PurePosixPath

import pytest

from deployer.lab.testing import LabHandle, running_lab
from deployer.model.events import NullReporter, SystemClock
from deployer.model.files import CompanionChange, CompanionFile
from deployer.model.manifest import sha256_hex
from deployer.model.report import HostReport, Outcome
from deployer.offline import prepare
from deployer.phases.backup import FILES_INDEX
from deployer.rollout.observe import build_plan, new_run_id
from deployer.rollout.run import ApplyOptions, apply_plan
from deployer.transport.options import SshOptions
from deployer.transport.pool import open_transports

pytestmark = pytest.mark.integration

NODE = "lab-cp1"
KEPT = PurePosixPath("/etc/kubernetes/deployer-set/kept.yaml")
ADDED = PurePosixPath("/etc/kubernetes/deployer-set/new/added.yaml")
OLD = b"kind: Kept\nversion: 1\n"


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabHandle]:
    folder = tmp_path_factory.mktemp("fileset")
    with running_lab(folder / "lab", nodes=1, first_address="127.0.150.1") as handle:
        yield handle


def _on_node(lab: LabHandle, path: PurePosixPath) -> Path:
    return lab.node(NODE).root / str(path).lstrip("/")


def _apply(lab: LabHandle, extra: Sequence[str], kept: bytes, added: bytes) -> HostReport:
    prepared = prepare([lab.inventory], extra_vars=list(extra), limit=NODE)
    with open_transports(prepared.inventory.hosts, SshOptions()) as conns:
        transports = dict(conns.transports)
        plan = build_plan(
            prepared.states, prepared.manifests, transports, forks=1, run_id=new_run_id()
        )
        live = _on_node(lab, KEPT).read_bytes()
        changes = (
            CompanionChange(CompanionFile.from_content(KEPT, kept), sha256_hex(live)),
            CompanionChange(CompanionFile.from_content(ADDED, added, mode=0o640), None),
        )
        host_plan = dataclasses.replace(plan.hosts[0], companion_changes=changes)
        (report,) = apply_plan(
            dataclasses.replace(plan, hosts=(host_plan,)),
            transports,
            clock=SystemClock(),
            reporter=NullReporter(),
            options=ApplyOptions(),
        )
    return report


def _reset(lab: LabHandle) -> None:
    kept = _on_node(lab, KEPT)
    kept.parent.mkdir(parents=True, exist_ok=True)
    kept.write_bytes(OLD)
    added = _on_node(lab, ADDED)
    if added.exists():
        added.unlink()


def test_failed_set_restores_every_file_and_deletes_the_new_one(lab: LabHandle) -> None:
    _reset(lab)
    before = lab.manifest(NODE).read_bytes()
    dead_etcd = f"apiserver_flags.etcd-servers=https://{lab.node(NODE).ip}:2999"
    report = _apply(lab, [dead_etcd, "ready_timeout=8"], b"kind: Kept\nversion: 2\n", b"x: 1\n")
    assert report.outcome is Outcome.ROLLED_BACK, report.error
    assert lab.manifest(NODE).read_bytes() == before
    assert _on_node(lab, KEPT).read_bytes() == OLD
    assert not _on_node(lab, ADDED).exists(), "absent before the run: deleted by the restore"
    assert os.listdir(lab.node(NODE).manifests_dir) == ["kube-apiserver.yaml"]
    assert report.backup_path is not None
    folder = Path(str(report.backup_path))  # under host_root: the node's folder here
    index = json.loads((folder / FILES_INDEX).read_text())
    assert [e["path"] for e in index["files"]] == [str(KEPT), str(ADDED)]
    assert (folder / index["files"][0]["copy"]).read_bytes() == OLD
    lab.wait_ready(NODE, timeout_s=30)


def test_set_applied_with_the_manifest_last(lab: LabHandle) -> None:
    _reset(lab)
    new = b"kind: Kept\nversion: 3\n"
    report = _apply(lab, ["apiserver_flags.audit-log-maxage=44"], new, b"y: 2\n")
    assert report.outcome is Outcome.CHANGED, report.error
    assert _on_node(lab, KEPT).read_bytes() == new
    added = _on_node(lab, ADDED)
    assert added.read_bytes() == b"y: 2\n"
    assert oct(added.stat().st_mode & 0o777) == oct(0o640)
    assert os.listdir(lab.node(NODE).manifests_dir) == ["kube-apiserver.yaml"]
    assert b"--audit-log-maxage=44" in lab.manifest(NODE).read_bytes()
