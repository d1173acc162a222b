"""Masked diffs of companion files: a changed key says so, no key is ever printed."""

from __future__ import annotations

import base64

import yaml

from deployer.companions import masked_diff, render_document
from deployer.model.host import Secret

OLD_KEY = base64.b64encode(b"old-key-0123456!").decode()
NEW_KEY = base64.b64encode(b"new-key-0123456!").decode()


def _enc(secret: object, resources: tuple[str, ...] = ("secrets",)) -> dict[str, object]:
    return {
        "apiVersion": "apiserver.config.k8s.io/v1",
        "kind": "EncryptionConfiguration",
        "resources": [
            {
                "resources": list(resources),
                "providers": [
                    {"aescbc": {"keys": [{"name": "key1", "secret": secret}]}},
                    {"identity": {}},
                ],
            }
        ],
    }


def test_a_rotated_key_shows_as_key_changed_and_never_as_the_key() -> None:
    diff = masked_diff(
        _enc(Secret(OLD_KEY)),
        _enc(Secret(NEW_KEY)),
        name="enc.yaml",
        kind="EncryptionConfiguration",
    )
    assert OLD_KEY not in diff
    assert NEW_KEY not in diff
    removed = [line for line in diff.splitlines() if line.startswith("-") and "secret" in line]
    added = [line for line in diff.splitlines() if line.startswith("+") and "secret" in line]
    assert removed == ["-        secret: '***'"]
    assert added == ["+        secret: '***'  # key changed"]


def test_an_unchanged_key_is_not_reported_when_something_else_changes() -> None:
    diff = masked_diff(
        _enc(Secret(OLD_KEY)),
        _enc(Secret(OLD_KEY), ("secrets", "configmaps")),
        name="enc.yaml",
        kind="EncryptionConfiguration",
    )
    assert "key changed" not in diff
    assert "+  - configmaps" in diff
    assert OLD_KEY not in diff


def test_identical_versions_have_an_empty_diff() -> None:
    same = _enc(Secret(OLD_KEY))
    assert masked_diff(same, _enc(Secret(OLD_KEY)), name="enc.yaml") == ""


def test_a_clear_text_key_read_back_from_the_host_is_masked_too() -> None:
    # The host's file is parsed from text: its keys are plain strings, not Secret values.
    diff = masked_diff(
        _enc(OLD_KEY), _enc(Secret(NEW_KEY)), name="enc.yaml", kind="EncryptionConfiguration"
    )
    assert OLD_KEY not in diff
    assert NEW_KEY not in diff
    assert "# key changed" in diff


def test_a_new_file_is_all_additions_with_masked_keys() -> None:
    diff = masked_diff(None, _enc(Secret(NEW_KEY)), name="enc.yaml", kind="EncryptionConfiguration")
    assert diff.startswith("--- enc.yaml (host)\n+++ enc.yaml (desired)\n")
    assert NEW_KEY not in diff
    assert "+        secret: '***'\n" in diff
    assert not [line for line in diff.splitlines()[2:] if line.startswith("-")]


def test_generic_secret_names_in_other_kinds_are_masked_by_the_text_filter() -> None:
    old = {"kind": "AdmissionConfiguration", "plugins": [{"name": "X", "configuration": {}}]}
    new = {
        "kind": "AdmissionConfiguration",
        "plugins": [{"name": "X", "configuration": {"token": "tok-12345-abcdef"}}],
    }
    diff = masked_diff(old, new, name="admission.yaml")
    assert "tok-12345-abcdef" not in diff
    assert "token: ***" in diff


def test_render_reveals_only_when_asked_and_is_deterministic() -> None:
    doc = _enc(Secret(NEW_KEY))
    shown = render_document(doc, reveal=False, kind="EncryptionConfiguration")
    written = render_document(doc, reveal=True, kind="EncryptionConfiguration")
    assert NEW_KEY not in shown
    assert yaml.safe_load(written) == _enc(NEW_KEY)
    assert render_document(doc, reveal=True, kind="EncryptionConfiguration") == written
    assert written.startswith(
        "apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\n"
    )
