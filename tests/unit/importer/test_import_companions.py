"""Import brings the companion files the live flags name, never a key in clear."""

from __future__ import annotations

import base64
from pathlib import Path, PurePosixPath

import yaml

from deployer.companions.secrets import resolve_secrets
from deployer.importer.companions import import_companions, named_files, read_named
from deployer.importer.extract import extract_host, reproduce
from deployer.importer.layout import ImportedHost, inventory_files
from deployer.render import parse

DATA = Path(__file__).parents[2] / "data" / "pod_defaults" / "manifests"
MANIFEST = (DATA / "cks-audit-1.31.yaml").read_bytes()
KEY = base64.b64encode(b"k" * 32).decode()
POLICY = b"apiVersion: audit.k8s.io/v1\nkind: Policy\n# hand-written\nrules:\n  - level: Metadata\n"
ENCRYPTION = f"""apiVersion: apiserver.config.k8s.io/v1
kind: EncryptionConfiguration
resources:
  - resources: [secrets]
    providers:
      - aescbc:
          keys:
            - name: key1
              secret: {KEY}
      - identity: {{}}
""".encode()
HOST_FILES = {
    PurePosixPath("/etc/kubernetes/audit/policy.yaml"): POLICY,
    PurePosixPath("/etc/kubernetes/enc/encryption.yaml"): ENCRYPTION,
}


def _imported(files: dict[PurePosixPath, bytes] | None = None):  # type: ignore[no-untyped-def]
    host_files = HOST_FILES if files is None else files
    item = extract_host("cp1", "/etc/kubernetes/manifests/kube-apiserver.yaml", MANIFEST)
    import_companions(item, parse.load_pod(MANIFEST), host_files.get)
    return reproduce(item, MANIFEST, {})


def test_the_flags_name_the_files_through_the_pods_mounts() -> None:
    pod = parse.load_pod(MANIFEST)
    flags = extract_host("cp1", "f", MANIFEST).vars["apiserver_flags"]
    assert named_files(pod, flags) == [
        ("audit-policy-file", "Policy", "/etc/kubernetes/audit/policy.yaml"),
        (
            "encryption-provider-config",
            "EncryptionConfiguration",
            "/etc/kubernetes/enc/encryption.yaml",
        ),
    ]
    reads: list[PurePosixPath] = []

    def read(path: PurePosixPath) -> bytes | None:
        reads.append(path)
        return HOST_FILES.get(path)

    assert read_named(read, MANIFEST) == HOST_FILES
    assert sorted(reads) == sorted(HOST_FILES)


def test_a_file_without_secrets_is_imported_verbatim() -> None:
    item = _imported()
    policy = item.vars["apiserver_files"][0]
    assert policy == {
        "path": "/etc/kubernetes/audit/policy.yaml",
        "kind": "Policy",
        "content": POLICY.decode(),
    }
    assert item.not_reproduced == []


def test_an_encryption_key_becomes_a_secret_env_reference(tmp_path: Path) -> None:
    item = _imported()
    encryption = item.vars["apiserver_files"][1]
    keys = encryption["content"]["resources"][0]["providers"][0]["aescbc"]["keys"]
    assert keys == [{"name": "key1", "secret": {"secret_env": "DEPLOYER_AESCBC_KEY1"}}]
    assert any("export DEPLOYER_AESCBC_KEY1" in n for n in item.notes)
    assert KEY not in str(item.vars) and KEY not in "\n".join(item.notes)
    # With the variable exported, the reference gives the host's key back.
    resolved = resolve_secrets(
        encryption["content"], file="f", base_dir=tmp_path, environ={"DEPLOYER_AESCBC_KEY1": KEY}
    )
    assert (
        yaml.safe_load(ENCRYPTION)["resources"][0]["providers"][0]["aescbc"]["keys"][0]["secret"]
        == resolved["resources"][0]["providers"][0]["aescbc"]["keys"][0]["secret"].value
    )  # type: ignore[index]


def test_the_vars_file_says_what_to_export_and_holds_no_key() -> None:
    item = _imported()
    files = inventory_files([ImportedHost("cp1", {}, item)], "control_plane")
    text = files["group_vars/control_plane.yml"]
    assert "export DEPLOYER_AESCBC_KEY1=" in text
    assert KEY not in "".join(files.values())
    loaded = yaml.safe_load(text)
    assert [f["path"] for f in loaded["apiserver_files"]] == [
        "/etc/kubernetes/audit/policy.yaml",
        "/etc/kubernetes/enc/encryption.yaml",
    ]


def test_an_absent_file_is_named_and_left_out() -> None:
    item = _imported({PurePosixPath("/etc/kubernetes/audit/policy.yaml"): POLICY})
    assert [f["path"] for f in item.vars["apiserver_files"]] == [
        "/etc/kubernetes/audit/policy.yaml"
    ]
    assert any("/etc/kubernetes/enc/encryption.yaml, which is absent" in n for n in item.notes)


def test_the_imported_inventory_validates_and_gives_the_host_its_files(tmp_path: Path) -> None:
    from deployer.importer.layout import write_inventory
    from deployer.offline import prepare

    item = _imported()
    write_inventory(tmp_path, inventory_files([ImportedHost("cp1", {}, item)], "control_plane"))
    prepared = prepare([tmp_path], environ={"DEPLOYER_AESCBC_KEY1": KEY})
    (state,) = prepared.states
    by_path = {str(c.path): c for c in state.companions}
    assert by_path["/etc/kubernetes/audit/policy.yaml"].content == POLICY  # verbatim
    encryption = by_path["/etc/kubernetes/enc/encryption.yaml"]
    assert yaml.safe_load(encryption.content) == yaml.safe_load(ENCRYPTION)
    assert encryption.secret_values == (KEY,)


def test_a_pod_without_the_digest_annotation_is_restarted_once_and_import_says_so(
    tmp_path: Path,
) -> None:
    from deployer.importer.companions import annotation_check
    from deployer.importer.layout import write_inventory
    from deployer.offline import prepare

    item = _imported()
    annotation_check(item, parse.load_pod(MANIFEST))
    (entry,) = [n for n in item.not_reproduced if "deployer/companions-sha256" in n]
    assert "changing one restarts the pod" in entry
    # The manifest deployer renders for the imported inventory carries it: importing that
    # pod again finds nothing to restart.
    write_inventory(tmp_path, inventory_files([ImportedHost("cp1", {}, _imported())], "cp"))
    prepared = prepare([tmp_path], environ={"DEPLOYER_AESCBC_KEY1": KEY})
    rendered = prepared.manifests["cp1"].content
    again = extract_host("cp1", "f", rendered)
    import_companions(again, parse.load_pod(rendered), HOST_FILES.get)
    reproduce(again, rendered, {})
    annotation_check(again, parse.load_pod(rendered))
    assert again.not_reproduced == []
    assert "apiserver_pod_annotations" not in again.vars or (
        "deployer/companions-sha256" not in again.vars["apiserver_pod_annotations"]
    )
