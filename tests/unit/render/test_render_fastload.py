"""PodLoader must return exactly what PyYAML returns, or raise exactly when load_pod raises."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from render_fixtures import example_hosts, make_state

from deployer.model.manifest import Manifest
from deployer.render import (
    ManifestChecker,
    ManifestError,
    PodLoader,
    check_manifest,
    load_pod,
    render_manifest,
)
from deployer.render.quoting import yaml_str


def _outcome(load: Callable[[bytes | str], object], content: bytes | str) -> tuple[str, object]:
    try:
        return "pod", load(content)
    except ManifestError as err:
        return "error", str(err)


def _same_as_pyyaml(loader: PodLoader, content: bytes | str) -> None:
    assert _outcome(loader.load, content) == _outcome(load_pod, content)


def test_rendered_manifests_load_like_pyyaml_and_share_one_skeleton() -> None:
    loader = PodLoader()
    for example in example_hosts():
        content = render_manifest(example.state, file_digests=example.file_digests).content
        assert loader.load(content) == yaml.safe_load(content)
    # Same template, same number of flags and volumes: one parse of the shape serves them all,
    # per kubeadm shape (numeric probe port up to 1.33, the named `probe-port` from 1.34).
    assert 1 <= loader.cached_shapes <= 6


def test_text_that_only_looks_quoted_is_left_to_pyyaml() -> None:
    loader = PodLoader()
    text = 'a: "x" # "quoted comment"\nb: plain"quote"\n'
    assert loader.load(text) == {"a": "x", "b": 'plain"quote"'}
    assert loader.cached_shapes == 0


def test_each_load_returns_fresh_objects() -> None:
    loader = PodLoader()
    content = render_manifest(make_state()).content
    first = loader.load(content)
    first["spec"]["containers"].clear()  # type: ignore[index]
    assert loader.load(content)["spec"]["containers"]  # type: ignore[index]


_VALUES = st.text(
    alphabet=st.sampled_from(list("ab :#-\"\\'\n\t{}[]&*!é😀\x85\u2028") + ["\x00", "\x7f"]),
    max_size=12,
)


@settings(max_examples=60, deadline=None)
@given(values=st.lists(_VALUES, min_size=1, max_size=4))
def test_quoted_values_of_any_text_load_like_pyyaml(values: list[str]) -> None:
    loader = PodLoader()
    lines = [f"k{i}: {yaml_str(v)}" for i, v in enumerate(values)]
    lines += ["list:", *(f"- {yaml_str(v)}" for v in values), "n: 1", "b: true", "z: null"]
    _same_as_pyyaml(loader, "\n".join(lines) + "\n")
    _same_as_pyyaml(loader, "\n".join(lines) + "\n")  # the second time from the skeleton cache


_FRAGMENTS = st.sampled_from(
    ['"', "'", "#", " ", ": ", "- ", "\n", "  ", "\\", "\\n", "\\x41", "\\u00e9", "\\q", "\\/",
     "\\N", "{", "}", "[", "]", ",", "&a", "*a", "!!str", "<<", "|", ">", "a", "1", "\ue000",
     '"\\ue000"', "---", "\u2028", "\t"]
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(_FRAGMENTS, max_size=24).map("".join))
def test_arbitrary_yaml_like_text_loads_or_fails_like_pyyaml(text: str) -> None:
    _same_as_pyyaml(PodLoader(), "a: " + text + "\n")
    _same_as_pyyaml(PodLoader(), text)


@pytest.mark.parametrize(
    "text",
    [
        'a: "x" # "quoted comment"\nb: "y"\n',
        'a: \'single "quoted" text\'\nb: "y"\n',
        'a: plain"quote"\nb: "y"\n',
        'a: |\n  block "x"\nb: "y"\n',
        '"k": 1\n"k": 2\n',
        'a: &x "v"\nb: *x\n',
        'a: "multi\n  line"\nb: "y"\n',
        'a: "esc \\\n  aped"\n',
        'a: !!binary "aGVsbG8="\n',
        'a: "\\ue000"\nb: \ue000\n',
        'a: "\\U0010ffff \\U00110000"\n',
        '{"a": "b", "c": ["d"]}\n',
        'a: "x"\n---\nb: "y"\n',
        "a: 1\n<<: {b: 2}\n",
    ],
    ids=lambda t: repr(t)[:30],
)
def test_tricky_manifests_load_like_pyyaml(text: str) -> None:
    loader = PodLoader()
    _same_as_pyyaml(loader, text)
    _same_as_pyyaml(loader, text.encode())


def test_the_batch_checker_finds_what_check_manifest_finds() -> None:
    checker = ManifestChecker()
    states = [
        make_state(),
        make_state({"audit-policy-file": "/etc/kubernetes/audit/policy.yaml"}),
        make_state({"advertise-address": None}),
    ]
    for state in states:
        manifest = render_manifest(state)
        broken = Manifest.from_content(
            manifest.path, manifest.content.replace(b"kube-system", b"default")
        )
        for candidate in (manifest, broken):
            assert checker.check(state, candidate) == check_manifest(state, candidate)
