"""The manifest carries one digest of its restart-mode companions, and nothing without them."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import PurePosixPath

import yaml
from render_fixtures import make_state

from deployer.model.files import ApplyMode, CompanionFile, ReloadEvidence
from deployer.render import render_manifest
from deployer.render.context import COMPANIONS_ANNOTATION

POLICY = CompanionFile.from_content(
    PurePosixPath("/etc/kubernetes/audit/policy.yaml"), b"kind: Policy\n", kind="Policy"
)
AUTHN = CompanionFile.from_content(
    PurePosixPath("/etc/kubernetes/pki/authn.yaml"),
    b"kind: AuthenticationConfiguration\n",
    kind="AuthenticationConfiguration",
)


def _annotations(files: tuple[CompanionFile, ...]) -> dict[str, str]:
    state = dataclasses.replace(make_state(), companions=files)
    pod = yaml.safe_load(render_manifest(state).content)
    return dict(pod["metadata"].get("annotations") or {})


def test_without_companions_the_manifest_is_unchanged() -> None:
    state = make_state()
    assert dataclasses.replace(state, companions=()).companions == ()
    assert COMPANIONS_ANNOTATION not in _annotations(())
    assert (
        render_manifest(state).content
        == render_manifest(dataclasses.replace(state, companions=())).content
    )


def test_the_digest_covers_sorted_path_and_sha256_lines() -> None:
    lines = sorted(f"{f.path}:{f.sha256}\n" for f in (POLICY, AUTHN))
    expected = hashlib.sha256("".join(lines).encode()).hexdigest()
    assert _annotations((POLICY, AUTHN))[COMPANIONS_ANNOTATION] == expected
    assert _annotations((AUTHN, POLICY))[COMPANIONS_ANNOTATION] == expected


def test_a_companion_only_change_changes_the_manifest() -> None:
    changed = CompanionFile.from_content(POLICY.path, b"kind: Policy\nrules: []\n", kind="Policy")
    before = _annotations((POLICY,))[COMPANIONS_ANNOTATION]
    after = _annotations((changed,))[COMPANIONS_ANNOTATION]
    assert before != after


def test_reloaded_files_stay_out_of_the_digest() -> None:
    evidence = ReloadEvidence("apiserver_authentication_config_controller_automatic_reloads_total")
    reloaded = dataclasses.replace(AUTHN, apply=ApplyMode.RELOAD, reload=evidence)
    assert COMPANIONS_ANNOTATION not in _annotations((reloaded,))
    assert _annotations((POLICY, reloaded)) == _annotations((POLICY,))
