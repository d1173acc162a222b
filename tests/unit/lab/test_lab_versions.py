"""``deployer lab up --version``: every supported minor renders; anything else is exit 6."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from deployer.lab.control import render_initial_manifest
from deployer.lab.inventory import lab_hosts
from deployer.lab.layout import lab_layout
from deployer.versions import MinorRelease, version_table


@pytest.mark.parametrize("version", ["1.99", "1.27", "latest", "1.36.x"])
def test_unsupported_version_is_invalid_input_and_creates_nothing(
    tmp_path: Path, version: str
) -> None:
    lab = tmp_path / "lab"
    done = subprocess.run(
        [sys.executable, "-m", "deployer", "lab", "up", "--dir", str(lab), "--version", version],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 6, done.stderr
    assert f"the lab cannot run Kubernetes {version!r}" in done.stdout + done.stderr
    assert "supported: 1.28" in done.stdout + done.stderr
    assert not lab.exists()


@pytest.mark.parametrize("row", version_table().rows, ids=lambda r: r.minor)
def test_every_supported_minor_gives_a_first_manifest_of_its_shape(
    tmp_path: Path, row: MinorRelease
) -> None:
    layout = lab_layout(tmp_path, 1, "127.0.10.1")
    (host,) = lab_hosts(layout, row.minor)
    pod = yaml.safe_load(render_initial_manifest(host))
    (container,) = pod["spec"]["containers"]
    assert container["image"].endswith(f":v{row.patch}")
    port = container["livenessProbe"]["httpGet"]["port"]
    if row.probe_port_name:
        assert port == row.probe_port_name
        assert container["ports"] == [
            {"containerPort": 6443, "name": row.probe_port_name, "protocol": "TCP"}
        ]
    else:
        assert isinstance(port, int) and "ports" not in container
