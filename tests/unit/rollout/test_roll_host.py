"""The per-host algorithm, table-driven over a simulated node (no sshd, no sleeping).

Like kubeadm's ``staticpods_test.go`` with its fake waiter: every branch of a host's rollout
(restart timeout, a container that exits, failed verification, a rollback that works or not,
a lost lease, a stale plan, Ctrl-C between steps, a set failing half-way, a reload that never
shows) is one row, and the outcome is read off the node's files and containers.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import PurePosixPath

import pytest
from simhost import MANIFEST_PATH, SimHost, manifest

from deployer.desired import desired_state
from deployer.errors import TransportError
from deployer.locks import LockLost
from deployer.model.events import NullReporter
from deployer.model.files import ApplyMode, CompanionChange, CompanionFile, ReloadEvidence
from deployer.model.manifest import Manifest, sha256_hex
from deployer.model.plan import HostPlan
from deployer.model.report import HostReport, Outcome
from deployer.phases.backup import FILES_INDEX
from deployer.phases.context import HostContext
from deployer.rollout.host import HostOptions, roll_host
from deployer.rollout.plan import plan_host
from deployer.testing import Expect

OLD = manifest("v1.31.13")
NEW = manifest("v1.31.13", "--audit-log-maxage=30")
AUDIT = PurePosixPath("/etc/kubernetes/audit/policy.yaml")
AUTHN = PurePosixPath("/etc/kubernetes/authn.yaml")
OLD_POLICY = b"apiVersion: audit.k8s.io/v1\nkind: Policy\nrules: [{level: None}]\n"
NEW_POLICY = b"apiVersion: audit.k8s.io/v1\nkind: Policy\nrules: [{level: Metadata}]\n"
OLD_AUTHN = b"apiVersion: apiserver.config.k8s.io/v1\nkind: AuthenticationConfiguration\n"
NEW_AUTHN = OLD_AUTHN + b"jwt: []\n"
EVIDENCE = ReloadEvidence(
    counter="apiserver_authentication_config_controller_automatic_reloads_total",
    labels={"status": "success"},
    info_metric="apiserver_authentication_config_controller_last_config_info",
)


def _sha(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def _companion(
    path: PurePosixPath, content: bytes, live: bytes | None, **kw: object
) -> CompanionChange:
    file = CompanionFile.from_content(path, content, **kw)  # type: ignore[arg-type]
    return CompanionChange(file, sha256_hex(live) if live is not None else None)


@dataclass
class Case:
    """One row: the node, the change, the scenario; what must come out."""

    name: str
    outcome: Outcome
    #: The manifest on disk afterwards.
    manifest_after: bytes | None
    desired: bytes = NEW
    companions: tuple[CompanionChange, ...] = ()
    files: dict[PurePosixPath, bytes] = field(default_factory=dict)
    watched: PurePosixPath | None = None
    #: Prepares the scenario on the node (kubelet and apiserver behaviour, failures).
    scenario: Callable[[SimHost], None] = lambda host: None
    #: Companion files afterwards (None: absent).
    files_after: dict[PurePosixPath, bytes | None] = field(default_factory=dict)
    error_words: str = ""
    #: The phases recorded, in order.
    phases: tuple[str, ...] = ()


def _new_exits(host: SimHost) -> None:
    host.behaviour.containers[_sha(NEW)] = "exit"


def _new_never_starts(host: SimHost) -> None:
    host.behaviour.containers[_sha(NEW)] = "none"


def _new_not_ready(host: SimHost) -> None:
    host.behaviour.not_ready.add(_sha(NEW))


def _rollback_stuck(host: SimHost) -> None:
    host.behaviour.containers[_sha(NEW)] = "exit"
    host.behaviour.kubelet_stops_after = 1


def _edited_since_planned(host: SimHost) -> None:
    host.transport.files[MANIFEST_PATH] = OLD + b"# edited by hand\n"


def _lease_lost_in_restart(host: SimHost) -> None:
    argv = ("crictl", "ps", "-a", "-o", "json", "--name", "^kube-apiserver$")
    host.transport.expect(
        Expect(argv=argv, error=LockLost(path="/etc/kubernetes/tmp/lock", holder=None, host="cp1"))
    )


def _second_companion_write_fails(host: SimHost) -> None:
    # Backup: manifest copy, run record, the audit policy's copy, the index (4 writes); then
    # the set: the audit policy (5) lands, the authentication config (6) fails.
    host.transport.put_failures[6] = TransportError("cannot write: No space left", host="cp1")


def _no_kubeconfig(host: SimHost) -> None:
    del host.transport.files[PurePosixPath("/etc/kubernetes/admin.conf")]


def _reload_rejected(host: SimHost) -> None:
    host.behaviour.rejected.add(_sha(NEW_AUTHN))


RESTART_SET = (
    _companion(AUDIT, NEW_POLICY, OLD_POLICY),
    _companion(AUTHN, NEW_AUTHN, None),
)
RELOAD_SET = (_companion(AUTHN, NEW_AUTHN, OLD_AUTHN, apply=ApplyMode.RELOAD, reload=EVIDENCE),)

CASES = [
    Case(
        "manifest change applied and verified",
        Outcome.CHANGED,
        NEW,
        phases=("lock", "preflight", "backup", "push", "restart", "verify"),
    ),
    Case(
        "restart timeout rolls back",
        Outcome.ROLLED_BACK,
        OLD,
        scenario=_new_never_starts,
        error_words="did not start a new kube-apiserver pod",
        phases=("lock", "preflight", "backup", "push", "restart", "rollback"),
    ),
    Case(
        "container exited rolls back and the rollback is verified",
        Outcome.ROLLED_BACK,
        OLD,
        scenario=_new_exits,
        error_words="exited",
    ),
    Case(
        "verify failed rolls back",
        Outcome.ROLLED_BACK,
        OLD,
        scenario=_new_not_ready,
        error_words="rolled back to the previous manifest",
        phases=("lock", "preflight", "backup", "push", "restart", "verify", "rollback"),
    ),
    Case(
        "rollback failed: no apiserver runs from the restored manifest",
        Outcome.ROLLBACK_FAILED,
        OLD,
        scenario=_rollback_stuck,
        error_words="ROLLBACK FAILED",
    ),
    Case(
        "lease lost: nothing more is done on the host, the new manifest stays",
        Outcome.FAILED,
        NEW,
        scenario=_lease_lost_in_restart,
        error_words="lock",
        phases=("lock", "preflight", "backup", "push", "restart"),
    ),
    Case(
        "stale plan: nothing touched",
        Outcome.FAILED,
        OLD + b"# edited by hand\n",
        scenario=_edited_since_planned,
        error_words="changed since it was planned",
        phases=("lock", "preflight"),
    ),
    Case(
        "companion set applied: companions then the manifest",
        Outcome.CHANGED,
        NEW,
        companions=RESTART_SET,
        files={AUDIT: OLD_POLICY},
        files_after={AUDIT: NEW_POLICY, AUTHN: NEW_AUTHN},
    ),
    Case(
        "a companion failing to write half-way restores every file",
        Outcome.ROLLED_BACK,
        OLD,
        companions=RESTART_SET,
        files={AUDIT: OLD_POLICY},
        scenario=_second_companion_write_fails,
        files_after={AUDIT: OLD_POLICY, AUTHN: None},
        error_words="No space left",
        phases=("lock", "preflight", "backup", "push", "rollback"),
    ),
    Case(
        "a set whose new pod exits restores every file",
        Outcome.ROLLED_BACK,
        OLD,
        companions=RESTART_SET,
        files={AUDIT: OLD_POLICY},
        scenario=_new_exits,
        files_after={AUDIT: OLD_POLICY, AUTHN: None},
    ),
    Case(
        "a reload-mode file is picked up without a restart",
        Outcome.CHANGED,
        OLD,
        desired=OLD,
        companions=RELOAD_SET,
        files={AUTHN: OLD_AUTHN},
        watched=AUTHN,
        files_after={AUTHN: NEW_AUTHN},
        phases=("lock", "preflight", "backup", "push", "reload", "verify"),
    ),
    Case(
        "a reload set whose counters cannot be read first touches nothing",
        Outcome.FAILED,
        OLD,
        desired=OLD,
        companions=RELOAD_SET,
        files={AUTHN: OLD_AUTHN},
        watched=AUTHN,
        scenario=_no_kubeconfig,
        files_after={AUTHN: OLD_AUTHN},
        error_words="kubeconfig",
        phases=("lock", "preflight", "backup"),
    ),
    Case(
        "a reload whose evidence never comes is restored",
        Outcome.ROLLED_BACK,
        OLD,
        desired=OLD,
        companions=RELOAD_SET,
        files={AUTHN: OLD_AUTHN},
        watched=AUTHN,
        scenario=_reload_rejected,
        files_after={AUTHN: OLD_AUTHN},
        error_words="showed no reload",
        phases=("lock", "preflight", "backup", "push", "reload", "rollback"),
    ),
]


def _plan(host: SimHost, case: Case) -> HostPlan:
    state, problems = desired_state(host.host)
    assert problems == []
    desired = Manifest.from_content(MANIFEST_PATH, case.desired)
    plan = plan_host(state, desired, host.observe(host.transport, state))
    return dataclasses.replace(plan, companion_changes=case.companions)


def _roll(case: Case) -> tuple[SimHost, HostReport]:
    host = SimHost(OLD, files=dict(case.files), watched=case.watched)
    plan = _plan(host, case)
    case.scenario(host)
    ctx = HostContext(plan.state, host.transport, host.clock, NullReporter(), "run-1")
    options = HostOptions(heartbeat_s=3600, observe=host.observe)
    return host, roll_host(ctx, plan, options)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_roll_host(case: Case) -> None:
    host, report = _roll(case)
    assert report.outcome is case.outcome, report.error
    assert host.manifest == case.manifest_after
    for path, content in case.files_after.items():
        assert host.transport.files.get(path) == content, path
    assert host.strays() == []
    if case.error_words:
        assert report.error is not None
        assert case.error_words in str(report.error.message)
    if case.phases:
        assert tuple(p.phase for p in report.phases) == case.phases
    if report.outcome in (Outcome.CHANGED, Outcome.ROLLED_BACK) or "stale" in case.name:
        assert host.released  # the lock is released, except when another run owns it now
    host.transport.assert_all_used()


def test_backup_holds_every_file_of_the_set_and_an_index() -> None:
    case = next(c for c in CASES if c.name.startswith("companion set applied"))
    host, report = _roll(case)
    assert report.backup_path is not None
    folder = report.backup_path
    files = host.transport.files
    assert files[folder / "kube-apiserver.yaml"] == OLD  # where rollback and doctor look
    index = json.loads(files[folder / FILES_INDEX])
    entries = {e["path"]: e for e in index["files"]}
    assert files[folder / entries[str(AUDIT)]["copy"]] == OLD_POLICY
    assert entries[str(AUDIT)]["sha256"] == _sha(OLD_POLICY)
    assert entries[str(AUTHN)]["copy"] is None  # absent before: a restore deletes it


def test_restart_evidence_is_a_typed_field_of_the_report() -> None:
    host, report = _roll(CASES[0])
    running = host.running()
    assert running is not None and report.restart is not None
    assert report.restart.new_id == running.id
    assert report.restart.old_id is not None and report.restart.old_id != running.id


def test_set_is_written_companions_first_manifest_last() -> None:
    case = next(c for c in CASES if c.name.startswith("companion set applied"))
    host, _ = _roll(case)
    written = [p.path for p in host.transport.puts if p.path in (AUDIT, AUTHN, MANIFEST_PATH)]
    assert written == [AUDIT, AUTHN, MANIFEST_PATH]


def test_reload_mode_change_restarts_nothing() -> None:
    case = next(c for c in CASES if c.name.startswith("a reload-mode file is picked up"))
    host, report = _roll(case)
    assert report.outcome is Outcome.CHANGED
    assert host.restarts == 0
    assert report.restart is None
    assert dict(report.details)["reload"] == [{"path": str(AUTHN), "count": 1.0}]


def test_ctrl_c_between_steps_stops_at_once_and_touches_nothing_more() -> None:
    host = SimHost(OLD)
    plan = _plan(host, CASES[0])
    ctx = HostContext(plan.state, host.transport, host.clock, NullReporter(), "run-1")
    answer_ps = host.ps

    def ps_then_interrupt(argv: tuple[str, ...]) -> Expect:
        # The operator presses Ctrl-C twice while the restart is waited for.
        if host.manifest == NEW:
            raise KeyboardInterrupt
        return answer_ps(argv)

    host.ps = ps_then_interrupt  # type: ignore[method-assign]
    with pytest.raises(KeyboardInterrupt):
        roll_host(ctx, plan, HostOptions(heartbeat_s=3600, observe=host.observe))
    assert host.manifest == NEW  # pushed: the CLI reports the host as left mid-change
    assert not host.released  # nothing ran after the interrupt, not even the release
    assert host.transport.puts[-1].path == MANIFEST_PATH  # the last write was the push


def test_refuses_a_startup_companion_without_a_manifest_change() -> None:
    case = Case(
        "x",
        Outcome.FAILED,
        OLD,
        desired=OLD,
        companions=(_companion(AUDIT, NEW_POLICY, OLD_POLICY),),
        files={AUDIT: OLD_POLICY},
    )
    host, report = _roll(case)
    assert report.outcome is Outcome.FAILED
    assert report.error is not None and "nothing would restart" in report.error.message
    assert host.transport.puts == []
    assert host.transport.files[AUDIT] == OLD_POLICY
