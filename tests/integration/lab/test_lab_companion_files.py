"""The lab's kube-apiserver reads the companion files its flags name, through the pod's mounts.

One single-node lab for the module. Each test writes files on the node (under its host root),
edits the manifest as an operator would, and watches the container the kubelet stand-in starts:
an invalid or missing file makes it exit at startup with upstream's message (``crictl logs``),
and an encryption configuration with automatic reload is re-read while serving and counted on
``/metrics``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from lab_support import apiserver_id, replace_manifest, wait_new_apiserver

from deployer.lab.testing import LabHandle, poll_until, running_lab

pytestmark = pytest.mark.integration

NODE = "lab-cp1"
DIR = "/etc/kubernetes/companions"
KUBECTL = shutil.which("kubectl")
#: The tests that read the stand-in as an operator would (kubectl get --raw) need kubectl.
needs_kubectl = pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed")
POLICY = "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: {level}\n"
ENCRYPTION = """apiVersion: apiserver.config.k8s.io/v1
kind: EncryptionConfiguration
resources:
- resources: [secrets]
  providers:
  - aesgcm:
      keys:
      - name: {name}
        secret: {secret}
  - identity: {{}}
"""
KEY16 = "MDEyMzQ1Njc4OWFiY2RlZg=="
LOG_DIR = "/var/log/kubernetes/audit"
LOG = f"{LOG_DIR}/audit.log"
METRIC = "apiserver_encryption_config_controller_"


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabHandle]:
    with running_lab(
        tmp_path_factory.mktemp("lab"),
        nodes=1,
        first_address="127.0.36.1",
        kubernetes_version="1.34",
    ) as handle:
        yield handle


@pytest.fixture
def original(lab: LabHandle) -> Iterator[bytes]:
    """The node's manifest before the test; put back (and waited for) afterwards."""
    before = lab.manifest(NODE).read_bytes()
    yield before
    if lab.manifest(NODE).read_bytes() != before:
        replace_manifest(lab.manifest(NODE), before)
    lab.wait_ready(NODE, timeout_s=30)


def _host_file(lab: LabHandle, container_path: str, text: str) -> Path:
    """Write a file on the node (its host root) at ``container_path``."""
    path = lab.node(NODE).root / container_path.lstrip("/")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def _with_flags(manifest: bytes, *flags: str, mount: bool = True, drop: str = "") -> bytes:
    """The manifest with ``flags`` added (``drop``-prefixed ones removed) and, if ``mount``,
    the companions folder mounted."""
    pod = yaml.safe_load(manifest)
    container = pod["spec"]["containers"][0]
    if drop:
        container["command"] = [c for c in container["command"] if not c.startswith(drop)]
    container["command"].extend(flags)
    if mount:
        pod["spec"]["volumes"].append(
            {"name": "companions", "hostPath": {"path": DIR, "type": "DirectoryOrCreate"}}
        )
        container["volumeMounts"].append({"name": "companions", "mountPath": DIR, "readOnly": True})
    return yaml.safe_dump(pod, sort_keys=False).encode()


def _known(lab: LabHandle) -> set[str]:
    """The ids of every container of the node so far."""
    return {str(c["id"]) for c in lab.containers(NODE)}


def _exit_message(lab: LabHandle, known: set[str]) -> str:
    """Wait for a container not in ``known`` to exit; return its ``command failed`` line."""
    found: list[str] = []

    def exited() -> bool:
        for c in lab.containers(NODE):
            if c["state"] == "CONTAINER_EXITED" and str(c["id"]) not in known:
                logs = lab.crictl(NODE, "logs", str(c["id"]))
                lines = [
                    x for x in (logs.stderr + logs.stdout).splitlines() if "command failed" in x
                ]
                if lines:
                    found.append(lines[-1])
                    return True
        return False

    poll_until(exited, timeout_s=30, what="the kube-apiserver container exiting at startup")
    return found[0]


def _err(line: str) -> str:
    """The ``err="..."`` value of a klog line, unquoted."""
    quoted = line.split(' err="', 1)[1].rsplit('"', 1)[0]
    text: str = json.loads(f'"{quoted}"')
    return text


def test_invalid_audit_policy_stops_the_container_with_upstreams_message(
    lab: LabHandle, original: bytes
) -> None:
    _host_file(lab, f"{DIR}/policy.yaml", POLICY.format(level="Everything"))
    known = _known(lab)
    replace_manifest(
        lab.manifest(NODE), _with_flags(original, f"--audit-policy-file={DIR}/policy.yaml")
    )
    assert _err(_exit_message(lab, known)) == (
        'loading audit policy file: rules[0].level: Unsupported value: "Everything": '
        'supported values: "None", "Metadata", "Request", "RequestResponse"'
    )


def test_missing_and_unmounted_policy_files_fail_alike(lab: LabHandle, original: bytes) -> None:
    missing = f"{DIR}/absent.yaml"
    known = _known(lab)
    replace_manifest(lab.manifest(NODE), _with_flags(original, f"--audit-policy-file={missing}"))
    expected = (
        f'loading audit policy file: failed to read file path "{missing}": '
        f"open {missing}: no such file or directory"
    )
    assert _err(_exit_message(lab, known)) == expected
    # The file now exists on the node, but without the volume the container cannot see it.
    _host_file(lab, missing, POLICY.format(level="Metadata"))
    known = _known(lab)
    replace_manifest(
        lab.manifest(NODE), _with_flags(original, f"--audit-policy-file={missing}", mount=False)
    )
    assert _err(_exit_message(lab, known)) == expected


@needs_kubectl
def test_valid_policy_starts_warns_about_unknown_fields_and_writes_audit_lines(
    lab: LabHandle, original: bytes
) -> None:
    _host_file(lab, f"{DIR}/policy.yaml", POLICY.format(level="Metadata") + "  verbz: [get]\n")
    old = apiserver_id(lab, NODE)
    manifest = _with_flags(
        original, f"--audit-policy-file={DIR}/policy.yaml", f"--audit-log-path={LOG}"
    )
    pod = yaml.safe_load(manifest)
    pod["spec"]["volumes"].append(
        {"name": "audit-log", "hostPath": {"path": LOG_DIR, "type": "DirectoryOrCreate"}}
    )
    pod["spec"]["containers"][0]["volumeMounts"].append(
        {"name": "audit-log", "mountPath": LOG_DIR, "readOnly": False}
    )
    replace_manifest(lab.manifest(NODE), yaml.safe_dump(pod, sort_keys=False).encode())
    new = wait_new_apiserver(lab, NODE, old)
    lab.wait_ready(NODE)
    logs = lab.crictl(NODE, "logs", new)
    assert (
        "Audit policy contains errors, falling back to lenient decoding: "
        'strict decoding error: unknown field "rules[0].verbz"'
    ) in logs.stderr + logs.stdout
    assert KUBECTL, "kubectl is not installed"
    conf = str(lab.node(NODE).admin_conf)
    subprocess.run([KUBECTL, "--kubeconfig", conf, "get", "--raw", "/version"], check=True)
    log = lab.node(NODE).root / LOG.lstrip("/")
    events = [json.loads(line) for line in log.read_text().splitlines()]
    mine = [e for e in events if e["requestURI"] == "/version" and e["stage"] == "ResponseComplete"]
    assert mine, events[-3:]
    assert mine[-1]["level"] == "Metadata"
    assert mine[-1]["user"]["username"] == "kubernetes-admin"
    assert mine[-1]["responseStatus"]["code"] == 200


def _metrics(lab: LabHandle) -> list[str]:
    assert KUBECTL, "kubectl is not installed"
    out = subprocess.run(
        [KUBECTL, "--kubeconfig", str(lab.node(NODE).admin_conf), "get", "--raw", "/metrics"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return [line for line in out.stdout.splitlines() if line.startswith(METRIC)]


def _series(lines: list[str], name: str) -> list[str]:
    return [line for line in lines if line.startswith(METRIC + name + "{")]


@needs_kubectl
def test_encryption_config_reload_is_counted_and_a_bad_file_keeps_the_old_one(
    lab: LabHandle, original: bytes
) -> None:
    path = f"{DIR}/encryption.yaml"
    host = _host_file(lab, path, ENCRYPTION.format(name="key1", secret=KEY16))
    old = apiserver_id(lab, NODE)
    replace_manifest(
        lab.manifest(NODE),
        _with_flags(
            original,
            f"--encryption-provider-config={path}",
            "--encryption-provider-config-automatic-reload=true",
        ),
    )
    wait_new_apiserver(lab, NODE, old)
    lab.wait_ready(NODE)
    (first,) = _series(_metrics(lab), "last_config_info")
    assert _series(_metrics(lab), "automatic_reloads_total") == []

    host.write_text(ENCRYPTION.format(name="key2", secret=KEY16))
    poll_until(
        lambda: any(
            'status="success"} 1' in s for s in _series(_metrics(lab), "automatic_reloads_total")
        ),
        timeout_s=15,
        what="the reload counted",
    )
    (second,) = _series(_metrics(lab), "last_config_info")
    assert second != first

    host.write_text(ENCRYPTION.format(name="key3", secret="c2hvcnQ="))
    poll_until(
        lambda: any(
            'status="failure"}' in s for s in _series(_metrics(lab), "automatic_reloads_total")
        ),
        timeout_s=15,
        what="the failed reload counted",
    )
    assert _series(_metrics(lab), "last_config_info") == [second], "the old config stays in use"
    assert lab.readyz(NODE).ok


AUTHN = """apiVersion: apiserver.config.k8s.io/v1beta1
kind: AuthenticationConfiguration
jwt:
- issuer:
    url: {url}
    audiences: [deployer]
  claimMappings:
    username: {{claim: sub, prefix: ""}}
"""
AUTHN_METRIC = "apiserver_authentication_config_controller_"


@needs_kubectl
def test_authentication_config_fails_at_start_then_reloads_while_serving(
    lab: LabHandle, original: bytes
) -> None:
    path = f"{DIR}/authn.yaml"
    host = _host_file(lab, path, AUTHN.format(url="http://issuer.example.com"))
    known = _known(lab)
    replace_manifest(lab.manifest(NODE), _with_flags(original, f"--authentication-config={path}"))
    assert _err(_exit_message(lab, known)) == (
        "invalid authentication configuration: jwt[0].issuer.url: Invalid value: "
        '"http://issuer.example.com": URL scheme must be https'
    )
    host.write_text(AUTHN.format(url="https://issuer.example.com"))
    lab.wait_ready(NODE, timeout_s=60)  # kubelet's back-off restarts the container
    host.write_text(AUTHN.format(url="https://issuer2.example.com"))

    def reloads() -> list[str]:
        out = subprocess.run(
            [
                str(KUBECTL),
                "--kubeconfig",
                str(lab.node(NODE).admin_conf),
                "get",
                "--raw",
                "/metrics",
            ],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
        return [
            line
            for line in out.stdout.splitlines()
            if line.startswith(AUTHN_METRIC + "automatic_reloads_total{")
        ]

    poll_until(
        lambda: any('status="success"} 1' in line for line in reloads()),
        timeout_s=15,
        what="the authentication config reload counted",
    )


AUTHZ = """apiVersion: apiserver.config.k8s.io/v1
kind: AuthorizationConfiguration
authorizers:
- type: Node
  name: node
- type: RBAC
  name: rbac
"""


@needs_kubectl
def test_authorization_config_reload_refuses_dropping_a_required_type(
    lab: LabHandle, original: bytes
) -> None:
    path = f"{DIR}/authz.yaml"
    host = _host_file(lab, path, AUTHZ)
    old = apiserver_id(lab, NODE)
    manifest = _with_flags(original, f"--authorization-config={path}", drop="--authorization-mode")
    replace_manifest(lab.manifest(NODE), manifest)
    wait_new_apiserver(lab, NODE, old)
    lab.wait_ready(NODE)
    name = "apiserver_authorization_config_controller_automatic_reloads_total{"

    def series() -> list[str]:
        return [line for line in _all_metrics(lab) if line.startswith(name)]

    assert any('status="success"} 1' in line for line in series()), "counted at start"
    host.write_text(AUTHZ.replace("- type: Node\n  name: node\n", ""))
    poll_until(
        lambda: any('status="failure"} 1' in line for line in series()),
        timeout_s=15,
        what="the refused authorization reload counted",
    )
    assert lab.readyz(NODE).ok


def _all_metrics(lab: LabHandle) -> list[str]:
    assert KUBECTL, "kubectl is not installed"
    conf = str(lab.node(NODE).admin_conf)
    out = subprocess.run(
        [KUBECTL, "--kubeconfig", conf, "get", "--raw", "/metrics"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return out.stdout.splitlines()
