"""The Vagrantfile, checked without booting a VM.

Three levels: ``ruby -c`` (syntax), a Ruby stand-in for ``Vagrant.configure`` that loads the
real file and reports every setting as JSON (what each VM would get), and ``vagrant validate``
where Vagrant is installed (Debian 12 ships it in main: ``apt-get install vagrant``).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from vagrant_support import PROBE, REPO

from deployer.desired import DEFAULT_KUBERNETES_VERSION
from deployer.vagrant.addresses import read_addresses
from deployer.versions import version_table

pytestmark = pytest.mark.skipif(shutil.which("ruby") is None, reason="ruby is not installed")

TOKEN_RE = re.compile(r"^[a-z0-9]{6}\.[a-z0-9]{16}$")  # kubeadm's bootstrap token format


def _probe(lab: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["ruby", str(PROBE), str(lab / "Vagrantfile")],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def _machines(lab: Path, **env: str) -> dict[str, dict[str, object]]:
    done = _probe(lab, **env)
    assert done.returncode == 0, done.stderr
    (recorded,) = json.loads(done.stdout)
    calls = recorded["config"]["vm"]["_calls"]
    return {c["args"][0]: c["block"] for c in calls if c["method"] == "define"}


def _calls(block: dict[str, object], method: str) -> list[dict[str, object]]:
    vm = block["vm"]
    assert isinstance(vm, dict)
    return [c for c in vm["_calls"] if c["method"] == method]


def test_vagrantfile_syntax() -> None:
    done = subprocess.run(
        ["ruby", "-c", str(REPO / "Vagrantfile")], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "Syntax OK" in done.stdout


@pytest.mark.parametrize("nodes", [None, "1", "5"])
def test_vms_and_their_addresses_come_from_the_address_plan(
    seeded_lab_dir: Path, nodes: str | None
) -> None:
    env = {} if nodes is None else {"DEPLOYER_LAB_NODES": nodes}
    machines = _machines(seeded_lab_dir, **env)
    plan = list(read_addresses(seeded_lab_dir).items())[: int(nodes or 3)]
    assert list(machines) == [name for name, _ in plan]
    for name, address in plan:
        (network,) = _calls(machines[name], "network")
        assert network["args"] == ["private_network"]
        assert network["options"] == {"ip": address}
        assert machines[name]["vm"]["hostname"] == name  # type: ignore[index]


def test_first_vm_inits_and_the_others_join_after_the_common_steps(seeded_lab_dir: Path) -> None:
    machines = _machines(seeded_lab_dir)
    for index, (name, block) in enumerate(machines.items()):
        steps = [c["args"][0] for c in _calls(block, "provision")]
        last = "kubeadm init" if index == 0 else "kubeadm join"
        assert steps == [
            "upload ca.crt",
            "upload ca.key",
            "upload bootstrap.env",
            "node",
            "audit",
            last,
        ], name
        shells = [c for c in _calls(block, "provision") if c["options"]["type"] == "shell"]
        for shell in shells:
            assert (seeded_lab_dir / str(shell["options"]["path"])).is_file()
            env = shell["options"]["env"]
            assert env["LAB_NODE_NAME"] == name
            assert env["LAB_FIRST_NODE_IP"] == "192.168.56.11"


def test_lab_kubernetes_version_is_the_projects_default(seeded_lab_dir: Path) -> None:
    block = next(iter(_machines(seeded_lab_dir).values()))
    env = _calls(block, "provision")[3]["options"]["env"]
    assert env["LAB_K8S_MINOR"] == DEFAULT_KUBERNETES_VERSION
    assert env["LAB_K8S_VERSION"] == version_table().default.patch


def test_memory_cpus_and_box_are_configurable_for_both_providers(seeded_lab_dir: Path) -> None:
    done = _probe(
        seeded_lab_dir, DEPLOYER_LAB_MEMORY="4096", DEPLOYER_LAB_CPUS="4", DEPLOYER_LAB_BOX="my/box"
    )
    assert done.returncode == 0, done.stderr
    vm = json.loads(done.stdout)[0]["config"]["vm"]
    assert vm["box"] == "my/box"
    providers = {c["args"][0]: c["block"] for c in vm["_calls"] if c["method"] == "provider"}
    assert set(providers) == {"virtualbox", "libvirt"}
    for settings in providers.values():
        assert (settings["memory"], settings["cpus"]) == (4096, 4)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("DEPLOYER_LAB_NODES", "0", "DEPLOYER_LAB_NODES=0: must be between 1 and 7"),
        ("DEPLOYER_LAB_NODES", "99", "DEPLOYER_LAB_NODES=99: must be between 1 and 7"),
        ("DEPLOYER_LAB_NODES", "three", 'DEPLOYER_LAB_NODES="three": must be a whole number'),
        ("DEPLOYER_LAB_MEMORY", "512", "DEPLOYER_LAB_MEMORY=512: must be between 1700"),
        ("DEPLOYER_LAB_CPUS", "1", "DEPLOYER_LAB_CPUS=1: must be between 2"),
    ],
)
def test_bad_settings_stop_with_a_message(
    seeded_lab_dir: Path, name: str, value: str, message: str
) -> None:
    done = _probe(seeded_lab_dir, **{name: value})
    assert done.returncode != 0
    assert message in done.stderr


def test_a_broken_address_plan_stops_with_file_and_line(seeded_lab_dir: Path) -> None:
    plan = seeded_lab_dir / "vagrant" / "addresses"
    plan.write_text("cp1 192.168.56.11\ncp2 192.168.56.300\n")
    done = _probe(seeded_lab_dir)
    assert done.returncode != 0
    assert f'{plan}:2: "192.168.56.300" is not an IPv4 address' in done.stderr


def test_join_secrets_and_ca_are_made_once_and_kept_private(lab_dir: Path) -> None:
    assert _probe(lab_dir).returncode == 0
    state = lab_dir / ".vagrant" / "deployer-lab"
    first = {p.name: p.read_bytes() for p in state.iterdir()}
    assert set(first) == {"ca.crt", "ca.key", "bootstrap.env", ".gitignore"}
    assert first[".gitignore"] == b"*\n"  # never committed, even without a root .gitignore entry
    assert stat.S_IMODE(state.stat().st_mode) == 0o700
    assert stat.S_IMODE((state / "ca.key").stat().st_mode) == 0o600
    assert stat.S_IMODE((state / "bootstrap.env").stat().st_mode) == 0o600
    secrets = dict(line.split("=", 1) for line in first["bootstrap.env"].decode().splitlines())
    assert TOKEN_RE.match(secrets["LAB_TOKEN"])
    assert re.fullmatch(r"[0-9a-f]{64}", secrets["LAB_CERT_KEY"])  # kubeadm: 32 bytes, hex
    cert = x509.load_pem_x509_certificate(first["ca.crt"])
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert cert.subject.rfc4514_string() == "CN=kubernetes"
    # Every later `vagrant` command loads the file again: same CA, same secrets.
    assert _probe(lab_dir).returncode == 0
    assert {p.name: p.read_bytes() for p in state.iterdir()} == first


def test_the_destroy_trigger_forgets_the_labs_host_keys(seeded_lab_dir: Path) -> None:
    done = _probe(seeded_lab_dir)
    config = json.loads(done.stdout)[0]["config"]
    (trigger,) = [c for c in config["trigger"]["_calls"] if c["method"] == "after"]
    assert trigger["args"] == ["destroy"]
    assert "host keys" in trigger["block"]["info"]


def test_vagrant_validate(seeded_lab_dir: Path) -> None:
    if shutil.which("vagrant") is None:
        pytest.skip(
            "vagrant is not installed: `vagrant validate` skipped (Debian 12: apt-get install "
            "--no-install-recommends vagrant); syntax and settings were checked by the Ruby probe"
        )
    env = {
        **os.environ,
        "VAGRANT_HOME": str(seeded_lab_dir / ".vagrant.d"),
        "VAGRANT_CHECKPOINT_DISABLE": "1",
    }
    # --ignore-provider: neither VirtualBox nor libvirt runs here; the rest is validated.
    done = subprocess.run(
        ["vagrant", "validate", "--ignore-provider"],
        cwd=seeded_lab_dir,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Vagrantfile validated successfully" in done.stdout
    bad = subprocess.run(
        ["vagrant", "validate", "--ignore-provider"],
        cwd=seeded_lab_dir,
        env={**env, "DEPLOYER_LAB_NODES": "0"},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert bad.returncode != 0
    assert "DEPLOYER_LAB_NODES=0" in bad.stdout + bad.stderr
