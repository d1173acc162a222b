"""Facts are pure parsers: tested from recorded outputs, never from a host."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
from pathlib import Path, PurePosixPath

import pytest

from deployer.facts.crictl import ParseError, parse_inspect_args, parse_ps, running_container
from deployer.facts.health import parse_componentstatuses, parse_health, parse_version
from deployer.facts.kubeconfig import KubeconfigError, parse_kubeconfig
from deployer.facts.observe import early_ca, observe_argv, parse_observation

DATA = Path(__file__).parents[2] / "data" / "facts"


def test_parse_ps_sorts_newest_first_and_reads_labels() -> None:
    containers = parse_ps((DATA / "crictl_ps_running.json").read_text())
    assert [c.state for c in containers] == ["CONTAINER_RUNNING", "CONTAINER_EXITED"]
    assert containers[0].pod_uid == "6725245eaa0360cee8f0735d1cf0e677"
    assert containers[1].restart_count == 3
    running = running_container(containers)
    assert running is not None
    assert running.id.startswith("b47b5ae6")


def test_parse_ps_rejects_what_crictl_never_prints() -> None:
    with pytest.raises(ParseError, match="no JSON"):
        parse_ps('time="x" level=fatal msg="connect: connection refused"')
    with pytest.raises(ParseError, match="containers"):
        parse_ps('{"containers": 3}')


def test_parse_inspect_prefers_the_config_command() -> None:
    args = parse_inspect_args((DATA / "crictl_inspect.json").read_text())
    assert args == ("kube-apiserver", "--advertise-address=10.0.0.1", "--secure-port=6443")


def test_parse_inspect_falls_back_to_runtime_spec() -> None:
    doc = {"info": {"runtimeSpec": {"process": {"args": ["kube-apiserver", "--v=2"]}}}}
    assert parse_inspect_args(json.dumps(doc)) == ("kube-apiserver", "--v=2")
    with pytest.raises(ParseError):
        parse_inspect_args(json.dumps({"status": {}}))


def test_parse_health_names_failed_checks() -> None:
    body = b"[+]ping ok\n[+]log ok\n[-]etcd failed: reason withheld\nreadyz check failed\n"
    report = parse_health(500, body)
    assert not report.ok
    assert report.passed == ("ping", "log")
    assert report.failed == ("etcd failed: reason withheld",)
    assert parse_health(200, b"[+]ping ok\nreadyz check passed\n").ok


def test_parse_version_and_componentstatuses() -> None:
    assert parse_version(b'{"major":"1","gitVersion":"v1.31.13"}') == "v1.31.13"
    assert parse_version(b"<html>") is None
    doc = {
        "kind": "ComponentStatusList",
        "items": [
            {
                "metadata": {"name": "etcd-0"},
                "conditions": [{"type": "Healthy", "status": "True", "message": "ok"}],
            },
            {
                "metadata": {"name": "scheduler"},
                "conditions": [{"type": "Healthy", "status": "False", "error": "refused"}],
            },
        ],
    }
    parsed = parse_componentstatuses(json.dumps(doc).encode())
    assert parsed is not None
    assert [(c.name, c.healthy) for c in parsed] == [("etcd-0", True), ("scheduler", False)]
    assert parse_componentstatuses(b'{"kind":"Status"}') is None


def _kubeconfig(**user: str) -> bytes:
    return json.dumps(
        {
            "apiVersion": "v1",
            "current-context": "admin@lab",
            "contexts": [{"name": "admin@lab", "context": {"cluster": "lab", "user": "admin"}}],
            "clusters": [
                {
                    "name": "lab",
                    "cluster": {
                        "server": "https://10.0.0.1:6443",
                        "certificate-authority-data": base64.b64encode(b"CA").decode(),
                    },
                }
            ],
            "users": [{"name": "admin", "user": user}],
        }
    ).encode()


def test_kubeconfig_keeps_the_key_secret() -> None:
    creds = parse_kubeconfig(
        _kubeconfig(
            **{
                "client-certificate-data": base64.b64encode(b"CERT").decode(),
                "client-key-data": base64.b64encode(b"KEY").decode(),
            }
        )
    )
    assert creds.ca_pem == b"CA"
    assert creds.client_cert_pem == b"CERT"
    assert creds.client_key_pem is not None
    assert creds.client_key_pem.value == "KEY"
    assert "KEY" not in repr(creds) and str(creds.client_key_pem) == "***"


def test_kubeconfig_without_ca_is_refused() -> None:
    doc = json.loads(_kubeconfig(token="t"))
    del doc["clusters"][0]["cluster"]["certificate-authority-data"]
    with pytest.raises(KubeconfigError, match="certificate-authority-data"):
        parse_kubeconfig(json.dumps(doc).encode())


def _run_observe(root: Path, crictl: str, kubelet: list[str]) -> str:
    argv = observe_argv(
        PurePosixPath(root / "manifests" / "kube-apiserver.yaml"),
        crictl,
        PurePosixPath(root / "ca.crt"),
        kubelet,
    )
    return subprocess.run(argv, capture_output=True, text=True, check=True).stdout


def test_observe_script_reads_manifest_strays_crictl_and_kubelet(tmp_path: Path) -> None:
    (tmp_path / "manifests").mkdir()
    (tmp_path / "manifests" / "kube-apiserver.yaml").write_bytes(b"apiVersion: v1\n\xe2\x9c\x93\n")
    (tmp_path / "manifests" / "kube-apiserver.yaml.bak").write_text("x")
    (tmp_path / "manifests" / ".kube-apiserver.yaml.tmp123").write_text("x")
    (tmp_path / "ca.crt").write_text("PEM")
    crictl = tmp_path / "crictl"
    ps = (DATA / "crictl_ps_running.json").read_text()
    inspect = (DATA / "crictl_inspect.json").read_text()
    crictl.write_text(
        "#!/bin/sh\n"
        'case "$1 $2" in\n'
        f"  'ps -a') cat <<'E'\n{ps}\nE\n;;\n"
        "  'ps -q') echo b47b5ae659fed79f ;;\n"
        f"  'inspect '*) cat <<'E'\n{inspect}\nE\n;;\n"
        "esac\n"
    )
    crictl.chmod(0o755)
    observed = parse_observation(_run_observe(tmp_path, str(crictl), ["false"]))
    assert observed.manifest == b"apiVersion: v1\n\xe2\x9c\x93\n"
    assert observed.ca_pem == b"PEM"
    assert observed.stray_files() == ("kube-apiserver.yaml.bak",)
    assert observed.running is not None
    assert observed.running_args is not None and observed.running_args[0] == "kube-apiserver"
    assert observed.kubelet_rc == 1
    assert observed.errors == ()


def test_observe_script_reports_absent_files_and_a_failing_crictl(tmp_path: Path) -> None:
    observed = parse_observation(_run_observe(tmp_path, "/nonexistent/crictl", []))
    assert observed.manifest is None
    assert observed.listing is None
    assert observed.ca_pem is None
    assert observed.containers is None
    assert observed.kubelet_rc is None
    assert any("crictl ps failed" in e for e in observed.errors)


def test_observation_cut_short_is_an_error() -> None:
    with pytest.raises(ParseError, match="incomplete"):
        parse_observation("@@deployer:ca\n@@deployer:absent\n")


def test_observe_script_digests_and_dates_the_watched_files(tmp_path: Path) -> None:
    present = tmp_path / "audit dir" / "policy.yaml"
    present.parent.mkdir()
    present.write_text("rules: []\n")
    os.utime(present, (1_700_000_000, 1_700_000_000))
    absent = tmp_path / "missing.key"
    argv = observe_argv(
        PurePosixPath(tmp_path / "manifests" / "kube-apiserver.yaml"),
        "/nonexistent/crictl",
        PurePosixPath(tmp_path / "ca.crt"),
        ["true"],
        (PurePosixPath(present), PurePosixPath(absent)),
    )
    stdout = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    observed = parse_observation(stdout, (str(present), str(absent)))
    assert [f.path for f in observed.files] == [str(present), str(absent)]
    assert observed.files[0].mtime == 1_700_000_000
    assert observed.files[0].sha256 == hashlib.sha256(b"rules: []\n").hexdigest()
    assert observed.files[1].mtime is None and observed.files[1].sha256 is None
    assert observed.kubelet_rc == 0, "the kubelet check still gets its own arguments"


def _fake_crictl(tmp_path: Path, inspect_filtered: str) -> Path:
    """A crictl printing recorded answers; ``inspect_filtered`` is its filtered-inspect case."""
    ps = (DATA / "crictl_ps_running.json").read_text()
    inspect = (DATA / "crictl_inspect.json").read_text()
    crictl = tmp_path / "crictl"
    crictl.write_text(
        "#!/bin/sh\n"
        'echo "$*" >> "$0.calls"\n'
        'case "$*" in\n'
        f"  'ps -a -o json --name ^kube-apiserver$') cat <<'E'\n{ps}\nE\n;;\n"
        "  'ps -q --state running --name ^kube-apiserver$') echo b47b5ae659fed79f ;;\n"
        f"  'inspect --state running --name ^kube-apiserver$') {inspect_filtered} ;;\n"
        f"  'inspect b47b5ae659fed79f') cat <<'E'\n{inspect}\nE\n;;\n"
        "  *) exit 1 ;;\n"
        "esac\n"
    )
    crictl.chmod(0o755)
    return crictl


def test_crictl_131_is_called_twice_and_the_running_container_is_picked(tmp_path: Path) -> None:
    doc = json.loads((DATA / "crictl_inspect.json").read_text())
    old = json.loads(json.dumps(doc))
    old["status"]["id"] = "a11b5ae659fed79fbc89253c7122c74a87e5640cd99edd0963022cadff60a7dd"
    old["info"]["config"]["command"] = ["kube-apiserver", "--old"]
    (tmp_path / "both.json").write_text(json.dumps([old, doc], indent=2) + "\n")
    crictl = _fake_crictl(tmp_path, f"cat {tmp_path / 'both.json'}")
    observed = parse_observation(_run_observe(tmp_path, str(crictl), []))
    assert observed.running is not None
    assert observed.running_args == tuple(doc["info"]["config"]["command"])
    assert observed.errors == ()
    assert len((tmp_path / "crictl.calls").read_text().splitlines()) == 2


def test_older_crictl_refusing_inspect_filters_is_asked_by_id(tmp_path: Path) -> None:
    crictl = _fake_crictl(tmp_path, "echo 'flag provided but not defined: -state' >&2; exit 1")
    observed = parse_observation(_run_observe(tmp_path, str(crictl), []))
    assert observed.running_args is not None and observed.running_args[0] == "kube-apiserver"
    assert observed.errors == ()


def test_nothing_running_on_crictl_131_is_no_error(tmp_path: Path) -> None:
    crictl = _fake_crictl(tmp_path, "echo 'USAGE: crictl inspect'")
    observed = parse_observation(_run_observe(tmp_path, str(crictl), []))
    assert observed.running_args is None
    assert observed.errors == ()


def test_listing_names_every_kind_of_entry_without_find(tmp_path: Path) -> None:
    folder = tmp_path / "manifests"
    folder.mkdir()
    (folder / "kube-apiserver.yaml").write_text("x")
    (folder / ".hidden").write_text("x")
    (folder / "..two-dots").write_text("x")
    (folder / "sub").mkdir()
    (folder / "link").symlink_to(folder / "nowhere")
    os.mkfifo(folder / "fifo")
    (folder / "with space").write_text("x")
    observed = parse_observation(_run_observe(tmp_path, "/nonexistent/crictl", []))
    kinds = {e.name: e.kind for e in observed.listing or ()}
    assert kinds == {
        "kube-apiserver.yaml": "f",
        ".hidden": "f",
        "..two-dots": "f",
        "sub": "d",
        "link": "l",
        "fifo": "p",
        "with space": "f",
    }


def test_the_ca_is_read_before_the_observation_ends(tmp_path: Path) -> None:
    (tmp_path / "ca.crt").write_text("PEM\n")
    stdout = _run_observe(tmp_path, "/nonexistent/crictl", []).encode()
    cut = stdout.index(b"@@deployer:files") + len(b"@@deployer:files")
    assert early_ca(stdout[:cut]) == (False, None), "the marker line is not complete yet"
    assert early_ca(stdout[: cut + 1]) == (True, b"PEM\n")
    assert early_ca(stdout) == (True, parse_observation(stdout.decode()).ca_pem)
    (tmp_path / "ca.crt").unlink()
    assert early_ca(_run_observe(tmp_path, "/nonexistent/crictl", []).encode()) == (True, None)


def _observe_expecting(root: Path, expected: bytes | None) -> str:
    argv = observe_argv(
        PurePosixPath(root / "manifests" / "kube-apiserver.yaml"),
        "/nonexistent/crictl",
        PurePosixPath(root / "ca.crt"),
        [],
        expected=expected,
    )
    # Decoded as the transports decode it (text=True would also turn "\r\n" into "\n").
    return subprocess.run(argv, capture_output=True, check=True).stdout.decode("utf-8", "replace")


def test_a_manifest_with_the_expected_digest_is_not_sent(tmp_path: Path) -> None:
    (tmp_path / "manifests").mkdir()
    live = b"apiVersion: v1\nkind: Pod\n"
    (tmp_path / "manifests" / "kube-apiserver.yaml").write_bytes(live)
    stdout = _observe_expecting(tmp_path, live)
    assert base64.b64encode(live).decode() not in stdout
    assert f"@@deployer:same {hashlib.sha256(live).hexdigest()}\n" in stdout
    observed = parse_observation(stdout, (), expected=live)
    assert observed.manifest == live
    # Another expected manifest: the live bytes travel, and the planner compares them.
    stdout = _observe_expecting(tmp_path, b"kind: Pod\n")
    assert base64.b64encode(live).decode() in stdout
    assert parse_observation(stdout, (), expected=b"kind: Pod\n").manifest == live
    assert parse_observation(_observe_expecting(tmp_path, None)).manifest == live


def test_a_same_digest_answer_must_match_what_was_expected() -> None:
    digest = hashlib.sha256(b"kind: Pod\n").hexdigest()
    captured = (
        "@@deployer:ca\n@@deployer:absent\n@@deployer:files\n"
        f"{digest}  /etc/kubernetes/manifests/kube-apiserver.yaml\n"
        f"@@deployer:manifest\n@@deployer:same {digest}\n"
        "@@deployer:listing\nf\tkube-apiserver.yaml\n"
        "@@deployer:ps\n@@deployer:rc 127\n@@deployer:inspect\n@@deployer:inspect-by-id\n"
        "@@deployer:rc none\n@@deployer:kubelet\n@@deployer:rc none\n@@deployer:end\n"
    )
    assert parse_observation(captured, (), expected=b"kind: Pod\n").manifest == b"kind: Pod\n"
    with pytest.raises(ParseError, match="digest"):
        parse_observation(captured, (), expected=b"kind: Other\n")
    with pytest.raises(ParseError, match="digest"):
        parse_observation(captured)


def test_the_ca_text_arrives_byte_for_byte(tmp_path: Path) -> None:
    # CRLF line ends, a line that looks like one of the script's markers, no final newline.
    ca = b"-----BEGIN CERTIFICATE-----\r\n@@deployer:end\r\n\r\n  MIIB\\n\ttail"
    (tmp_path / "ca.crt").write_bytes(ca)
    stdout = _observe_expecting(tmp_path, None)
    assert parse_observation(stdout).ca_pem == ca
    assert early_ca(stdout.encode()) == (True, ca)
    (tmp_path / "ca.crt").write_bytes(b"")
    assert parse_observation(_observe_expecting(tmp_path, None)).ca_pem == b""
