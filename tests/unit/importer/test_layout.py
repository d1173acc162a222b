"""Import's grouping: shared values once in group_vars, differences in host_vars."""

from __future__ import annotations

from typing import Any

import yaml

from deployer.importer.extract import HostImport
from deployer.importer.layout import ImportedHost, carried_vars, inventory_files


def _host(name: str, flags: dict[str, str], **extra: Any) -> ImportedHost:
    variables = {"kubernetes_version": "1.31.4", "apiserver_flags": flags, **extra}
    carried = carried_vars(
        {
            "ansible_host": f"10.0.0.{name[-1]}",
            "ansible_user": "ops",
            "ansible_become_password": "x",
        }
    )
    return ImportedHost(
        name, carried, HostImport(name, "/etc/kubernetes/manifests/kube-apiserver.yaml", variables)
    )


def test_shared_flags_go_to_group_vars_and_differences_to_host_vars() -> None:
    hosts = [
        _host("cp1", {"secure-port": "6443", "advertise-address": "10.0.0.1"}),
        _host("cp2", {"secure-port": "6443", "advertise-address": "10.0.0.2"}),
        _host(
            "cp3",
            {"secure-port": "6443", "advertise-address": "10.0.0.3"},
            apiserver_bare_flags=["profiling"],
        ),
    ]
    files = inventory_files(hosts, "control_plane")
    group = yaml.safe_load(files["group_vars/control_plane.yml"])
    assert group == {"kubernetes_version": "1.31.4", "apiserver_flags": {"secure-port": "6443"}}
    cp3 = yaml.safe_load(files["host_vars/cp3.yml"])
    assert cp3 == {
        "apiserver_flags": {"advertise-address": "10.0.0.3"},
        "apiserver_bare_flags": ["profiling"],
    }
    assert (
        "# apiserver_bare_flags: read from cp3 (/etc/kubernetes/manifests/kube-apiserver.yaml)"
        in files["host_vars/cp3.yml"]
    )
    inventory = yaml.safe_load(files["hosts.yml"])
    group_node = inventory["all"]["children"]["control_plane"]
    assert group_node["vars"] == {"ansible_user": "ops"}
    assert group_node["hosts"]["cp2"] == {"ansible_host": "10.0.0.2"}
    assert "password" not in files["hosts.yml"]


def test_the_same_hosts_give_the_same_bytes_whatever_the_dict_order() -> None:
    a = [_host("cp1", {"b": "2", "a": "1"}), _host("cp2", {"a": "1", "b": "3"})]
    b = [_host("cp1", {"a": "1", "b": "2"}), _host("cp2", {"b": "3", "a": "1"})]
    assert inventory_files(a, "cp") == inventory_files(b, "cp")
