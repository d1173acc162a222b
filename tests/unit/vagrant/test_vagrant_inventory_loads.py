"""The inventory `deployer inventory vagrant` writes, read back by deployer itself.

Written beside a copy of inventories/vagrant/ (as the README's Vagrant section says), it
must load with the project's loader, merge with the lab's group_vars (kubeadm's flags plus
audit logging, each host's --advertise-address from the generated file), and pass
`deployer validate`.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from vagrant_support import CASES, FAKE_BIN, REPO, case_meta, make_lab_dir, recorded

from deployer.cli.main import cli, main
from deployer.desired import desired_states
from deployer.inventory import load_inventory
from deployer.render import load_pod, render_manifests
from deployer.vagrant.ssh_config import parse_ssh_config


@pytest.fixture
def lab_inventory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run the command for the three-VM recording into a copy of inventories/vagrant/."""
    lab = make_lab_dir(tmp_path)
    inventory_dir = tmp_path / "inventories" / "vagrant"
    shutil.copytree(REPO / "inventories" / "vagrant", inventory_dir)
    monkeypatch.setenv("PATH", f"{FAKE_BIN}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("DEPLOYER_FAKE_VAGRANT_CASE", str(CASES / "three-vms"))
    out = inventory_dir / "hosts.yml"
    assert main(["inventory", "vagrant", "--vagrant-dir", str(lab), "--out", str(out)]) == 0
    return out


def test_generated_inventory_loads_and_merges_with_the_lab_group_vars(lab_inventory: Path) -> None:
    inventory = load_inventory([lab_inventory])
    assert inventory.names == ("cp1", "cp2", "cp3")
    assert [(h.address, h.port, h.user) for h in inventory] == [
        ("127.0.0.1", 2222, "vagrant"),
        ("127.0.0.1", 2200, "vagrant"),
        ("127.0.0.1", 2201, "vagrant"),
    ]
    states = desired_states(inventory.hosts)
    for state, address in zip(
        states, ("192.168.56.11", "192.168.56.12", "192.168.56.13"), strict=True
    ):
        assert state.flags["advertise-address"] == address
        assert state.flags["audit-policy-file"] == "/etc/kubernetes/audit/policy.yaml"
        assert state.flags["etcd-servers"] == "https://127.0.0.1:2379"
        assert state.kubernetes_version == "1.36.3"
        assert state.kubeconfig.as_posix() == "/etc/kubernetes/admin.conf"
        assert [v["name"] for v in state.extra_volumes] == ["audit-policy", "audit-log"]
        assert state.host.vars["ansible_become"] is True
        assert "control_plane" in state.host.groups


def test_generated_inventory_passes_deployer_validate(
    lab_inventory: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if "validate" not in cli.commands:
        pytest.skip("`deployer validate` is not registered yet (commands_offline)")
    code = main(["validate", "-i", str(lab_inventory)])
    captured = capsys.readouterr()
    assert code == 0, captured.err


def test_generated_inventory_renders_kubeadm_shaped_manifests(lab_inventory: Path) -> None:
    states = desired_states(load_inventory([lab_inventory]).hosts)
    manifests = render_manifests(states, template_dirs=[REPO / "templates"])
    for name, address in (("cp1", "192.168.56.11"), ("cp3", "192.168.56.13")):
        pod = load_pod(manifests[name].content)
        annotations = pod["metadata"]["annotations"]
        endpoint = annotations["kubeadm.kubernetes.io/kube-apiserver.advertise-address.endpoint"]
        assert endpoint == f"{address}:6443"
        (container,) = pod["spec"]["containers"]
        assert f"--advertise-address={address}" in container["command"]
        assert "--audit-log-path=/var/log/kubernetes/audit/audit.log" in container["command"]
        host_paths = {v["name"]: v["hostPath"]["path"] for v in pod["spec"]["volumes"]}
        assert host_paths["audit-policy"] == "/etc/kubernetes/audit"
        assert host_paths["audit-log"] == "/var/log/kubernetes/audit"


@pytest.mark.parametrize(
    "case", ["one-vm", "libvirt", "libvirt-remote-proxy", "identity-spaces-quotes"]
)
def test_every_shape_loads_with_the_projects_loader(
    case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lab = make_lab_dir(tmp_path, str(case_meta(case).get("vagrant_dir_name", "lab")))
    monkeypatch.setenv("PATH", f"{FAKE_BIN}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("DEPLOYER_FAKE_VAGRANT_CASE", str(CASES / case))
    out = tmp_path / "hosts.yml"
    assert main(["inventory", "vagrant", "--vagrant-dir", str(lab), "--out", str(out)]) == 0
    inventory = load_inventory([out])
    entries = parse_ssh_config(recorded(case, "ssh-config.out").replace("@VAGRANT_DIR@", str(lab)))
    assert [(h.name, h.address, h.port) for h in inventory] == [
        (e.name, e.hostname, e.port) for e in entries
    ]
    for host, entry in zip(inventory, entries, strict=True):
        assert host.vars["ansible_ssh_private_key_file"] == entry.identity_files[0]
        assert host.vars["ssh_known_hosts_file"] == str(lab / ".vagrant/deployer-lab/known_hosts")
