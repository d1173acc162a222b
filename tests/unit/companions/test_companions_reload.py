"""Which companion files each minor reloads by itself, and the evidence verify waits for."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
import yaml
from inventory_fixtures import prepared

from deployer.companions.facts import supported_minors
from deployer.companions.reload import apply_mode, reload_table
from deployer.model.files import ApplyMode
from deployer.render.context import COMPANIONS_ANNOTATION

RELOAD_FLAG = {"encryption-provider-config-automatic-reload": "true"}


@pytest.mark.parametrize(
    ("kind", "minor", "flags", "counter", "labels", "info"),
    [
        (
            "EncryptionConfiguration",
            "1.29",
            RELOAD_FLAG,
            "apiserver_encryption_config_controller_automatic_reload_success_total",
            {},
            None,
        ),
        (
            "EncryptionConfiguration",
            "1.31",
            RELOAD_FLAG,
            "apiserver_encryption_config_controller_automatic_reloads_total",
            {"status": "success"},
            None,
        ),
        (
            "EncryptionConfiguration",
            "1.36",
            RELOAD_FLAG,
            "apiserver_encryption_config_controller_automatic_reloads_total",
            {"status": "success"},
            "apiserver_encryption_config_controller_last_config_info",
        ),
        (
            "AuthenticationConfiguration",
            "1.30",
            {},
            "apiserver_authentication_config_controller_automatic_reloads_total",
            {"status": "success"},
            None,
        ),
        (
            "AuthorizationConfiguration",
            "1.34",
            {},
            "apiserver_authorization_config_controller_automatic_reloads_total",
            {"status": "success"},
            "apiserver_authorization_config_controller_last_config_info",
        ),
    ],
)
def test_reloaded_files_and_their_evidence(
    kind: str,
    minor: str,
    flags: dict[str, str],
    counter: str,
    labels: dict[str, str],
    info: str | None,
) -> None:
    mode, evidence = apply_mode(kind, minor, flags)
    assert mode is ApplyMode.RELOAD
    assert evidence is not None
    assert (evidence.counter, dict(evidence.labels), evidence.info_metric) == (
        counter,
        labels,
        info,
    )


@pytest.mark.parametrize(
    ("kind", "minor", "flags"),
    [
        ("EncryptionConfiguration", "1.36", {}),  # without automatic reload: read at startup
        (
            "EncryptionConfiguration",
            "1.36",
            {"encryption-provider-config-automatic-reload": "false"},
        ),
        ("AuthenticationConfiguration", "1.29", {}),  # alpha: no reload yet
        ("AuthorizationConfiguration", "1.29", {}),
        ("Policy", "1.36", {}),
        ("AdmissionConfiguration", "1.36", {}),
        ("TracingConfiguration", "1.36", {}),
        ("EgressSelectorConfiguration", "1.36", {}),
        (None, "1.36", {}),
        ("AuthenticationConfiguration", "1.99", {}),  # unknown minor: the safe choice
    ],
)
def test_everything_else_restarts(kind: str | None, minor: str, flags: dict[str, str]) -> None:
    assert apply_mode(kind, minor, flags) == (ApplyMode.RESTART, None)


def test_the_table_has_one_row_per_supported_minor_and_cites_sources() -> None:
    table = reload_table()
    assert sorted(table["versions"]) == sorted(supported_minors())
    for kind in {k for row in table["versions"].values() for k in row}:
        assert table["sources"][kind], kind


def test_a_reloaded_encryption_config_stays_out_of_the_manifest_digest(tmp_path: Path) -> None:
    key = base64.b64encode(b"k" * 32).decode()
    text = """
apiserver_flags:
  encryption-provider-config: /etc/kubernetes/pki/encryption.yaml
  encryption-provider-config-automatic-reload: true
apiserver_files:
  - path: /etc/kubernetes/pki/encryption.yaml
    content:
      apiVersion: apiserver.config.k8s.io/v1
      kind: EncryptionConfiguration
      resources:
        - resources: [secrets]
          providers:
            - aesgcm:
                keys:
                  - {name: k1, secret: {secret_env: K1}}
            - identity: {}
"""
    result = prepared(tmp_path, {"group_vars/control_plane.yml+": text}, environ={"K1": key})
    state = result.states[0]
    (file,) = state.companions
    assert file.apply is ApplyMode.RELOAD and file.reload is not None
    pod = yaml.safe_load(result.manifests[state.host.name].content)
    assert COMPANIONS_ANNOTATION not in pod["metadata"]["annotations"]
