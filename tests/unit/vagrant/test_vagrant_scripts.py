"""The provisioning scripts: linted, parsed, and their pure parts run for real on a folder.

The scripts install packages and run kubeadm, which needs a VM; what can run here does: the
audit provisioning against a folder (LAB_ROOT), and the kubeadm configuration files the init
and join scripts write (sourced, functions called one by one), including the CA pin that
makes joining safe.
"""

from __future__ import annotations

import hashlib
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from vagrant_support import FAKE_BIN, REPO, SCRIPTS

ALL_SCRIPTS = sorted(SCRIPTS.glob("*.sh"))
SHELL_FILES = [*ALL_SCRIPTS, FAKE_BIN / "vagrant"]
GROUP_VARS = REPO / "inventories" / "vagrant" / "group_vars" / "control_plane.yml"


def test_the_vagrantfile_names_only_scripts_that_exist() -> None:
    text = (REPO / "Vagrantfile").read_text()
    named = {
        line.split('path: "')[1].split('"')[0] for line in text.splitlines() if 'path: "' in line
    }
    assert named == {f"vagrant/scripts/{p.name}" for p in ALL_SCRIPTS}


@pytest.mark.parametrize("path", SHELL_FILES, ids=lambda p: p.name)
def test_script_passes_bash_n(path: Path) -> None:
    shell = "sh" if path.name == "vagrant" else "bash"
    done = subprocess.run([shell, "-n", str(path)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("path", SHELL_FILES, ids=lambda p: p.name)
def test_script_passes_shellcheck(path: Path) -> None:
    if shutil.which("shellcheck") is None:
        pytest.skip("shellcheck is not installed (apt-get install shellcheck); scripts not linted")
    done = subprocess.run(
        ["shellcheck", "--severity=style", str(path)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout


@pytest.mark.parametrize("path", SHELL_FILES, ids=lambda p: p.name)
def test_script_is_executable_and_strict(path: Path) -> None:
    assert path.stat().st_mode & stat.S_IXUSR
    text = path.read_text()
    assert "set -euo pipefail" in text or "set -eu" in text


def _bash(script: str, code: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Source ``script`` (its functions only) and run ``code`` with ``env``."""
    return subprocess.run(
        ["bash", "-c", f'set -euo pipefail; source "$1"; {code}', "bash", str(SCRIPTS / script)],
        env={"PATH": "/usr/bin:/bin:/usr/sbin:/sbin", **env},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def test_audit_script_provisions_what_the_lab_inventory_references(tmp_path: Path) -> None:
    done = subprocess.run(
        ["bash", str(SCRIPTS / "audit.sh")],
        env={"PATH": "/usr/bin:/bin", "LAB_ROOT": str(tmp_path), "LAB_NODE_NAME": "cp1"},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    group = yaml.safe_load(GROUP_VARS.read_text())
    flags = group["apiserver_flags"]
    policy = tmp_path / flags["audit-policy-file"].lstrip("/")
    log_dir = tmp_path / str(Path(flags["audit-log-path"]).parent).lstrip("/")
    assert yaml.safe_load(policy.read_text())["kind"] == "Policy"
    assert stat.S_IMODE(policy.stat().st_mode) == 0o600
    assert log_dir.is_dir()
    assert stat.S_IMODE(log_dir.stat().st_mode) == 0o700
    # Every file a flag references is under one of the declared extra volumes, and the log
    # folder's volume is writable.
    volumes = {Path(v["hostPath"]): v for v in group["apiserver_extra_volumes"]}
    assert Path(flags["audit-policy-file"]).parent in volumes
    assert volumes[Path(flags["audit-log-path"]).parent]["readOnly"] is False
    # Running it again (vagrant provision) changes nothing and does not fail.
    before = policy.read_bytes()
    again = subprocess.run(
        ["bash", str(SCRIPTS / "audit.sh")],
        env={"PATH": "/usr/bin:/bin", "LAB_ROOT": str(tmp_path), "LAB_NODE_NAME": "cp1"},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert again.returncode == 0
    assert policy.read_bytes() == before


@pytest.fixture
def state_dir(tmp_path: Path, lab_bootstrap: Path) -> Path:
    """A node's /etc/deployer-lab as the Vagrantfile fills it: a real CA and join secrets."""
    state = tmp_path / "state"
    shutil.copytree(lab_bootstrap, state)
    return state


def _env_file(state: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in (state / "bootstrap.env").read_text().splitlines())
    return dict(pairs)


NODE_ENV = {
    "LAB_NODE_NAME": "cp2",
    "LAB_NODE_IP": "192.168.56.12",
    "LAB_ENDPOINT_NAME": "k8s-api.lab.internal",
    "LAB_FIRST_NODE_IP": "192.168.56.11",
    "LAB_K8S_VERSION": "1.31.13",
    "LAB_POD_SUBNET": "10.244.0.0/16",
}


def test_join_pins_the_ca_by_kubeadms_hash_of_its_public_key(state_dir: Path) -> None:
    done = _bash("join.sh", "ca_cert_hash", {"LAB_STATE_DIR": str(state_dir)})
    assert done.returncode == 0, done.stderr
    cert = x509.load_pem_x509_certificate((state_dir / "ca.crt").read_bytes())
    spki = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert done.stdout.strip() == hashlib.sha256(spki).hexdigest()


def test_join_writes_a_control_plane_join_configuration(state_dir: Path) -> None:
    env = {"LAB_STATE_DIR": str(state_dir), **NODE_ENV}
    done = _bash("join.sh", "load_settings; write_config", env)
    assert done.returncode == 0, done.stderr
    path = state_dir / "kubeadm-join.yaml"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # it holds the join secrets
    join, kubelet = list(yaml.safe_load_all(path.read_text()))
    secrets = _env_file(state_dir)
    assert (join["apiVersion"], join["kind"]) == ("kubeadm.k8s.io/v1beta4", "JoinConfiguration")
    token = join["discovery"]["bootstrapToken"]
    assert token["apiServerEndpoint"] == "k8s-api.lab.internal:6443"
    assert token["token"] == secrets["LAB_TOKEN"]
    assert len(token["caCertHashes"]) == 1
    assert token["caCertHashes"][0].startswith("sha256:")
    assert "unsafeSkipCAVerification" not in token
    assert join["controlPlane"] == {
        "localAPIEndpoint": {"advertiseAddress": "192.168.56.12", "bindPort": 6443},
        "certificateKey": secrets["LAB_CERT_KEY"],
    }
    assert join["nodeRegistration"]["kubeletExtraArgs"] == [
        {"name": "node-ip", "value": "192.168.56.12"}
    ]
    assert kubelet["cgroupDriver"] == "systemd"


def test_init_writes_the_cluster_configuration_with_the_shared_secrets(state_dir: Path) -> None:
    env = {"LAB_STATE_DIR": str(state_dir), **NODE_ENV}
    env.update(LAB_NODE_NAME="cp1", LAB_NODE_IP="192.168.56.11")
    done = _bash("init.sh", "load_settings; write_config", env)
    assert done.returncode == 0, done.stderr
    path = state_dir / "kubeadm-init.yaml"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    init, cluster, kubelet = list(yaml.safe_load_all(path.read_text()))
    secrets = _env_file(state_dir)
    assert init["kind"] == "InitConfiguration"
    assert init["certificateKey"] == secrets["LAB_CERT_KEY"]
    assert init["bootstrapTokens"][0]["token"] == secrets["LAB_TOKEN"]
    assert init["localAPIEndpoint"]["advertiseAddress"] == "192.168.56.11"
    assert cluster["kind"] == "ClusterConfiguration"
    assert cluster["kubernetesVersion"] == "v1.31.13"
    assert cluster["controlPlaneEndpoint"] == "k8s-api.lab.internal:6443"
    assert kubelet["kind"] == "KubeletConfiguration"


def test_scripts_refuse_to_run_without_their_settings(tmp_path: Path) -> None:
    for script in ("init.sh", "join.sh"):
        done = _bash(script, "load_settings", {"LAB_STATE_DIR": str(tmp_path)})
        assert done.returncode != 0
        assert "LAB_NODE_NAME" in done.stderr
