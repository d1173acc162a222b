"""Template lookup, template mistakes, and input problems found while rendering."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from render_fixtures import make_state

from deployer.errors import ExitCode, TemplateError
from deployer.render import ManifestRenderer, render_manifest, render_manifests

_MINIMAL = "image: {{ image | yaml_str }}\nport: {{ probe_port | yaml_int }}\n"


def test_manifest_template_is_found_relative_to_the_inventory(tmp_path: Path) -> None:
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "custom.yaml.j2").write_text(_MINIMAL)
    state = make_state(manifest_template="templates/custom.yaml.j2")
    manifest = render_manifest(state, template_dirs=[tmp_path])
    assert yaml.safe_load(manifest.content) == {"image": state.image, "port": 6443}
    assert manifest.path == state.manifest_path


def test_template_dirs_are_searched_in_order_before_the_packaged_templates(
    tmp_path: Path,
) -> None:
    first, second = tmp_path / "inventory", tmp_path / "extra"
    first.mkdir()
    second.mkdir()
    (second / "kube-apiserver.yaml.j2").write_text("from: {{ 'extra' | yaml_str }}\n")
    state = make_state()
    assert render_manifest(state, template_dirs=[first, second]).content == b'from: "extra"\n'
    (first / "kube-apiserver.yaml.j2").write_text("from: {{ 'inventory' | yaml_str }}\n")
    assert render_manifest(state, template_dirs=[first, second]).content == b'from: "inventory"\n'
    assert b"kind: Pod" in render_manifest(state).content


def test_an_override_can_extend_the_packaged_template_it_shadows(tmp_path: Path) -> None:
    (tmp_path / "kube-apiserver.yaml.j2").write_text(
        '{% extends "builtin/kube-apiserver.yaml.j2" %}'
    )
    state = make_state()
    assert render_manifest(state, template_dirs=[tmp_path]) == render_manifest(state)


def test_an_absolute_template_path_is_read_as_is(tmp_path: Path) -> None:
    template = tmp_path / "abs.j2"
    template.write_text(_MINIMAL)
    state = make_state(manifest_template=str(template))
    assert b"port: 6443" in render_manifest(state).content


def test_a_missing_template_says_where_it_looked(tmp_path: Path) -> None:
    state = make_state(manifest_template="nope.yaml.j2")
    with pytest.raises(TemplateError) as caught:
        render_manifest(state, template_dirs=[tmp_path])
    (problem,) = caught.value.problems
    assert "'nope.yaml.j2' not found" in problem.message
    assert str(tmp_path) in problem.message and "packaged" in problem.message
    assert problem.host == "cp1"
    assert caught.value.exit_code is ExitCode.INVALID_INPUT


@pytest.mark.parametrize(
    ("source", "needle", "line"),
    [
        ("a: 1\nb: {{ image | yaml_str }\n", "syntax error", 2),
        ("a: 1\n\nb: {{ no_such_thing | yaml_str }}\n", "'no_such_thing' is undefined", 3),
        ("a: 1\nb: {{ image }}\n", "without a quoting filter", 2),
        ("a: {{ image | yaml_int }}\n", "yaml_int: expected an integer", 1),
    ],
    ids=["syntax", "undefined", "unquoted", "not an int"],
)
def test_template_mistakes_name_the_file_and_line(
    tmp_path: Path, source: str, needle: str, line: int
) -> None:
    (tmp_path / "bad.j2").write_text(source)
    state = make_state(manifest_template="bad.j2")
    with pytest.raises(TemplateError) as caught:
        render_manifest(state, template_dirs=[tmp_path])
    (problem,) = caught.value.problems
    assert needle in problem.message
    assert problem.file == str(tmp_path / "bad.j2")
    assert problem.line == line


def test_compiled_templates_are_cached_per_renderer(tmp_path: Path) -> None:
    template = tmp_path / "t.j2"
    template.write_text("v: {{ '1' | yaml_str }}\n")
    state = make_state(manifest_template="t.j2")
    renderer = ManifestRenderer([tmp_path])
    assert renderer.render(state).content == b'v: "1"\n'
    template.write_text("v: {{ '2' | yaml_str }}\n")
    # Same renderer: compiled once, for the whole run. A new renderer reads the file again.
    assert renderer.render(state).content == b'v: "1"\n'
    assert ManifestRenderer([tmp_path]).render(state).content == b'v: "2"\n'


def test_a_template_without_a_final_newline_still_ends_with_one(tmp_path: Path) -> None:
    (tmp_path / "t.j2").write_text("v: {{ '1' | yaml_str }}")
    state = make_state(manifest_template="t.j2")
    assert render_manifest(state, template_dirs=[tmp_path]).content == b'v: "1"\n'


def test_bad_render_inputs_are_all_reported_with_their_variable() -> None:
    state = make_state(
        {"secure-port": "https"},
        apiserver_extra_volumes=[
            {"name": "Bad_Name", "hostPath": "relative", "mountPath": "/x", "readOnly": "yes"},
            {"name": "ok", "hostPath": "/y", "mountPath": "/y", "pathType": "Folder", "size": 1},
        ],
        apiserver_resources_cpu="lots",
    )
    with pytest.raises(TemplateError) as caught:
        render_manifest(state)
    messages = [p.message for p in caught.value.problems]
    assert any("expected a port number" in m for m in messages)
    assert any("'Bad_Name' is not a DNS label" in m for m in messages)
    assert any("hostPath 'relative' is not an absolute path" in m for m in messages)
    assert any("readOnly 'yes'" in m for m in messages)
    assert any("pathType 'Folder'" in m for m in messages)
    assert any("unknown keys size" in m for m in messages)
    assert any("apiserver_resources_cpu" in m for m in messages)
    assert {p.host for p in caught.value.problems} == {"cp1"}


def test_a_checksum_file_without_digest_is_a_problem_only_when_digests_are_given() -> None:
    state = make_state(apiserver_checksum_files=["/etc/kubernetes/audit/policy.yaml"])
    assert b"file-checksums" not in render_manifest(state).content
    with pytest.raises(TemplateError, match="policy.yaml has no digest"):
        render_manifest(state, file_digests={"/other": "abc"})


def test_render_manifests_reports_every_host_at_once() -> None:
    good = make_state(name="cp1")
    bad_a = make_state({"secure-port": "x"}, name="cp2")
    bad_b = make_state(name="cp3", apiserver_resources_cpu="-1")
    with pytest.raises(TemplateError) as caught:
        render_manifests([good, bad_a, bad_b])
    assert [p.host for p in caught.value.problems] == ["cp2", "cp3"]
    rendered = render_manifests([good, make_state(name="cp2")])
    assert list(rendered) == ["cp1", "cp2"]


def test_unspecified_advertise_address_leaves_the_probe_host_out() -> None:
    state = make_state({"advertise-address": "0.0.0.0"})  # noqa: S104  (a flag value, no socket)
    pod = yaml.safe_load(render_manifest(state).content)
    (container,) = pod["spec"]["containers"]
    assert "host" not in container["livenessProbe"]["httpGet"]
    annotations = pod["metadata"]["annotations"]
    assert annotations["kubeadm.kubernetes.io/kube-apiserver.advertise-address.endpoint"] == (
        "0.0.0.0:6443"
    )


def test_without_advertise_address_probes_go_to_localhost_and_no_annotation() -> None:
    pod = yaml.safe_load(render_manifest(make_state({"advertise-address": None})).content)
    assert "annotations" not in pod["metadata"]
    assert pod["spec"]["containers"][0]["readinessProbe"]["httpGet"]["host"] == "127.0.0.1"


def test_an_extra_volume_named_like_a_kubeadm_volume_replaces_it() -> None:
    state = make_state(
        apiserver_extra_volumes=[
            {"name": "k8s-certs", "hostPath": "/srv/pki", "mountPath": "/etc/kubernetes/pki"}
        ]
    )
    pod = yaml.safe_load(render_manifest(state).content)
    volumes = [v for v in pod["spec"]["volumes"] if v["name"] == "k8s-certs"]
    assert volumes == [{"name": "k8s-certs", "hostPath": {"path": "/srv/pki"}}]
