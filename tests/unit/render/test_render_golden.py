"""Golden files: every example host, every version, byte for byte.

Refresh on purpose with ``DEPLOYER_UPDATE_GOLDEN=1`` (or ``--update-golden``) and review the
diff like code: a golden change is a change of what lands on control-plane nodes.
"""

from __future__ import annotations

import pytest
import yaml
from render_fixtures import (
    GOLDEN,
    KUBEADM_FILE,
    ExampleHost,
    example_host,
    example_host_names,
    example_versions,
    make_state,
)

from deployer.render import check_manifest, render_manifest, semantic_equal

CASES = [(v, n) for v in example_versions() for n in example_host_names()]


def _rendered(example: ExampleHost) -> bytes:
    return render_manifest(example.state, file_digests=example.file_digests).content


@pytest.mark.parametrize(("version", "name"), CASES, ids=[f"{v}-{n}" for v, n in CASES])
def test_render_matches_golden_file(version: str, name: str, update_golden: bool) -> None:
    example = example_host(version, name)
    content = _rendered(example)
    path = example.golden_path
    if update_golden:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    assert path.is_file(), f"{path} is missing: run with DEPLOYER_UPDATE_GOLDEN=1 to create it"
    assert content == path.read_bytes(), (
        f"{path} differs from the rendering; if the change is intended, refresh with "
        "DEPLOYER_UPDATE_GOLDEN=1 and review the diff"
    )


def test_golden_folder_holds_only_example_hosts() -> None:
    expected = {GOLDEN / v / n / "kube-apiserver.yaml" for v, n in CASES}
    found = {p for p in GOLDEN.rglob("*") if p.is_file()}
    assert found == expected, "stale or unexpected golden files"


@pytest.mark.parametrize(("version", "name"), CASES, ids=[f"{v}-{n}" for v, n in CASES])
def test_golden_manifests_pass_the_manifest_checks(version: str, name: str) -> None:
    example = example_host(version, name)
    manifest = render_manifest(example.state, file_digests=example.file_digests)
    errors = [p for p in check_manifest(example.state, manifest) if not p.is_warning]
    assert errors == []


def test_version_picks_the_image_tag() -> None:
    for version, patch in (("1.31", "v1.31.13"), ("1.33", "v1.33.13"), ("1.36", "v1.36.3")):
        pod = yaml.safe_load(_rendered(example_host(version, "cp1")))
        assert pod["spec"]["containers"][0]["image"] == f"registry.k8s.io/kube-apiserver:{patch}"


def test_rendering_decodes_to_the_pod_kubeadm_writes() -> None:
    """Same flags as `kubeadm init` (1.31): the same pod, so kubelet would restart nothing."""
    state = make_state()
    ours = render_manifest(state).content
    kubeadm = KUBEADM_FILE.read_bytes()
    assert semantic_equal(ours, kubeadm)
    assert ours != kubeadm  # quoting differs, which is the point of comparing parsed pods


def test_kubeadm_shape_in_detail() -> None:
    pod = yaml.safe_load(_rendered(example_host("1.31", "cp1")))
    meta, spec = pod["metadata"], pod["spec"]
    assert meta["labels"] == {"component": "kube-apiserver", "tier": "control-plane"}
    assert (meta["name"], meta["namespace"]) == ("kube-apiserver", "kube-system")
    assert "uid" not in meta and "creationTimestamp" not in meta
    endpoint = meta["annotations"][
        "kubeadm.kubernetes.io/kube-apiserver.advertise-address.endpoint"
    ]
    assert endpoint == "192.0.2.11:6443"
    (container,) = spec["containers"]
    command = container["command"]
    assert command[0] == "kube-apiserver"
    assert command[1:] == sorted(command[1:], key=lambda a: a.split("=", 1)[0])
    assert container["imagePullPolicy"] == "IfNotPresent"
    assert container["resources"] == {"requests": {"cpu": "250m"}}
    probe = {"host": "192.0.2.11", "port": 6443, "scheme": "HTTPS"}
    assert container["livenessProbe"] == {
        "failureThreshold": 8,
        "httpGet": {**probe, "path": "/livez"},
        "initialDelaySeconds": 10,
        "periodSeconds": 10,
        "timeoutSeconds": 15,
    }
    assert container["readinessProbe"] == {
        "failureThreshold": 3,
        "httpGet": {**probe, "path": "/readyz"},
        "periodSeconds": 1,
        "timeoutSeconds": 15,
    }
    assert container["startupProbe"] == {
        "failureThreshold": 24,
        "httpGet": {**probe, "path": "/livez"},
        "initialDelaySeconds": 10,
        "periodSeconds": 10,
        "timeoutSeconds": 15,
    }
    assert spec["hostNetwork"] is True
    assert spec["priority"] == 2000001000
    assert spec["priorityClassName"] == "system-node-critical"
    assert spec["securityContext"] == {"seccompProfile": {"type": "RuntimeDefault"}}
    assert pod["status"] == {}
    names = [v["name"] for v in spec["volumes"]]
    assert names == sorted(names)
    assert [m["name"] for m in container["volumeMounts"]] == names
    kubeadm_defaults = {
        "ca-certs": "/etc/ssl/certs",
        "etc-ca-certificates": "/etc/ca-certificates",
        "k8s-certs": "/etc/kubernetes/pki",
        "usr-local-share-ca-certificates": "/usr/local/share/ca-certificates",
        "usr-share-ca-certificates": "/usr/share/ca-certificates",
    }
    volumes = {v["name"]: v["hostPath"] for v in spec["volumes"]}
    mounts = {m["name"]: m for m in container["volumeMounts"]}
    for name, path in kubeadm_defaults.items():
        assert volumes[name] == {"path": path, "type": "DirectoryOrCreate"}
        assert mounts[name] == {"mountPath": path, "name": name, "readOnly": True}
    # The audit log folder is writable (readOnly left out), the policy folder read-only.
    assert mounts["audit-log"] == {"mountPath": "/var/log/kubernetes/audit", "name": "audit-log"}
    assert mounts["audit-policy"]["readOnly"] is True


def test_ipv6_endpoint_is_bracketed_and_env_is_sorted() -> None:
    pod = yaml.safe_load(_rendered(example_host("1.33", "cp2")))
    annotations = pod["metadata"]["annotations"]
    endpoint = annotations["kubeadm.kubernetes.io/kube-apiserver.advertise-address.endpoint"]
    assert endpoint == "[2001:db8::12]:6443"
    (container,) = pod["spec"]["containers"]
    assert [e["name"] for e in container["env"]] == ["HTTPS_PROXY", "NO_PROXY"]
    assert container["livenessProbe"]["httpGet"]["host"] == "2001:db8::12"


def test_checksum_annotation_names_each_file_with_its_digest() -> None:
    example = example_host("1.31", "cp1")
    assert example.file_digests is not None
    pod = yaml.safe_load(_rendered(example))
    ((path, digest),) = example.file_digests.items()
    assert pod["metadata"]["annotations"]["deployer/file-checksums"] == f"{digest}  {path}"


def test_golden_files_end_with_exactly_one_newline() -> None:
    for version, name in CASES:
        content = _rendered(example_host(version, name))
        assert content.endswith(b"}\n") and not content.endswith(b"\n\n")
