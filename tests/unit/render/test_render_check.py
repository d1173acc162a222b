"""check_manifest finds each kind of problem a template or an inventory can cause."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import yaml
from render_fixtures import make_state

from deployer.desired import DesiredState
from deployer.errors import InputProblem
from deployer.model.manifest import Manifest
from deployer.render import check_manifest, render_manifest

Pod = dict[str, Any]


def _container(pod: Pod) -> dict[str, Any]:
    return pod["spec"]["containers"][0]  # type: ignore[no-any-return]


def _with(
    pod_change: Callable[[Pod], None], state: DesiredState | None = None
) -> list[InputProblem]:
    state = state or make_state()
    pod = yaml.safe_load(render_manifest(state).content)
    pod_change(pod)
    content = yaml.safe_dump(pod, sort_keys=False).encode()
    return check_manifest(state, Manifest.from_content(state.manifest_path, content))


def _errors(problems: list[InputProblem]) -> list[InputProblem]:
    return [p for p in problems if not p.is_warning]


def _only(problems: list[InputProblem], needle: str) -> InputProblem:
    errors = _errors(problems)
    assert len(errors) == 1, [str(p) for p in errors]
    assert needle in errors[0].message, str(errors[0])
    assert errors[0].host == "cp1"
    return errors[0]


def test_a_clean_rendering_has_no_problem() -> None:
    state = make_state()
    assert check_manifest(state, render_manifest(state)) == []


def _append_flag(flag: str) -> Callable[[Pod], None]:
    return lambda pod: _container(pod)["command"].append(flag)


def _set(path: str, value: object) -> Callable[[Pod], None]:
    def change(pod: Pod) -> None:
        *parents, last = path.split(".")
        node: Any = pod
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        node[int(last) if isinstance(node, list) else last] = value

    return change


def _drop_flag(flag: str) -> Callable[[Pod], None]:
    def change(pod: Pod) -> None:
        command = _container(pod)["command"]
        command[:] = [a for a in command if not a.startswith(f"--{flag}=")]

    return change


CASES: list[tuple[str, Callable[[Pod], None], str, str | None]] = [
    ("kind", _set("kind", "Deployment"), "apiVersion v1, kind Pod", None),
    ("namespace", _set("metadata.namespace", "default"), "in kube-system", None),
    ("name", _set("metadata.name", "apiserver"), "named kube-apiserver", None),
    ("uid", _set("metadata.uid", "0b6d2e52-1111-2222-3333-444455556666"), "metadata.uid", None),
    ("host network", _set("spec.hostNetwork", False), "hostNetwork", None),
    ("command[0]", _set("spec.containers.0.command.0", "/usr/bin/kube-apiserver"), "command[0]",
     None),
    ("missing flag", _drop_flag("etcd-servers"), "--etcd-servers is missing", "etcd-servers"),
    ("repeated flag", _append_flag("--secure-port=6443"), "appears 2 times", "secure-port"),
    ("extra flag", _append_flag("--profiling=true"), "not in the inventory", "profiling"),
    ("not name=value", _append_flag("--anonymous-auth"), "--name=value form", None),
    ("positional", _append_flag("false"), "--name=value form", None),
    ("image", _set("spec.containers.0.image", "example/apiserver:latest"), "image is", None),
    ("probe port", _set("spec.containers.0.livenessProbe.httpGet.port", 443), "livenessProbe",
     None),
    ("probe path", _set("spec.containers.0.readinessProbe.httpGet.path", "/healthz"),
     "readinessProbe", None),
    ("probe host", _set("spec.containers.0.startupProbe.httpGet.host", "127.0.0.1"),
     "startupProbe", None),
    ("annotation", _set("metadata.annotations", {}), "advertise-address.endpoint", None),
]  # fmt: skip


@pytest.mark.parametrize(
    ("change", "needle", "flag"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_each_manifest_problem_is_reported(
    change: Callable[[Pod], None], needle: str, flag: str | None
) -> None:
    problem = _only(_with(change), needle)
    assert problem.flag == flag


def test_a_changed_value_names_both_values_and_where_the_flag_was_set() -> None:
    def change(pod: Pod) -> None:
        command = _container(pod)["command"]
        command[:] = ["--secure-port=7443" if a == "--secure-port=6443" else a for a in command]

    problems = _errors(_with(change))
    problem = next(p for p in problems if p.flag == "secure-port")
    assert "'7443'" in problem.message and "'6443'" in problem.message
    assert problem.file == "hosts.yml" and problem.line == 1


def test_a_second_container_is_reported() -> None:
    def change(pod: Pod) -> None:
        pod["spec"]["containers"].append({"name": "sidecar", "image": "busybox"})

    _only(_with(change), "exactly one container")


def test_a_renamed_container_is_reported() -> None:
    problems = _errors(_with(_set("spec.containers.0.name", "apiserver")))
    assert any("exactly one container" in p.message for p in problems)


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (b"apiVersion: v1\nkind: Pod\n  bad: indent\n", "not valid YAML"),
        (b"apiVersion: v1\nkind: Pod\n---\napiVersion: v1\nkind: Pod\n", "2 YAML documents"),
        (b"- a\n- b\n", "not a mapping"),
        (b"", "0 YAML documents"),
    ],
    ids=["not yaml", "two documents", "a list", "empty"],
)
def test_unparsable_manifests_are_reported(content: bytes, needle: str) -> None:
    state = make_state()
    problems = check_manifest(state, Manifest.from_content(state.manifest_path, content))
    _only(problems, needle)


def test_duplicate_mount_paths_and_mounts_without_volume_are_reported() -> None:
    def change(pod: Pod) -> None:
        mounts = _container(pod)["volumeMounts"]
        mounts.append({"name": "ghost", "mountPath": "/etc/ssl/certs"})

    problems = _errors(_with(change))
    messages = " | ".join(p.message for p in problems)
    assert "mountPath /etc/ssl/certs is used by 2 volume mounts" in messages
    assert "'ghost' has no hostPath volume" in messages
    assert len(problems) == 2


def test_a_flag_file_outside_every_mount_names_the_flag_and_the_folder_to_mount() -> None:
    state = make_state({"audit-policy-file": "/etc/kubernetes/audit/policy.yaml"})
    problem = _only(check_manifest(state, render_manifest(state)), "outside every hostPath mount")
    assert problem.flag == "audit-policy-file"
    assert problem.hint is not None
    assert "add an apiserver_extra_volumes entry for /etc/kubernetes/audit" in problem.hint


def test_a_mounted_flag_file_is_fine() -> None:
    state = make_state(
        {"audit-policy-file": "/etc/kubernetes/audit/policy.yaml"},
        apiserver_extra_volumes=[
            {
                "name": "audit",
                "hostPath": "/etc/kubernetes/audit",
                "mountPath": "/etc/kubernetes/audit",
                "readOnly": True,
            }
        ],
    )
    assert check_manifest(state, render_manifest(state)) == []


def test_the_audit_log_folder_must_be_mounted_writable() -> None:
    state = make_state({"audit-log-path": "/etc/kubernetes/pki/audit/audit.log"})
    problem = _only(check_manifest(state, render_manifest(state)), "mounted readOnly")
    assert problem.flag == "audit-log-path"
    assert "k8s-certs" in problem.message


def test_the_deepest_mount_decides_whether_a_path_is_writable() -> None:
    writable_inside = {
        "name": "audit-log",
        "hostPath": "/var/log/audit-k8s",
        "mountPath": "/etc/kubernetes/pki/audit",
    }
    state = make_state(
        {"audit-log-path": "/etc/kubernetes/pki/audit/audit.log"},
        apiserver_extra_volumes=[writable_inside],
    )
    assert check_manifest(state, render_manifest(state)) == []
    readonly_inside = {**writable_inside, "readOnly": True, "mountPath": "/var/log/k/ro"}
    state = make_state(
        {"audit-log-path": "/var/log/k/ro/audit.log"},
        apiserver_extra_volumes=[
            {"name": "logs", "hostPath": "/var/log/k", "mountPath": "/var/log/k"},
            readonly_inside,
        ],
    )
    _only(check_manifest(state, render_manifest(state)), "mounted readOnly")


def test_audit_log_to_stdout_needs_no_mount() -> None:
    state = make_state({"audit-log-path": "-"})
    assert check_manifest(state, render_manifest(state)) == []


def test_relative_paths_and_sni_certificates_are_checked() -> None:
    state = make_state(
        {
            "token-auth-file": "tokens.csv",
            "tls-sni-cert-key": "/etc/sni/a.crt,/etc/kubernetes/pki/a.key:a.example",
        }
    )
    problems = _errors(check_manifest(state, render_manifest(state)))
    assert {p.flag for p in problems} == {"token-auth-file", "tls-sni-cert-key"}
    sni = next(p for p in problems if p.flag == "tls-sni-cert-key")
    assert "/etc/sni/a.crt" in sni.message
    assert "relative path" in next(p for p in problems if p.flag == "token-auth-file").message


def test_no_advertise_address_is_only_a_warning() -> None:
    state = make_state({"advertise-address": None})
    problems = check_manifest(state, render_manifest(state))
    assert len(problems) == 1 and problems[0].is_warning
    assert "advertise-address" in problems[0].message
