"""Companion files rolled with the pod on the embedded lab, driven through the CLI.

One lab for the module; the tests build on each other in file order, the way an operator would
go: turn audit logging on (policy, flags and mounts in one rollout), try a policy the offline
check refuses, roll a change the offline check cannot see (the host's apiserver refuses it at
startup, so every file of the set comes back), then change the policy alone on two hosts.
The lab's apiserver stand-in reads the files with its own implementation of upstream's checks
(deployer/lab/apiserver/companions), never deployer's, so a file deployer wrote wrong is
caught by something that is not deployer.
"""

from __future__ import annotations

import json
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from rollout_support import Deployer, next_lab_address

from deployer.facts.crictl import parse_inspect_args
from deployer.lab.testing import LabHandle, running_lab

pytestmark = pytest.mark.integration

NODES = ("lab-cp1", "lab-cp2", "lab-cp3")
POLICY = "/etc/kubernetes/audit/policy.yaml"
LOG = "/var/log/kubernetes/audit/audit.log"

_QUIET_PROBES = {"level": "None", "nonResourceURLs": ["/readyz*", "/livez*", "/healthz*"]}
POLICY_V1: dict[str, object] = {
    "apiVersion": "audit.k8s.io/v1",
    "kind": "Policy",
    "omitStages": ["RequestReceived"],
    "rules": [_QUIET_PROBES, {"level": "Metadata"}],
}
POLICY_V2: dict[str, object] = {**POLICY_V1, "rules": [_QUIET_PROBES, {"level": "Request"}]}


def _volumes(*, log_read_only: bool) -> list[dict[str, object]]:
    return [
        {
            "name": "audit-policy",
            "hostPath": "/etc/kubernetes/audit",
            "mountPath": "/etc/kubernetes/audit",
            "readOnly": True,
            "pathType": "DirectoryOrCreate",
        },
        {
            "name": "audit-log",
            "hostPath": "/var/log/kubernetes/audit",
            "mountPath": "/var/log/kubernetes/audit",
            "readOnly": log_read_only,
            "pathType": "DirectoryOrCreate",
        },
    ]


def _audit_vars(policy: object, *, log_read_only: bool = False) -> dict[str, object]:
    return {
        "apiserver_flags": {"audit-policy-file": POLICY, "audit-log-path": LOG},
        "apiserver_extra_volumes": _volumes(log_read_only=log_read_only),
        "apiserver_files": [{"path": POLICY, "kind": "Policy", "content": policy}],
    }


def _write_vars(lab: LabHandle, relative: str, data: dict[str, object] | None) -> None:
    path = lab.inventory.parent / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    if data is None:
        path.unlink(missing_ok=True)
    else:
        path.write_text(yaml.safe_dump(data, sort_keys=False))


def _on_node(lab: LabHandle, node: str, host_path: str) -> Path:
    return lab.node(node).root / host_path.lstrip("/")


def _container_id(lab: LabHandle, node: str) -> str:
    running = lab.running_apiserver(node)
    assert running is not None, f"{node} runs no kube-apiserver"
    return str(running["id"])


def _running_args(lab: LabHandle, node: str) -> tuple[str, ...]:
    result = lab.crictl(node, "inspect", _container_id(lab, node))
    result.check_returncode()
    return parse_inspect_args(result.stdout)


def _state(lab: LabHandle) -> dict[str, tuple[bytes, bytes | None, str]]:
    """Per node: manifest bytes, policy bytes (None: absent), running container id."""
    out: dict[str, tuple[bytes, bytes | None, str]] = {}
    for node in NODES:
        policy = _on_node(lab, node, POLICY)
        out[node] = (
            lab.manifest(node).read_bytes(),
            policy.read_bytes() if policy.exists() else None,
            _container_id(lab, node),
        )
    return out


def _strays(lab: LabHandle) -> dict[str, list[str]]:
    """Names other than the set's own in the manifests folder and the policy's folder."""
    found: dict[str, list[str]] = {}
    for node in NODES:
        folders = (lab.manifest(node).parent, _on_node(lab, node, POLICY).parent)
        for folder in folders:
            if not folder.is_dir():
                continue
            extra = [
                p.name
                for p in folder.iterdir()
                if p.name not in ("kube-apiserver.yaml", "policy.yaml")
            ]
            if extra:
                found[f"{node}:{folder}"] = extra
    return found


def _spans(hosts: dict[str, dict[str, object]], nodes: tuple[str, ...]) -> list[tuple[str, str]]:
    spans = []
    for node in nodes:
        phases = hosts[node]["phases"]
        assert isinstance(phases, list) and phases
        spans.append((phases[0]["started_at"], phases[-1]["finished_at"]))
    return spans


def _companion_changes(host: dict[str, object]) -> list[dict[str, object]]:
    details = host["details"]
    assert isinstance(details, dict)
    changes = details.get("companion_changes", [])
    assert isinstance(changes, list)
    return changes


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabHandle]:
    root = tmp_path_factory.mktemp("companions")
    with running_lab(root / "lab", nodes=3, first_address=next_lab_address()) as handle:
        yield handle


@pytest.fixture
def deployer(lab: LabHandle, tmp_path: Path) -> Deployer:
    return Deployer(lab, tmp_path)


def test_audit_logging_turned_on_across_three_nodes_in_one_rollout(
    lab: LabHandle, deployer: Deployer
) -> None:
    before = _state(lab)
    assert all(policy is None for _, policy, _ in before.values())
    _write_vars(lab, "group_vars/control_plane.yml", _audit_vars(POLICY_V1))

    assert deployer("plan") == 2
    for node in NODES:
        changes = _companion_changes(deployer.hosts()[node])
        assert isinstance(changes, list) and [c["path"] for c in changes] == [POLICY], changes

    assert deployer("apply") == 0, deployer.last_report
    hosts = deployer.hosts()
    for node in NODES:
        assert hosts[node]["outcome"] == "changed"
        policy = _on_node(lab, node, POLICY)
        assert yaml.safe_load(policy.read_bytes()) == POLICY_V1
        assert stat.S_IMODE(policy.stat().st_mode) == 0o600
        args = _running_args(lab, node)
        assert f"--audit-policy-file={POLICY}" in args and f"--audit-log-path={LOG}" in args
        assert _container_id(lab, node) != before[node][2], f"{node} was not restarted"
        # The stand-in writes audit events at the level of the first matching rule; the
        # rollout's own requests after the restart (version, componentstatuses) are in it.
        events = [json.loads(line) for line in _on_node(lab, node, LOG).read_text().splitlines()]
        assert events and {e["level"] for e in events} == {"Metadata"}, events[:3]
    spans = _spans(hosts, NODES)
    assert spans[0][1] <= spans[1][0] and spans[1][1] <= spans[2][0], "one host at a time"
    assert not _strays(lab)
    assert deployer("plan") == 0, "in sync right after the rollout"


def test_a_policy_refused_offline_touches_no_host(lab: LabHandle, deployer: Deployer) -> None:
    before = _state(lab)
    bad = {**POLICY_V1, "rules": [{"level": "Verbose"}]}
    _write_vars(lab, "group_vars/control_plane.yml", _audit_vars(bad))
    try:
        assert deployer("apply") == 6
    finally:
        _write_vars(lab, "group_vars/control_plane.yml", _audit_vars(POLICY_V1))
    assert _state(lab) == before
    assert deployer("plan") == 0


AUTHZ = "/etc/kubernetes/authz/config.yaml"
_AUTHZ_CONFIG = {
    "apiVersion": "apiserver.config.k8s.io/v1beta1",
    "kind": "AuthorizationConfiguration",
    "authorizers": [
        {"type": "Node", "name": "node"},
        {"type": "RBAC", "name": "rbac"},
        {
            "type": "Webhook",
            "name": "policy-webhook",
            "webhook": {
                "timeout": "3s",
                "subjectAccessReviewVersion": "v1",
                "matchConditionSubjectAccessReviewVersion": "v1",
                "failurePolicy": "Deny",
                "authorizedTTL": "5m",
                "unauthorizedTTL": "30s",
                # Not on the hosts: only the host's apiserver can tell, at startup.
                "connectionInfo": {
                    "type": "KubeConfigFile",
                    "kubeConfigFile": "/etc/kubernetes/authz/webhook.kubeconfig",
                },
            },
        },
    ],
}


def _authz_vars() -> dict[str, object]:
    return {
        "apiserver_flags": {"authorization-mode": None, "authorization-config": AUTHZ},
        "apiserver_extra_volumes": [
            *_volumes(log_read_only=False),
            {
                "name": "authz",
                "hostPath": "/etc/kubernetes/authz",
                "mountPath": "/etc/kubernetes/authz",
                "readOnly": True,
                "pathType": "DirectoryOrCreate",
            },
        ],
        "apiserver_files": [
            {"path": AUTHZ, "kind": "AuthorizationConfiguration", "content": _AUTHZ_CONFIG}
        ],
    }


def test_a_set_the_host_refuses_at_startup_is_restored_file_by_file(
    lab: LabHandle, deployer: Deployer, capsys: pytest.CaptureFixture[str]
) -> None:
    # Valid offline: a new audit policy, and structured authorization whose webhook names a
    # kubeconfig the hosts do not have. The apiserver refuses to start, which only the host
    # can tell; the policy, the new authorization config and the manifest all come back.
    before = _state(lab)
    _write_vars(lab, "group_vars/control_plane.yml", _audit_vars(POLICY_V2))
    for node in NODES:
        _write_vars(lab, f"host_vars/{node}.yml", _authz_vars())
    try:
        assert deployer("plan") == 2, "nothing offline refuses it"
        code = deployer("apply")
        hosts = deployer.hosts()
    finally:
        _write_vars(lab, "group_vars/control_plane.yml", _audit_vars(POLICY_V1))
        for node in NODES:
            _write_vars(lab, f"host_vars/{node}.yml", None)
    assert code == 3, deployer.last_report
    assert hosts["lab-cp1"]["outcome"] == "rolled_back", hosts["lab-cp1"]
    # The operator sees why: the failed container's last lines, upstream's message among them.
    assert "kubeConfigFile" in capsys.readouterr().out
    assert [hosts[n]["outcome"] for n in NODES[1:]] == ["skipped", "skipped"]
    after = _state(lab)
    for node in NODES:
        assert after[node][0] == before[node][0], f"{node}: manifest not restored"
        assert after[node][1] == before[node][1], f"{node}: policy not restored"
        assert not _on_node(lab, node, AUTHZ).exists(), f"{node}: new file not removed"
    assert after["lab-cp2"][2] == before["lab-cp2"][2]
    assert after["lab-cp3"][2] == before["lab-cp3"][2]
    assert not _strays(lab)
    assert deployer("plan") == 0


def test_a_companion_only_change_restarts_exactly_the_changed_hosts(
    lab: LabHandle, deployer: Deployer
) -> None:
    before = _state(lab)
    changed = ("lab-cp1", "lab-cp3")
    for node in changed:
        item = {"path": POLICY, "kind": "Policy", "content": POLICY_V2}
        _write_vars(lab, f"host_vars/{node}.yml", {"apiserver_files": [item]})
    try:
        assert deployer("plan") == 2
        plan = deployer.hosts()
        assert [bool(_companion_changes(plan[n])) for n in NODES] == [True, False, True]
        assert deployer("apply") == 0, deployer.last_report
        hosts = deployer.hosts()
    finally:
        for node in changed:
            _write_vars(lab, f"host_vars/{node}.yml", None)
    assert hosts["lab-cp2"]["outcome"] == "unchanged"
    after = _state(lab)
    assert after["lab-cp2"] == before["lab-cp2"]
    for node in changed:
        assert after[node][2] != before[node][2], f"{node} was not restarted"
        assert yaml.safe_load(after[node][1] or b"") == POLICY_V2
        events = [json.loads(line) for line in _on_node(lab, node, LOG).read_text().splitlines()]
        assert events[-1]["level"] == "Request", "the restarted apiserver runs the new policy"
    spans = _spans(hosts, changed)
    assert spans[0][1] <= spans[1][0], "one host at a time"
