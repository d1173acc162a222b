"""Secret references resolved on the workstation: values marked secret, errors that name the
variable or the file and never the value."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
import yaml

from deployer.companions import clear_text_secrets, resolve_secrets, validate_companion
from deployer.errors import ExitCode, InputError, exit_code_for
from deployer.model.host import Secret

KEY = base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()
SHORT_KEY = base64.b64encode(b"0123456789").decode()

ENCRYPTION = """
apiVersion: apiserver.config.k8s.io/v1
kind: EncryptionConfiguration
resources:
  - resources: [secrets]
    providers:
      - aescbc:
          keys:
            - name: key1
              secret: {secret_env: ENC_KEY_1}
            - name: key0
              secret: {secret_file: keys/old.b64}
      - identity: {}
"""


def _doc() -> object:
    return yaml.safe_load(ENCRYPTION)


def _write(base: Path, rel: str, content: bytes) -> None:
    path = base / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)


def test_references_become_secrets_and_validate_by_their_value(tmp_path: Path) -> None:
    _write(tmp_path, "keys/old.b64", (KEY + "\n").encode())
    doc = resolve_secrets(_doc(), file="enc.yaml", base_dir=tmp_path, environ={"ENC_KEY_1": KEY})
    keys = doc["resources"][0]["providers"][0]["aescbc"]["keys"]  # type: ignore[index]
    assert keys[0]["secret"] == Secret(KEY)
    assert keys[1]["secret"] == Secret(KEY)  # trailing newline of the file dropped
    assert str(keys[0]["secret"]) == "***"
    assert validate_companion("enc.yaml", doc, "1.31") == ()
    assert clear_text_secrets("EncryptionConfiguration", doc, file="enc.yaml") == ()


def test_a_short_key_from_the_environment_fails_without_printing_it(tmp_path: Path) -> None:
    _write(tmp_path, "keys/old.b64", KEY.encode())
    doc = resolve_secrets(
        _doc(), file="enc.yaml", base_dir=tmp_path, environ={"ENC_KEY_1": SHORT_KEY}
    )
    problems = validate_companion("enc.yaml", doc, "1.36")
    assert [p.message for p in problems] == [
        "EncryptionConfiguration: resources[0].providers[0].aescbc.keys[0].secret: Invalid "
        'value: "REDACTED": secret is not of the expected length, got 10, expected one of '
        "[16 24 32]"
    ]
    assert SHORT_KEY not in str(problems[0])


@pytest.mark.parametrize(
    ("environ", "files", "expected"),
    [
        (
            {},
            {"keys/old.b64": KEY.encode()},
            "resources[0].providers[0].aescbc.keys[0].secret: secret_env ENC_KEY_1 is not set in "
            "the environment",
        ),
        (
            {"ENC_KEY_1": ""},
            {"keys/old.b64": KEY.encode()},
            "resources[0].providers[0].aescbc.keys[0].secret: secret_env ENC_KEY_1 is set but "
            "empty",
        ),
        (
            {"ENC_KEY_1": KEY},
            {},
            "resources[0].providers[0].aescbc.keys[1].secret: secret_file keys/old.b64: no such "
            "file",
        ),
        (
            {"ENC_KEY_1": KEY},
            {"keys/old.b64": b"\n"},
            "resources[0].providers[0].aescbc.keys[1].secret: secret_file keys/old.b64: is empty",
        ),
        (
            {"ENC_KEY_1": KEY},
            {"keys/old.b64": b"\xff\xfe binary key"},
            "resources[0].providers[0].aescbc.keys[1].secret: secret_file keys/old.b64: is not "
            "UTF-8 text (write the key base64-encoded)",
        ),
    ],
    ids=["env-unset", "env-empty", "file-missing", "file-empty", "file-binary"],
)
def test_unresolvable_references_are_exit_6_naming_the_source(
    tmp_path: Path, environ: dict[str, str], files: dict[str, bytes], expected: str
) -> None:
    for rel, content in files.items():
        _write(tmp_path, rel, content)
    with pytest.raises(InputError) as caught:
        resolve_secrets(_doc(), file="enc.yaml", base_dir=tmp_path, environ=environ)
    assert exit_code_for(caught.value) is ExitCode.INVALID_INPUT
    (problem,) = caught.value.problems
    assert problem.file == "enc.yaml"
    assert problem.message.startswith(expected)
    assert KEY not in str(caught.value)


def test_a_directory_is_not_a_secret_file(tmp_path: Path) -> None:
    (tmp_path / "keys" / "old.b64").mkdir(parents=True)
    with pytest.raises(InputError, match=r"secret_file keys/old.b64: is a directory"):
        resolve_secrets(_doc(), file="enc.yaml", base_dir=tmp_path, environ={"ENC_KEY_1": KEY})


def test_every_bad_reference_is_reported_at_once(tmp_path: Path) -> None:
    doc = {
        "a": {"secret_env": "X", "secret_file": "y"},
        "b": {"secret_env": 3},
        "c": [{"secret_file": ""}],
    }
    with pytest.raises(InputError) as caught:
        resolve_secrets(doc, file="f.yaml", base_dir=tmp_path, environ={})
    assert [p.message for p in caught.value.problems] == [
        "a: a secret reference has exactly one key, secret_env; found secret_env, secret_file",
        "b: secret_env takes a non-empty string",
        "c[0]: secret_file takes a non-empty string",
    ]


def test_an_absolute_secret_file_is_read_where_it_is(tmp_path: Path) -> None:
    _write(tmp_path, "elsewhere/key", KEY.encode() + b"\r\n")
    doc = {"token": {"secret_file": str(tmp_path / "elsewhere" / "key")}}
    resolved = resolve_secrets(doc, file="f.yaml", base_dir=tmp_path / "inventory", environ={})
    assert resolved == {"token": Secret(KEY)}


def test_keys_in_clear_text_are_refused_with_a_hint() -> None:
    doc = yaml.safe_load(ENCRYPTION.replace("{secret_env: ENC_KEY_1}", KEY))
    problems = clear_text_secrets("EncryptionConfiguration", doc, file="enc.yaml")
    assert [p.message for p in problems] == [
        "resources[0].providers[0].aescbc.keys[0].secret: an encryption key in clear text"
    ]
    assert problems[0].hint is not None
    assert "secret_env" in problems[0].hint
    assert KEY not in str(problems[0])
    assert clear_text_secrets("Policy", {"rules": []}, file="p.yaml") == ()
