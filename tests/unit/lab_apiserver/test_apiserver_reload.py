"""The stand-in's encryption config reload: what it counts, logs and keeps, per minor."""

from __future__ import annotations

import base64
import hashlib
import io
from pathlib import Path

from deployer.lab.apiserver.companions.encryption import config_hash
from deployer.lab.apiserver.companions.reload import (
    AuthenticationReloader,
    AuthorizationReloader,
    EncryptionReloader,
)
from deployer.lab.apiserver.companions.reload_metrics import (
    ConfigReloadMetrics,
    ReloadMetrics,
    apiserver_id,
    id_hash,
)
from deployer.lab.apiserver.klog import Klog

PATH = "/etc/kubernetes/enc/enc.yaml"
CONFIG = """apiVersion: apiserver.config.k8s.io/v1
kind: EncryptionConfiguration
resources:
- resources: [secrets]
  providers:
  - aesgcm:
      keys:
      - name: {name}
        secret: MDEyMzQ1Njc4OWFiY2RlZg==
  - identity: {{}}
"""
PREFIX = "apiserver_encryption_config_controller_"


def _reloader(
    tmp_path: Path, minor: int
) -> tuple[EncryptionReloader, ReloadMetrics, Path, io.StringIO]:
    file = tmp_path / "enc.yaml"
    file.write_text(CONFIG.format(name="key1"))
    metrics = ReloadMetrics(minor, apiserver_id("lab-cp1"))
    metrics.set_config(config_hash(file.read_bytes(), minor))
    log = io.StringIO()

    def read(path: str) -> bytes | None:
        assert path == PATH
        return file.read_bytes() if file.is_file() else None

    reloader = EncryptionReloader(
        PATH, read, minor, config_hash(file.read_bytes(), minor), metrics, Klog(log), kms_v1=False
    )
    return reloader, metrics, file, log


def test_unchanged_file_is_not_a_reload(tmp_path: Path) -> None:
    reloader, metrics, _, _ = _reloader(tmp_path, 34)
    assert reloader.poll_once() is None
    assert metrics.counts() == {"success": 0, "failure": 0}
    assert not any("automatic_reloads_total" in line for line in metrics.render())


def test_changed_file_reloads_and_updates_the_config_info_hash(tmp_path: Path) -> None:
    reloader, metrics, file, _ = _reloader(tmp_path, 34)
    file.write_text(CONFIG.format(name="key2"))
    assert reloader.poll_once() == "success"
    new_hash = "sha256:" + hashlib.sha256(file.read_bytes()).hexdigest()
    assert reloader.loaded_hash == new_hash
    ident = id_hash(apiserver_id("lab-cp1"))
    lines = metrics.render()
    assert f'{PREFIX}automatic_reloads_total{{apiserver_id_hash="{ident}",status="success"}} 1' in (
        lines
    )
    assert f'{PREFIX}last_config_info{{apiserver_id_hash="{ident}",hash="{new_hash}"}} 1' in lines
    assert reloader.poll_once() is None, "the same content again is no reload"


def test_invalid_file_keeps_the_old_config_and_counts_a_failure(tmp_path: Path) -> None:
    reloader, metrics, file, log = _reloader(tmp_path, 31)
    before = reloader.loaded_hash
    file.write_text(CONFIG.format(name="key2").replace("MDEyMzQ1Njc4OWFiY2RlZg==", "c2hvcnQ="))
    assert reloader.poll_once() == "failure"
    assert reloader.poll_once() == "failure", "retried while the file stays bad"
    assert reloader.loaded_hash == before
    assert metrics.counts() == {"success": 0, "failure": 2}
    assert (
        f'"Unhandled Error" err="error processing encryption config file {PATH}: error while '
        "parsing file: resources[0].providers[0].aesgcm.keys[0].secret: Invalid value: "
        '\\"REDACTED\\": secret is not of the expected length, got 5, expected one of '
        '[16 24 32]" logger="UnhandledError"'
    ) in log.getvalue()
    file.unlink()
    assert reloader.poll_once() == "failure"
    assert "no such file or directory" in log.getvalue().splitlines()[-1]


def test_metric_names_follow_the_minor(tmp_path: Path) -> None:
    names = {}
    for minor in (28, 29, 30, 31, 34):
        folder = tmp_path / str(minor)
        folder.mkdir()
        reloader, metrics, file, _ = _reloader(folder, minor)
        file.write_text(CONFIG.format(name="key2"))
        reloader.poll_once()
        names[minor] = sorted(
            {line.split("{")[0].split(" ")[0] for line in metrics.render() if line[0] != "#"}
        )
    short = {m: [n.removeprefix(PREFIX) for n in v] for m, v in names.items()}
    assert short[28] == [
        "automatic_reload_failures_total",
        "automatic_reload_last_timestamp_seconds",
        "automatic_reload_success_total",
    ]
    # 1.30: the deprecated vectors only show the status that happened (one success here).
    assert short[30] == [
        "automatic_reload_last_timestamp_seconds",
        "automatic_reload_success_total",
        "automatic_reloads_total",
    ]
    assert short[31] == ["automatic_reload_last_timestamp_seconds", "automatic_reloads_total"]
    assert short[34] == [
        "automatic_reload_last_timestamp_seconds",
        "automatic_reloads_total",
        "last_config_info",
    ]
    assert f"{PREFIX}automatic_reload_failures_total 0" in "\n".join(
        ReloadMetrics(28, "x").render()
    ), "1.28's counters have no labels, so they show before the first reload"


def test_apiserver_id_is_the_hostname_hash_upstream_builds() -> None:
    # pkg/server/config.go: sha256 over uint16-length-prefixed hostname and "kube-apiserver".
    data = b"\x00\x07lab-cp1\x00\x0ekube-apiserver"
    expected = base64.b32encode(hashlib.sha256(data).digest()[:16]).decode().rstrip("=").lower()
    assert apiserver_id("lab-cp1") == f"apiserver-{expected}"


def test_authentication_reload_counts_once_per_bad_content(tmp_path: Path) -> None:
    good = (
        "apiVersion: apiserver.config.k8s.io/v1beta1\nkind: AuthenticationConfiguration\n"
        "jwt:\n- issuer:\n    url: https://issuer.example.com\n    audiences: [{aud}]\n"
        "  claimMappings:\n    username: {{claim: sub, prefix: ''}}\n"
    )
    file = tmp_path / "authn.yaml"
    file.write_text(good.format(aud="a"))
    metrics = ConfigReloadMetrics("authentication", 34, apiserver_id("lab-cp1"))
    metrics.set_config(file.read_bytes())
    log = io.StringIO()
    reloader = AuthenticationReloader(
        "/etc/kubernetes/authn.yaml",
        lambda _: file.read_bytes() if file.is_file() else None,
        34,
        file.read_bytes(),
        metrics,
        Klog(log),
    )
    assert reloader.poll_once() is None
    file.write_text(good.format(aud="b"))
    assert reloader.poll_once() == "success"
    assert '"reloaded authentication config"' in log.getvalue()
    digest = hashlib.sha256(file.read_bytes()).hexdigest()
    assert any(f'hash="sha256:{digest}"' in line for line in metrics.render())
    file.write_text(good.format(aud="b").replace("https:", "http:"))
    assert reloader.poll_once() == "failure"
    assert reloader.poll_once() is None, "a bad content is not retried until it changes"
    assert metrics.counts() == {"success": 1, "failure": 1}
    assert any(f'hash="sha256:{digest}"' in line for line in metrics.render())
    assert "failed to validate authentication config" in log.getvalue()


AUTHZ = """apiVersion: apiserver.config.k8s.io/v1
kind: AuthorizationConfiguration
authorizers:
- type: Node
  name: node
- type: RBAC
  name: rbac
"""


def test_authorization_reload_starts_counted_and_keeps_the_required_types(tmp_path: Path) -> None:
    file = tmp_path / "authz.yaml"
    file.write_text(AUTHZ)
    metrics = ConfigReloadMetrics("authorization", 34, apiserver_id("lab-cp1"))
    log = io.StringIO()
    reloader = AuthorizationReloader(
        "/etc/kubernetes/authz.yaml",
        lambda _: file.read_bytes() if file.is_file() else None,
        34,
        file.read_bytes(),
        metrics,
        Klog(log),
    )
    assert metrics.counts() == {"success": 1, "failure": 0}, "runReload records one at start"
    file.write_text(AUTHZ + "# a comment only\n")
    assert reloader.poll_once() is None, "new bytes, same configuration: no reload"
    file.write_text(AUTHZ.replace("- type: Node\n  name: node\n", ""))
    assert reloader.poll_once() == "failure"
    assert 'err="missing required types: [Node]"' in log.getvalue()
    file.write_text(AUTHZ + "- type: AlwaysDeny\n  name: alwaysdeny\n")
    assert reloader.poll_once() == "success"
    assert metrics.counts() == {"success": 2, "failure": 1}
    lines = metrics.render()
    assert any(
        line.startswith("apiserver_authorization_config_controller_last_config_info{")
        for line in lines
    )
