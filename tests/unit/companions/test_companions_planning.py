"""Planning companion files: digests decide, content is read only to diff, secrets stay masked."""

from __future__ import annotations

import base64
import dataclasses
from pathlib import Path, PurePosixPath

from inventory_fixtures import POLICY, prepared

from deployer.companions.planning import (
    change_lines,
    change_report,
    changed_paths,
    companion_changes,
    plan_companions,
)
from deployer.desired import DesiredState
from deployer.facts.observe import FileFact, HostObservation
from deployer.model.manifest import sha256_hex
from deployer.phases.observe import watched_files
from deployer.rollout.plan import plan_host
from deployer.testing import FakeTransport

KEY_OLD = base64.b64encode(b"o" * 32).decode()
KEY_NEW = base64.b64encode(b"n" * 32).decode()
POLICY_PATH = PurePosixPath("/etc/kubernetes/audit/policy.yaml")
ENC_PATH = PurePosixPath("/etc/kubernetes/pki/encryption.yaml")
ENCRYPTION = """
apiserver_flags:
  encryption-provider-config: /etc/kubernetes/pki/encryption.yaml
apiserver_files:
  - path: /etc/kubernetes/pki/encryption.yaml
    content:
      apiVersion: apiserver.config.k8s.io/v1
      kind: EncryptionConfiguration
      resources:
        - resources: [secrets]
          providers:
            - aescbc:
                keys:
                  - {name: key1, secret: {secret_env: ENC_KEY}}
            - identity: {}
"""
LIVE_ENCRYPTION = f"""apiVersion: apiserver.config.k8s.io/v1
kind: EncryptionConfiguration
resources:
- resources:
  - secrets
  providers:
  - aescbc:
      keys:
      - name: key1
        secret: {KEY_OLD}
  - identity: {{}}
""".encode()


def _policy_state(tmp_path: Path) -> DesiredState:
    return prepared(tmp_path, {"group_vars/control_plane.yml+": POLICY}).states[0]


def _encryption_state(tmp_path: Path) -> DesiredState:
    files = {"group_vars/control_plane.yml+": ENCRYPTION}
    return prepared(tmp_path, files, environ={"ENC_KEY": KEY_NEW}).states[0]


class _CountingTransport(FakeTransport):
    """Records every file read (the observation already has the digests)."""

    def __init__(self, state: DesiredState, files: dict[PurePosixPath, bytes]) -> None:
        super().__init__(state.host, files=files)
        self.reads: list[PurePosixPath] = []

    def read(self, path: PurePosixPath, *, sudo: bool = True) -> bytes | None:
        self.reads.append(path)
        return super().read(path, sudo=sudo)


def _observed(facts: list[FileFact]) -> HostObservation:
    return HostObservation(
        manifest=None,
        listing=None,
        containers=None,
        running_args=None,
        kubelet_rc=None,
        files=tuple(facts),
    )


def test_the_observation_watches_every_companion(tmp_path: Path) -> None:
    state = _policy_state(tmp_path)
    assert POLICY_PATH in watched_files(state)


def test_a_file_with_the_desired_digest_is_no_change(tmp_path: Path) -> None:
    state = _policy_state(tmp_path)
    (policy,) = state.companions
    fact = FileFact(str(POLICY_PATH), 1, policy.sha256)
    assert companion_changes(state, {POLICY_PATH: fact}) == ()
    assert companion_changes(state, {POLICY_PATH: policy.content}) == ()


def test_an_absent_file_is_created_with_a_full_diff(tmp_path: Path) -> None:
    state = _policy_state(tmp_path)
    (change,) = companion_changes(state, {POLICY_PATH: None})
    assert change.live_sha256 is None
    assert "+kind: Policy" in change.diff
    assert change_lines(change) == f"+ {POLICY_PATH} (Policy, restart)"


def test_a_changed_file_diffs_its_text(tmp_path: Path) -> None:
    state = _policy_state(tmp_path)
    live = b"apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: None\n"
    (change,) = companion_changes(state, {POLICY_PATH: live})
    assert change.live_sha256 == sha256_hex(live)
    assert "-- level: None\n" in change.diff and "+- level: Metadata\n" in change.diff
    assert change_lines(change).startswith("~ ")


def test_only_differing_files_are_read(tmp_path: Path) -> None:
    state = _policy_state(tmp_path)
    (policy,) = state.companions
    same = _CountingTransport(state, {POLICY_PATH: policy.content})
    in_sync = _observed([FileFact(str(POLICY_PATH), 1, policy.sha256)])
    assert plan_companions(same, state, in_sync) == ()
    assert same.reads == []
    other = b"kind: Policy\n"
    differs = _CountingTransport(state, {POLICY_PATH: other})
    observed = _observed([FileFact(str(POLICY_PATH), 1, sha256_hex(other))])
    assert changed_paths(state, {POLICY_PATH: observed.files[0]}) == (POLICY_PATH,)
    (change,) = plan_companions(differs, state, observed)
    assert differs.reads == [POLICY_PATH]
    assert "+- level: Metadata" in change.diff
    absent = _CountingTransport(state, {})
    (created,) = plan_companions(absent, state, _observed([FileFact(str(POLICY_PATH), None, None)]))
    assert absent.reads == [] and created.live_sha256 is None


def test_a_rotated_key_says_key_changed_and_never_shows_either_key(tmp_path: Path) -> None:
    state = _encryption_state(tmp_path)
    (change,) = companion_changes(state, {ENC_PATH: LIVE_ENCRYPTION})
    assert "# key changed" in change.diff
    assert KEY_OLD not in change.diff and KEY_NEW not in change.diff
    report = change_report([change])
    assert report[0]["secret"] is True and report[0]["kind"] == "EncryptionConfiguration"
    assert KEY_NEW not in str(report) and KEY_OLD not in str(report)
    assert change_lines(change) == f"~ {ENC_PATH} (EncryptionConfiguration, restart, secret)"


def test_a_new_secret_file_shows_only_masks(tmp_path: Path) -> None:
    state = _encryption_state(tmp_path)
    (change,) = companion_changes(state, {ENC_PATH: None})
    assert "secret: '***'" in change.diff or "secret: ***" in change.diff
    assert KEY_NEW not in change.diff


def test_drift_has_a_companions_layer(tmp_path: Path) -> None:
    result = prepared(tmp_path, {"group_vars/control_plane.yml+": POLICY})
    state = result.states[0]
    desired = result.manifests[state.host.name]
    observed = _observed([])
    observed = dataclasses.replace(observed, manifest=desired.content)
    plan = plan_host(state, desired, observed)
    assert plan.drift["companions"] == []

    changed = dataclasses.replace(
        plan, companion_changes=companion_changes(state, {POLICY_PATH: None})
    )
    assert changed.drift["companions"] == [str(POLICY_PATH)]
    assert changed.drift["detected"] is True and changed.needs_change


def test_plan_text_lists_the_changes_and_their_masked_diffs(tmp_path: Path) -> None:
    from rich.console import Console

    from deployer.cli.output import print_plan
    from deployer.model.plan import Plan

    result = prepared(
        tmp_path, {"group_vars/control_plane.yml+": ENCRYPTION}, environ={"ENC_KEY": KEY_NEW}
    )
    state = result.states[0]
    desired = result.manifests[state.host.name]
    observed = dataclasses.replace(_observed([]), manifest=desired.content)
    plan = dataclasses.replace(
        plan_host(state, desired, observed),
        companion_changes=companion_changes(state, {ENC_PATH: LIVE_ENCRYPTION}),
    )
    console = Console(record=True, width=200)
    print_plan(console, Plan(run_id="r", hosts=(plan,)), show_diff=True)
    text = console.export_text()
    assert f"~ {ENC_PATH} (EncryptionConfiguration, restart, secret)" in text
    assert "# key changed" in text
    assert KEY_NEW not in text and KEY_OLD not in text
    assert "plan: 1 to change" in text
