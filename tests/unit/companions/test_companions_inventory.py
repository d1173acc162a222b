"""``apiserver_files`` in the inventory: merged by path, rendered, validated, secrets masked.

Each test loads a copy of the production example inventory through the same ``prepare`` every
command starts with, so problems come out as the operator sees them (exit 6, file, host, path).
"""

from __future__ import annotations

import base64
from pathlib import Path, PurePosixPath

import pytest
from inventory_fixtures import POLICY, inventory, prepared

from deployer.errors import ExitCode, InputError, exit_code_for
from deployer.inventory import load_inventory
from deployer.inventory.explain import explain_host
from deployer.model.files import ApplyMode
from deployer.offline import prepare
from deployer.report.masking import mask_secrets

KEY = base64.b64encode(b"k" * 32).decode()
POLICY_PATH = PurePosixPath("/etc/kubernetes/audit/policy.yaml")

ENCRYPTION = """
apiserver_flags:
  encryption-provider-config: /etc/kubernetes/pki/encryption.yaml
apiserver_files:
  - path: /etc/kubernetes/pki/encryption.yaml
    mode: '0600'
    content:
      apiVersion: apiserver.config.k8s.io/v1
      kind: EncryptionConfiguration
      resources:
        - resources: [secrets]
          providers:
            - aescbc:
                keys:
                  - name: key1
                    secret: SECRET
            - identity: {}
"""


def _problems(tmp_path: Path, files: dict[str, str], **kwargs: object) -> list[str]:
    with pytest.raises(InputError) as caught:
        prepared(tmp_path, files, **kwargs)
    assert exit_code_for(caught.value) == ExitCode.INVALID_INPUT
    return [str(p) for p in caught.value.problems if not p.is_warning]


def test_a_group_policy_reaches_every_host_validated_and_rendered(tmp_path: Path) -> None:
    result = prepared(tmp_path, {"group_vars/control_plane.yml+": POLICY})
    for state in result.states:
        (policy,) = state.companions
        assert policy.path == POLICY_PATH
        assert policy.kind == "Policy"  # from the document, and --audit-policy-file names it
        assert policy.mode == 0o600
        assert policy.apply is ApplyMode.RESTART
        assert policy.content == (
            b"apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Metadata\n"
        )


def test_a_host_item_replaces_the_group_item_of_the_same_path(tmp_path: Path) -> None:
    host = """
apiserver_files:
  - path: /etc/kubernetes/audit/policy.yaml
    template: ../templates/policy.yaml.j2
    mode: 0640
  - path: /etc/kubernetes/audit/extra.txt
    content: "plain text\\n"
"""
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "policy.yaml.j2").write_text(
        "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n"
        "  - level: {{ 'RequestResponse' | yaml_str }}\n"
        "# rendered for {{ host_name | yaml_str }}\n",
        encoding="utf-8",
    )
    result = prepared(
        tmp_path, {"group_vars/control_plane.yml+": POLICY, "host_vars/cp2.yml+": host}
    )
    by_host = {s.host.name: s for s in result.states}
    cp2 = by_host["cp2"].companions
    assert [str(c.path) for c in cp2] == [
        "/etc/kubernetes/audit/extra.txt",
        "/etc/kubernetes/audit/policy.yaml",
    ]
    assert cp2[0].content == b"plain text\n" and cp2[0].kind is None
    assert cp2[1].content.endswith(b'- level: "RequestResponse"\n# rendered for "cp2"\n')
    assert cp2[1].mode == 0o640
    assert by_host["cp1"].companions[0].content.endswith(b"- level: Metadata\n")
    assert by_host["cp1"].companions[0].sha256 != cp2[1].sha256


def test_state_absent_removes_a_lower_level_item_and_explain_names_each_path(
    tmp_path: Path,
) -> None:
    host = "apiserver_files:\n  - {path: /etc/kubernetes/audit/policy.yaml, state: absent}\n"
    root = inventory(
        tmp_path, {"group_vars/control_plane.yml+": POLICY, "host_vars/cp3.yml+": host}
    )
    hosts = {h.name: h for h in load_inventory([root])}
    assert hosts["cp3"].vars["apiserver_files"] == []
    rows = {name: origin for name, _, origin in explain_host(hosts["cp1"])}
    origin = rows["apiserver_files./etc/kubernetes/audit/policy.yaml"]
    assert origin is not None and origin.level == "group:control_plane"
    assert origin.file.endswith("group_vars/control_plane.yml") and origin.line is not None


def test_the_rendered_text_is_the_same_on_every_run(tmp_path: Path) -> None:
    first = prepared(tmp_path / "a", {"group_vars/control_plane.yml+": POLICY})
    again = prepared(tmp_path / "b", {"group_vars/control_plane.yml+": POLICY})
    assert [s.companions for s in first.states] == [s.companions for s in again.states]
    assert dict(first.manifests) == dict(again.manifests)


def test_an_invalid_policy_is_exit_6_naming_file_host_path_and_field(tmp_path: Path) -> None:
    bad = POLICY.replace("level: Metadata", "level: Everything")
    problems = _problems(tmp_path, {"group_vars/control_plane.yml+": bad})
    assert len(problems) == 3  # one per host
    first = problems[0]
    assert "group_vars/control_plane.yml:" in first and "[host cp1]" in first
    assert "apiserver_files /etc/kubernetes/audit/policy.yaml" in first
    assert 'rules[0].level: Unsupported value: "Everything"' in first
    assert "hint:" in first


def test_an_api_version_the_version_does_not_read_is_refused(tmp_path: Path) -> None:
    bad = POLICY.replace("audit.k8s.io/v1", "audit.k8s.io/v1beta1")
    problems = _problems(tmp_path, {"group_vars/control_plane.yml+": bad})
    assert "audit.k8s.io/v1beta1" in problems[0]


def test_an_unknown_declared_kind_is_refused(tmp_path: Path) -> None:
    bad = POLICY.replace("    content:", "    kind: AuditPolicy\n    content:")
    problems = _problems(tmp_path, {"group_vars/control_plane.yml+": bad})
    assert "unknown companion kind 'AuditPolicy'" in problems[0]


@pytest.mark.parametrize(
    ("item", "needle"),
    [
        ("{path: etc/x.yaml, content: a}", "must be absolute"),
        ("{path: /etc/kubernetes/manifests/x.yaml, content: a}", "kubelet would run it"),
        ("{path: /etc/kubernetes/x.yaml}", "exactly one of content"),
        ("{path: /etc/kubernetes/x.yaml, content: a, template: b}", "exactly one of content"),
        ("{path: /etc/kubernetes/x.yaml, content: a, mode: 600}", "not an octal file mode"),
        ("{path: /etc/kubernetes/x.yaml, content: a, owner: 'a b'}", "is not user or user:group"),
        ("{path: /etc/kubernetes/x.yaml, content: a, colour: red}", "unknown key colour"),
        ("{path: /etc/kubernetes/x.yaml, template: missing.j2}", "'missing.j2' not found"),
        ("{content: a}", "needs a path"),
    ],
)
def test_bad_items(tmp_path: Path, item: str, needle: str) -> None:
    problems = _problems(
        tmp_path, {"group_vars/control_plane.yml+": f"apiserver_files:\n  - {item}\n"}
    )
    assert any(needle in p for p in problems), problems
    assert any("group_vars/control_plane.yml" in p for p in problems), problems


def test_a_template_printing_an_unquoted_value_is_refused(tmp_path: Path) -> None:
    (tmp_path / "t.j2").write_text("kind: Policy\nx: {{ host_name }}\n", encoding="utf-8")
    item = "apiserver_files:\n  - {path: /etc/kubernetes/audit/policy.yaml, template: ../t.j2}\n"
    problems = _problems(tmp_path, {"group_vars/control_plane.yml+": item})
    assert "without a quoting filter" in problems[0]


def test_an_encryption_key_in_clear_is_refused(tmp_path: Path) -> None:
    files = {"group_vars/control_plane.yml+": ENCRYPTION.replace("SECRET", KEY)}
    problems = _problems(tmp_path, files)
    assert "an encryption key in clear text" in problems[0]
    assert KEY not in "\n".join(problems)


def test_a_token_in_clear_is_refused_in_any_kind(tmp_path: Path) -> None:
    admission = """
apiserver_flags:
  admission-control-config-file: /etc/kubernetes/pki/admission.yaml
apiserver_files:
  - path: /etc/kubernetes/pki/admission.yaml
    content:
      apiVersion: apiserver.config.k8s.io/v1
      kind: AdmissionConfiguration
      plugins:
        - name: EventRateLimit
          configuration: {token: abcdefgh12345678}
"""
    problems = _problems(tmp_path, {"group_vars/control_plane.yml+": admission})
    assert "plugins[0].configuration.token: a credential in clear text" in problems[0]


def test_a_missing_secret_env_is_exit_6_naming_the_variable(tmp_path: Path) -> None:
    files = {"group_vars/control_plane.yml+": ENCRYPTION.replace("SECRET", "{secret_env: ENC}")}
    problems = _problems(tmp_path, files, environ={})
    assert "secret_env ENC is not set in the environment" in problems[0]
    assert "resources[0].providers[0].aescbc.keys[0].secret" in problems[0]


def test_a_missing_secret_file_is_exit_6(tmp_path: Path) -> None:
    text = ENCRYPTION.replace("SECRET", "{secret_file: keys/none.b64}")
    problems = _problems(tmp_path, {"group_vars/control_plane.yml+": text})
    assert "secret_file keys/none.b64: no such file" in problems[0]


def test_resolved_secrets_are_written_and_masked_everywhere(tmp_path: Path) -> None:
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "k1.b64").write_text(KEY + "\n", encoding="utf-8")
    # Relative to the inventory's folder; kept outside it (a folder inventory reads every file).
    text = ENCRYPTION.replace("SECRET", "{secret_file: ../keys/k1.b64}")
    root = inventory(tmp_path, {"group_vars/control_plane.yml+": text})
    result = prepare([root])
    (file,) = result.states[0].companions
    assert file.secret_values == (KEY,)
    assert file.is_secret
    assert f"secret: {KEY}".encode() in file.content  # the host gets the key
    assert mask_secrets(f"the key is {KEY}") == "the key is ***"  # logs and reports do not


def test_a_key_from_the_environment(tmp_path: Path) -> None:
    text = ENCRYPTION.replace("SECRET", "{secret_env: ENC_KEY_1}")
    result = prepared(tmp_path, {"group_vars/control_plane.yml+": text}, environ={"ENC_KEY_1": KEY})
    assert all(s.companions[0].secret_values == (KEY,) for s in result.states)


def test_a_short_key_is_caught_by_the_validator(tmp_path: Path) -> None:
    short = base64.b64encode(b"short").decode()
    text = ENCRYPTION.replace("SECRET", "{secret_env: ENC_KEY_1}")
    problems = _problems(
        tmp_path, {"group_vars/control_plane.yml+": text}, environ={"ENC_KEY_1": short}
    )
    assert "aescbc.keys[0].secret" in problems[0]
    assert short not in "\n".join(problems)


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("apiserver_files: /etc/kubernetes/x.yaml\n", "must be a list of {path: ...} items"),
        (
            "apiserver_files:\n  - {path: /etc/a, content: x}\n  - {path: /etc/a, content: y}\n",
            "/etc/a is listed twice in the same file",
        ),
    ],
)
def test_the_loader_refuses_a_malformed_list(tmp_path: Path, text: str, needle: str) -> None:
    root = inventory(tmp_path, {"group_vars/control_plane.yml+": text})
    with pytest.raises(InputError) as caught:
        load_inventory([root])
    assert exit_code_for(caught.value) == ExitCode.INVALID_INPUT
    assert any(needle in str(p) and p.line for p in caught.value.problems), caught.value


def test_a_companion_outside_every_mount_is_refused(tmp_path: Path) -> None:
    text = "apiserver_files:\n  - {path: /opt/audit/extra.yaml, content: 'x: 1'}\n"
    problems = _problems(tmp_path, {"group_vars/control_plane.yml+": text})
    assert "companion file /opt/audit/extra.yaml (apiserver_files) is outside every" in problems[0]
    assert "apiserver_extra_volumes entry for /opt/audit" in problems[0]


def test_a_companion_of_another_kind_than_its_flag_reads_is_refused(tmp_path: Path) -> None:
    bad = POLICY.replace("    content:", "    kind: TracingConfiguration\n    content:")
    bad = bad.replace("audit.k8s.io/v1", "apiserver.config.k8s.io/v1beta1").replace(
        "kind: Policy\n      rules:\n        - level: Metadata", "kind: TracingConfiguration"
    )
    problems = _problems(tmp_path, {"group_vars/control_plane.yml+": bad})
    assert any(
        "--audit-policy-file names /etc/kubernetes/audit/policy.yaml, declared in apiserver_files"
        " as TracingConfiguration; --audit-policy-file reads a Policy" in p
        for p in problems
    ), problems


def test_a_flag_naming_an_undeclared_file_is_left_to_preflight(tmp_path: Path) -> None:
    result = prepared(tmp_path, {})  # --audit-policy-file, no apiserver_files: as before
    assert all(s.companions == () for s in result.states)


def test_all_then_group_then_host_by_path(tmp_path: Path) -> None:
    extra = '\n  - {path: /etc/kubernetes/audit/extra.txt, content: "from all\\n"}\n'
    group = POLICY.replace("level: Metadata", "level: Request")
    host = "apiserver_files:\n  - {path: /etc/kubernetes/audit/extra.txt, state: absent}\n"
    result = prepared(
        tmp_path,
        {
            "group_vars/all.yml+": POLICY.rstrip("\n") + extra,
            "group_vars/control_plane.yml+": group,
            "host_vars/cp3.yml+": host,
        },
    )
    by_host = {s.host.name: s for s in result.states}
    cp1 = {str(c.path): c.content for c in by_host["cp1"].companions}
    assert cp1["/etc/kubernetes/audit/extra.txt"] == b"from all\n"
    assert cp1["/etc/kubernetes/audit/policy.yaml"].endswith(b"- level: Request\n")  # group wins
    cp3 = [str(c.path) for c in by_host["cp3"].companions]
    assert cp3 == ["/etc/kubernetes/audit/policy.yaml"]
