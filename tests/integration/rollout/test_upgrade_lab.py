"""Upgrading kube-apiserver by one minor is a rollout; the skew rule refuses anything more.

One 3-node lab at 1.35 for the module: the refusals touch nothing, so they run first on it, then
the upgrade to 1.36 rolls through every node.
"""

from __future__ import annotations

import http.client
import json
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
from rollout_support import Deployer, next_lab_address

from deployer.lab.layout import NodeLayout
from deployer.lab.testing import LabHandle, running_lab
from deployer.versions import version_table

pytestmark = pytest.mark.integration

NODES = ("lab-cp1", "lab-cp2", "lab-cp3")
START, TARGET, TOO_FAR = "1.35", "1.36", "1.37"


@pytest.fixture(scope="module")
def upgrade_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabHandle]:
    root = tmp_path_factory.mktemp("upgrade")
    first = next_lab_address()
    with running_lab(root / "lab", nodes=3, first_address=first, kubernetes_version=START) as lab:
        yield lab


@pytest.fixture
def run(upgrade_lab: LabHandle, tmp_path: Path) -> Deployer:
    return Deployer(upgrade_lab, tmp_path)


def _version(node: NodeLayout) -> str:
    context = ssl.create_default_context(cafile=str(node.pki_dir / "ca.crt"))
    connection = http.client.HTTPSConnection(node.ip, 6443, context=context, timeout=5)
    try:
        connection.request("GET", "/version")
        return str(json.loads(connection.getresponse().read())["gitVersion"])
    finally:
        connection.close()


def _snapshot(lab: LabHandle) -> dict[str, tuple[bytes, object]]:
    return {
        n: (lab.manifest(n).read_bytes(), (lab.running_apiserver(n) or {})["id"]) for n in NODES
    }


def test_a_two_minor_jump_is_refused_with_nothing_touched(
    upgrade_lab: LabHandle, run: Deployer, capsys: pytest.CaptureFixture[str]
) -> None:
    before = _snapshot(upgrade_lab)
    assert run("apply", "-e", f"kubernetes_version={TOO_FAR}") == 6
    out = capsys.readouterr()
    assert f"lab-cp1 runs {START}; kubernetes_version {TOO_FAR} is an upgrade of more than" in (
        out.out + out.err
    )
    assert run("plan", "-e", f"kubernetes_version={TOO_FAR}") == 6
    assert _snapshot(upgrade_lab) == before


def test_a_removed_flag_is_caught_offline(
    upgrade_lab: LabHandle, run: Deployer, capsys: pytest.CaptureFixture[str]
) -> None:
    before = _snapshot(upgrade_lab)
    code = run(
        "apply",
        "-e",
        f"kubernetes_version={TARGET}",
        "-e",
        "apiserver_flags.cloud-provider=external",
    )
    assert code == 6
    out = capsys.readouterr()
    assert "--cloud-provider was removed in 1.33" in out.out + out.err
    assert _snapshot(upgrade_lab) == before


def test_one_minor_upgrade_rolls_through_every_node(upgrade_lab: LabHandle, run: Deployer) -> None:
    start, target = version_table().get(START), version_table().get(TARGET)
    assert start is not None and target is not None
    assert {_version(upgrade_lab.node(n)) for n in NODES} == {f"v{start.patch}"}
    assert run("plan", "-e", f"kubernetes_version={TARGET}") == 2
    assert run("apply", "-e", f"kubernetes_version={TARGET}") == 0
    hosts = run.hosts()
    assert {hosts[n]["outcome"] for n in NODES} == {"changed"}
    for name in NODES:
        assert _version(upgrade_lab.node(name)) == f"v{target.patch}"
        assert f"kube-apiserver:v{target.patch}".encode() in upgrade_lab.manifest(name).read_bytes()
    assert run("plan", "-e", f"kubernetes_version={TARGET}") == 0
