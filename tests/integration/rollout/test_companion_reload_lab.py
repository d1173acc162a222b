"""A companion the apiserver reloads by itself is rolled without a restart (encryption at rest).

Through the CLI on a one-node lab: turning encryption at rest on changes the manifest (a flag
and a mount) and restarts the pod; rotating the key afterwards changes only the file, which
kube-apiserver re-reads with ``--encryption-provider-config-automatic-reload``: deployer writes
it, restarts nothing, and waits for the reload counter on ``/metrics`` to grow (the lab's
stand-in reloads with its own loader and counts under the minor's metric names). The key comes
from the workstation's environment and appears in no output, report or run record.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from rollout_support import Deployer, next_lab_address

from deployer.lab.testing import LabHandle, running_lab

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed"),
]

NODE = "lab-cp1"
CONFIG = "/etc/kubernetes/enc/encryption.yaml"
KUBECTL = shutil.which("kubectl")
RELOADS = "apiserver_encryption_config_controller_automatic_reloads_total{"
KEY_1 = base64.b64encode(b"k" * 32).decode()
KEY_2 = base64.b64encode(b"r" * 32).decode()


def _keys(*names: str) -> list[dict[str, object]]:
    return [{"name": n, "secret": {"secret_env": f"LAB_ENC_{n.upper()}"}} for n in names]


def _vars(*key_names: str) -> dict[str, object]:
    document = {
        "apiVersion": "apiserver.config.k8s.io/v1",
        "kind": "EncryptionConfiguration",
        "resources": [
            {
                "resources": ["secrets"],
                "providers": [{"aescbc": {"keys": _keys(*key_names)}}, {"identity": {}}],
            }
        ],
    }
    return {
        "apiserver_flags": {
            "encryption-provider-config": CONFIG,
            "encryption-provider-config-automatic-reload": "true",
        },
        "apiserver_extra_volumes": [
            {
                "name": "encryption",
                "hostPath": "/etc/kubernetes/enc",
                "mountPath": "/etc/kubernetes/enc",
                "readOnly": True,
                "pathType": "DirectoryOrCreate",
            }
        ],
        "apiserver_files": [
            {"path": CONFIG, "kind": "EncryptionConfiguration", "content": document}
        ],
    }


def _write_vars(lab: LabHandle, data: dict[str, object]) -> None:
    path = lab.inventory.parent / "group_vars" / "control_plane.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def _reloads(lab: LabHandle) -> float:
    """The stand-in's successful reloads, read as an operator would (kubectl get --raw)."""
    assert KUBECTL, "kubectl is not installed"
    conf = str(lab.node(NODE).admin_conf)
    out = subprocess.run(
        [KUBECTL, "--kubeconfig", conf, "get", "--raw", "/metrics"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout
    lines = [ln for ln in out.splitlines() if ln.startswith(RELOADS) and 'status="success"' in ln]
    return sum(float(ln.rsplit(" ", 1)[1]) for ln in lines)


def _container_id(lab: LabHandle) -> str:
    running = lab.running_apiserver(NODE)
    assert running is not None, "no kube-apiserver runs"
    return str(running["id"])


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabHandle]:
    root = tmp_path_factory.mktemp("reload")
    with running_lab(root / "lab", nodes=1, first_address=next_lab_address()) as handle:
        yield handle


def test_a_key_rotation_is_reloaded_without_a_restart(
    lab: LabHandle,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    deployer = Deployer(lab, tmp_path)
    monkeypatch.setenv("LAB_ENC_KEY1", KEY_1)
    monkeypatch.setenv("LAB_ENC_KEY2", KEY_2)
    on_node = lab.node(NODE).root / CONFIG.lstrip("/")

    # Turning it on: a new flag and mount, so the pod restarts.
    _write_vars(lab, _vars("key1"))
    first = _container_id(lab)
    assert deployer("apply") == 0, deployer.last_report
    (host,) = deployer.hosts().values()
    assert [p["phase"] for p in host["phases"]][-2:] == ["restart", "verify"]
    second = _container_id(lab)
    assert second != first
    assert KEY_1 in on_node.read_text()

    # Rotating: the new key first, the old one kept to read what it wrote.
    _write_vars(lab, _vars("key2", "key1"))
    assert deployer("plan") == 2
    (planned,) = deployer.hosts().values()
    details = planned["details"]
    assert isinstance(details, dict)
    (change,) = details["companion_changes"]
    assert (change["path"], change["apply"], change["secret"]) == (CONFIG, "reload", True)
    assert planned["details"]["kind"] == "none", "the manifest itself does not change"

    before = _reloads(lab)
    assert deployer("apply") == 0, deployer.last_report
    (host,) = deployer.hosts().values()
    phases = [p["phase"] for p in host["phases"]]
    assert "reload" in phases and "restart" not in phases, phases
    assert _container_id(lab) == second, "the apiserver was not restarted"
    assert _reloads(lab) > before
    text = on_node.read_text()
    assert text.index(KEY_2) < text.index(KEY_1)
    assert deployer("plan") == 0

    # The keys were never shown: console output, JSON reports, run records in the backups.
    shown = capsys.readouterr().out + json.dumps(deployer.last_report)
    backups = lab.node(NODE).root / "etc" / "kubernetes" / "tmp"
    shown += "".join(p.read_text() for p in backups.rglob("deployer-run.json"))
    assert KEY_1 not in shown and KEY_2 not in shown
