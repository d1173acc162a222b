"""kubeadm-config: both kubeadm API shapes, the comparison, the update, the 409 retry."""

from __future__ import annotations

import base64
import json
from pathlib import PurePosixPath
from typing import Any

import pytest
import yaml

from deployer.desired import desired_state
from deployer.engine.kubeadm_sync import attach_kubeadm_config, sync_kubeadm_config
from deployer.facts.kubeadm_config import (
    KUBEADM_FLAGS,
    KubeadmConfigError,
    compare,
    parse_config_map,
    updated_config_map,
)
from deployer.lab.apiserver.configmaps import kubeadm_config_map
from deployer.model.host import Host
from deployer.model.manifest import Manifest
from deployer.model.plan import ChangeKind, HostPlan, Plan
from deployer.testing import ExpectHttps, FakeTransport

PATH = "/api/v1/namespaces/kube-system/configmaps/kubeadm-config"


def _config_map(version: str, extra: dict[str, str], rv: str = "7") -> dict[str, Any]:
    config_map = kubeadm_config_map(version, extra)
    config_map["metadata"]["resourceVersion"] = rv
    return config_map


def _flags(**extra: str) -> dict[str, str]:
    return {**KUBEADM_FLAGS, "advertise-address": "10.0.0.1", **extra}


@pytest.mark.parametrize(("version", "shape"), [("1.30.8", dict), ("1.31.4", list)])
def test_both_kubeadm_api_shapes_are_read(version: str, shape: type) -> None:
    config_map = _config_map(version, {"audit-log-maxage": "30"})
    text = config_map["data"]["ClusterConfiguration"]
    assert isinstance(yaml.safe_load(text)["apiServer"]["extraArgs"], shape)
    config = parse_config_map(config_map)
    assert config.extra_args == {"audit-log-maxage": "30"}
    assert config.resource_version == "7"


def test_what_kubeadm_upgrade_would_revert() -> None:
    config = parse_config_map(_config_map("1.31.4", {"audit-log-maxage": "30", "v": "2"}))
    lines = compare(
        config,
        [_flags(**{"audit-log-maxage": "45", "profiling": "false"})] * 2,
        [{"name": "audit", "hostPath": "/var/log/audit", "mountPath": "/var/log/audit"}],
    )
    assert lines == [
        "kubeadm-config: --audit-log-maxage 30, deployer 45: kubeadm upgrade would revert it",
        "kubeadm-config: --profiling absent, deployer false: kubeadm upgrade would drop it",
        "kubeadm-config: --v 2, deployer has none: kubeadm upgrade would add it",
        "kubeadm-config: extraVolumes lacks audit (/var/log/audit -> /var/log/audit): "
        "kubeadm upgrade would drop the mount",
    ]


def test_per_host_values_cannot_be_held_and_per_node_flags_are_left_out() -> None:
    config = parse_config_map(_config_map("1.31.4", {}))
    lines = compare(config, [_flags(x="1"), _flags(x="2", **{"advertise-address": "b"})], [])
    assert lines == [
        "kubeadm-config: --x differs between hosts: one ClusterConfiguration cannot hold it "
        "(kubeadm upgrade would give every host the same value)"
    ]


def test_update_keeps_the_rest_and_carries_the_resource_version() -> None:
    config = parse_config_map(_config_map("1.30.8", {"audit-log-maxage": "30"}, rv="42"))
    updated = updated_config_map(config, [_flags(**{"audit-log-maxage": "45"})], [])
    cluster = yaml.safe_load(updated["data"]["ClusterConfiguration"])
    assert cluster["apiServer"]["extraArgs"] == {"audit-log-maxage": "45"}
    assert cluster["networking"]["serviceSubnet"] == "10.96.0.0/12"
    assert updated["metadata"]["resourceVersion"] == "42"
    assert not compare(parse_config_map(updated), [_flags(**{"audit-log-maxage": "45"})], [])


def test_a_config_map_without_cluster_configuration_is_refused() -> None:
    with pytest.raises(KubeadmConfigError):
        parse_config_map({"data": {}})


def _kubeconfig() -> bytes:
    return json.dumps(
        {
            "current-context": "admin",
            "contexts": [{"name": "admin", "context": {"cluster": "c", "user": "u"}}],
            "clusters": [
                {
                    "name": "c",
                    "cluster": {
                        "server": "https://10.0.0.1:6443",
                        "certificate-authority-data": base64.b64encode(b"CA").decode(),
                    },
                }
            ],
            "users": [
                {
                    "name": "u",
                    "user": {
                        "client-certificate-data": base64.b64encode(b"CERT").decode(),
                        "client-key-data": base64.b64encode(b"KEY").decode(),
                    },
                }
            ],
        }
    ).encode()


def _plan(fake: FakeTransport) -> Plan:
    flags = {**_flags(**{"audit-log-maxage": "45"}), "advertise-address": "192.0.2.11"}
    host = Host("cp1", "192.0.2.11", vars={"apiserver_flags": flags, "kubeadm_config_sync": True})
    state, _ = desired_state(host)
    manifest = Manifest.from_content(PurePosixPath("/etc/kubernetes/manifests/x.yaml"), b"")
    return Plan("run-1", (HostPlan(state, manifest, None, ChangeKind.NONE),))


def test_sync_rereads_and_retries_once_after_a_409() -> None:
    fake = FakeTransport(
        Host("cp1", "192.0.2.11"), files={"/etc/kubernetes/admin.conf": _kubeconfig()}
    )
    first, second = _config_map("1.31.4", {}, rv="7"), _config_map("1.31.4", {}, rv="8")
    done = {**second, "metadata": {**second["metadata"], "resourceVersion": "9"}}
    fake.expect_https(
        ExpectHttps("192.0.2.11", 6443, PATH, body=json.dumps(first).encode()),
        ExpectHttps("192.0.2.11", 6443, PATH, status=409, body=b"{}"),
        ExpectHttps("192.0.2.11", 6443, PATH, body=json.dumps(second).encode()),
        ExpectHttps("192.0.2.11", 6443, PATH, body=json.dumps(done).encode()),
    )
    result = sync_kubeadm_config(_plan(fake), {"cp1": fake}, run_id="run-1")
    assert result.ok, result.detail
    assert "resourceVersion 9" in result.detail
    methods = [
        (m, json.loads(b)["metadata"]["resourceVersion"] if b else None)
        for m, _, b in fake.requests
    ]
    assert methods == [("GET", None), ("PUT", "7"), ("GET", None), ("PUT", "8")]
    assert [p.path.name for p in fake.puts] == ["deployer-kubeadm-config-run-1.json"]
    assert fake.puts[0].mode == 0o600


def test_sync_gives_up_after_a_second_409() -> None:
    fake = FakeTransport(
        Host("cp1", "192.0.2.11"), files={"/etc/kubernetes/admin.conf": _kubeconfig()}
    )
    body = json.dumps(_config_map("1.31.4", {})).encode()
    fake.expect_https(
        ExpectHttps("192.0.2.11", 6443, PATH, body=body),
        ExpectHttps("192.0.2.11", 6443, PATH, status=409, body=b"{}"),
        ExpectHttps("192.0.2.11", 6443, PATH, body=body),
        ExpectHttps("192.0.2.11", 6443, PATH, status=409, body=b"{}"),
    )
    result = sync_kubeadm_config(_plan(fake), {"cp1": fake}, run_id="run-1")
    assert not result.ok and "409" in result.detail
    assert result.backup is not None


def test_plan_without_kubeadm_config_is_not_a_kubeadm_cluster() -> None:
    fake = FakeTransport(
        Host("cp1", "192.0.2.11"), files={"/etc/kubernetes/admin.conf": _kubeconfig()}
    )
    fake.expect_https(ExpectHttps("192.0.2.11", 6443, PATH, status=404, body=b"{}"))
    plan = attach_kubeadm_config(_plan(fake), {"cp1": fake})
    assert plan.hosts[0].kubeadm_config is None
    assert plan.hosts[0].drift["kubeadm_config"] is None


def test_a_read_ahead_through_the_reader_host_is_used_without_reading_again() -> None:
    fake = FakeTransport(Host("cp1", "192.0.2.11"))  # no kubeconfig, no HTTPS scripted
    config = parse_config_map(_config_map("1.31.4", {"audit-log-maxage": "30"}))
    plan = attach_kubeadm_config(_plan(fake), {"cp1": fake}, read_ahead=("cp1", (config, None)))
    assert plan.hosts[0].kubeadm_config is not None
    assert any("--audit-log-maxage 30" in line for line in plan.hosts[0].kubeadm_config)
    assert fake.calls == [] and fake.requests == []


def test_a_read_ahead_through_another_host_is_not_used() -> None:
    fake = FakeTransport(
        Host("cp1", "192.0.2.11"), files={"/etc/kubernetes/admin.conf": _kubeconfig()}
    )
    fake.expect_https(ExpectHttps("192.0.2.11", 6443, PATH, status=404, body=b"{}"))
    config = parse_config_map(_config_map("1.31.4", {"audit-log-maxage": "30"}))
    plan = attach_kubeadm_config(_plan(fake), {"cp1": fake}, read_ahead=("cp9", (config, None)))
    assert plan.hosts[0].kubeadm_config is None  # read through cp1 again: no ConfigMap there
