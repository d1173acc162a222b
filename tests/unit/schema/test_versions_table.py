"""The versions table: defaults, a minor newer than the data, and adding a minor as data only."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from importlib import resources
from pathlib import Path
from types import MappingProxyType

import pytest
import yaml

from deployer.desired import DEFAULT_KUBERNETES_VERSION, desired_state
from deployer.model.host import Host, VarOrigin
from deployer.render import render_manifest
from deployer.schema import load_flag_schema, supported_versions
from deployer.versions import VERSIONS_DIR_ENV, parse_version, version_table

REPO = Path(__file__).resolve().parents[3]
FLAGS = {
    "advertise-address": "192.0.2.11",
    "etcd-servers": "https://127.0.0.1:2379",
    "service-account-issuer": "https://kubernetes.default.svc.cluster.local",
    "service-account-key-file": "/etc/kubernetes/pki/sa.pub",
    "service-account-signing-key-file": "/etc/kubernetes/pki/sa.key",
}


def host(**variables: object) -> Host:
    values: dict[str, object] = {"apiserver_flags": FLAGS, **variables}
    origins = {k: VarOrigin("host", "hosts.yml", 3) for k in values}
    return Host(
        name="cp1",
        address="192.0.2.11",
        groups=frozenset({"all"}),
        vars=MappingProxyType(values),
        origins=MappingProxyType(origins),
    )


def test_default_is_the_newest_minor_with_complete_facts() -> None:
    table = version_table()
    complete = [r.minor for r in table.rows if r.facts_complete]
    assert DEFAULT_KUBERNETES_VERSION == table.default.minor == complete[-1]
    assert table.newest.minor == supported_versions()[-1]
    assert not table.newest.facts_complete and table.newest.incomplete
    state, problems = desired_state(host())
    assert problems == []
    assert state.kubernetes_version == table.default.patch
    assert state.image == f"registry.k8s.io/kube-apiserver:v{table.default.patch}"


def test_every_row_names_its_own_schema_file() -> None:
    for row in version_table().rows:
        assert load_flag_schema(row.minor).version == row.minor
        assert parse_version(row.patch) == (row.minor, row.patch.rsplit(".", 1)[1])
        assert row.kubeadm_api in ("v1beta3", "v1beta4")
        # kubeadm's named probe port arrived with 1.34 (kubernetes PR 132776).
        assert (row.probe_port_name == "probe-port") == (row.number >= 34)


def test_an_older_unknown_minor_is_refused_with_the_supported_list() -> None:
    _, problems = desired_state(host(kubernetes_version="1.27"))
    (problem,) = problems
    assert problem.message == "variable kubernetes_version: unsupported version '1.27'"
    assert problem.hint is not None and problem.hint.startswith("supported: 1.28, 1.29")
    assert problem.location() == "hosts.yml:3"


def test_a_newer_minor_is_refused_naming_the_newest_known_and_the_way_out() -> None:
    newest = version_table().newest.minor
    _, problems = desired_state(host(kubernetes_version="1.99.2"))
    (problem,) = problems
    assert not problem.is_warning
    assert problem.message == (
        f"variable kubernetes_version: 1.99 is newer than {newest}, the newest minor deployer knows"
    )
    assert problem.hint is not None and "kubernetes_version_fallback: true" in problem.hint


def test_fallback_validates_against_the_newest_schema_with_a_warning() -> None:
    newest = version_table().newest
    state, problems = desired_state(
        host(kubernetes_version="1.99.2", kubernetes_version_fallback=True)
    )
    (warning,) = problems
    assert warning.is_warning
    assert f"flags added after {newest.minor} are unknown to deployer" in warning.message
    assert (state.kubernetes_minor, state.schema_minor) == ("1.99", newest.minor)
    assert state.image == "registry.k8s.io/kube-apiserver:v1.99.2"
    pod = yaml.safe_load(render_manifest(state).content)
    (container,) = pod["spec"]["containers"]
    assert container["livenessProbe"]["httpGet"]["port"] == newest.probe_port_name
    assert container["ports"] == [
        {"containerPort": 6443, "name": newest.probe_port_name, "protocol": "TCP"}
    ]


def _fake_minor_folder(tmp: Path) -> Path:
    """The packaged data plus 1.99: one schema file (1.37's with one flag more) and one row."""
    folder = tmp / "versions"
    shutil.copytree(str(resources.files("deployer.schema.data")), folder)
    newest = version_table().newest
    schema = json.loads((folder / newest.schema).read_text(encoding="utf-8"))
    schema["version"] = "1.99"
    schema["flags"]["brand-new-flag"] = {**schema["flags"]["profiling"], "default": "false"}
    (folder / "1.99.json").write_text(json.dumps(schema), encoding="utf-8")
    table = json.loads((folder / "versions.json").read_text(encoding="utf-8"))
    row = {**table["minors"][-1], "minor": "1.99", "patch": "1.99.4", "schema": "1.99.json"}
    row["facts_complete"] = True
    table["minors"].append(row)
    (folder / "versions.json").write_text(json.dumps(table), encoding="utf-8")
    return folder


def test_adding_a_minor_is_one_data_file_and_one_row(tmp_path: Path) -> None:
    folder = _fake_minor_folder(tmp_path)
    inventory = tmp_path / "hosts.yml"
    flags = {**FLAGS, "brand-new-flag": True}
    cp1 = {"ansible_host": "192.0.2.11", "apiserver_flags": flags}
    inventory.write_text(yaml.safe_dump({"all": {"hosts": {"cp1": cp1}}}), encoding="utf-8")
    env = {**os.environ, VERSIONS_DIR_ENV: str(folder)}
    deployer = [sys.executable, "-m", "deployer"]
    rendered = subprocess.run(
        [*deployer, "render", "-i", str(inventory)], env=env, capture_output=True, text=True
    )
    assert rendered.returncode == 0, rendered.stderr
    pod = yaml.safe_load(rendered.stdout)
    (container,) = pod["spec"]["containers"]
    assert container["image"] == "registry.k8s.io/kube-apiserver:v1.99.4"  # the new default
    assert "--brand-new-flag=true" in container["command"]
    # Without the folder, the packaged data knows neither the minor nor the flag.
    plain = subprocess.run(
        [*deployer, "validate", "-i", str(inventory), "-e", "kubernetes_version=1.99"],
        env={k: v for k, v in os.environ.items() if k != VERSIONS_DIR_ENV},
        capture_output=True,
        text=True,
    )
    assert plain.returncode == 6
    assert "1.99 is newer than" in plain.stdout + plain.stderr


@pytest.mark.parametrize("bad", ['{"minors": []}', "not json"])
def test_a_broken_table_is_an_input_error(tmp_path: Path, bad: str) -> None:
    (tmp_path / "versions.json").write_text(bad, encoding="utf-8")
    env = {**os.environ, VERSIONS_DIR_ENV: str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "deployer", "validate", "-i", str(REPO / "inventories/production")],
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 6, done.stderr
    assert "versions" in done.stdout + done.stderr
    assert "Traceback" not in done.stderr
