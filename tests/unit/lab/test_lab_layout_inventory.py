"""The lab's layout, inventory and fault switches (pure or file-only)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from deployer.desired import desired_state
from deployer.errors import InputError
from deployer.lab.faults import FAULTS, read_faults, set_fault
from deployer.lab.inventory import apiserver_flags, lab_hosts, lab_inventory_text
from deployer.lab.layout import lab_layout
from deployer.lab.procs import ProcessRecord, is_running, process_record, read_start_time
from deployer.render import render_manifest


def test_layout_names_addresses_and_paths(tmp_path: Path) -> None:
    layout = lab_layout(tmp_path, 3, "127.0.20.254")
    assert [n.name for n in layout.nodes] == ["lab-cp1", "lab-cp2", "lab-cp3"]
    assert [n.ip for n in layout.nodes] == ["127.0.20.254", "127.0.20.255", "127.0.21.0"]
    node = layout.node("lab-cp2")
    assert node.manifests_dir == tmp_path.resolve() / "lab-cp2/etc/kubernetes/manifests"
    assert node.crictl == tmp_path.resolve() / "lab-cp2/bin/crictl"
    with pytest.raises(InputError, match="no node"):
        layout.node("lab-cp9")


@pytest.mark.parametrize(
    ("count", "first"), [(0, "127.0.10.1"), (2, "10.0.0.1"), (3, "127.255.255.254")]
)
def test_layout_refuses_non_loopback_or_empty_labs(tmp_path: Path, count: int, first: str) -> None:
    with pytest.raises(InputError):
        lab_layout(tmp_path, count, first)


def test_inventory_is_ansible_yaml_with_every_variable(tmp_path: Path) -> None:
    layout = lab_layout(tmp_path, 2, "127.0.10.1")
    doc = yaml.safe_load(lab_inventory_text(layout, "1.31"))
    hosts = doc["all"]["children"]["control_plane"]["hosts"]
    assert list(hosts) == ["lab-cp1", "lab-cp2"]
    cp2 = hosts["lab-cp2"]
    assert cp2["ansible_host"] == "127.0.10.2"
    assert cp2["ansible_port"] == 2222
    assert cp2["ansible_ssh_private_key_file"] == str(layout.client_key)
    assert cp2["ssh_known_hosts_file"] == str(layout.known_hosts)
    assert cp2["host_root"] == str(layout.root / "lab-cp2")
    assert (cp2["soak_seconds"], cp2["restart_timeout"], cp2["ready_timeout"]) == (2, 60, 60)
    flags = cp2["apiserver_flags"]
    assert flags["advertise-address"] == "127.0.10.2"
    assert flags["etcd-servers"] == "https://127.0.10.2:2379"
    assert "bind-address" not in flags
    assert flags["service-cluster-ip-range"] == "10.96.0.0/12"


def test_lab_hosts_render_kubeadm_shaped_manifests(tmp_path: Path) -> None:
    layout = lab_layout(tmp_path, 1)
    (host,) = lab_hosts(layout, "1.31")
    state, problems = desired_state(host)
    assert problems == []
    manifest = render_manifest(state)
    pod = yaml.safe_load(manifest.content)
    command = pod["spec"]["containers"][0]["command"]
    assert command[0] == "kube-apiserver"
    expected = {f"--{k}={v}" for k, v in apiserver_flags(layout.nodes[0]).items()}
    assert expected <= set(command)
    assert pod["spec"]["containers"][0]["image"] == "registry.k8s.io/kube-apiserver:v1.31.13"


def test_fault_switches(tmp_path: Path) -> None:
    path = tmp_path / "faults.json"
    assert read_faults(path) == dict.fromkeys(FAULTS, False)
    assert set_fault(path, "readyz-fail", is_on=True)["readyz-fail"] is True
    assert read_faults(path)["readyz-fail"] is True
    with pytest.raises(InputError, match="unknown fault"):
        set_fault(path, "disk-full", is_on=True)


def test_process_records_tell_a_reused_pid_apart() -> None:
    me = process_record("test", os.getpid())
    assert is_running(me)
    assert read_start_time(os.getpid()) == me.start_time
    assert not is_running(ProcessRecord("test", me.pid, me.start_time + 1))
    assert ProcessRecord.from_json(me.to_json()) == me
