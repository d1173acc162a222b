"""Properties of rendering: values cannot change the structure, and output is deterministic."""

from __future__ import annotations

import random
from pathlib import PurePosixPath

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from render_fixtures import build_host, make_state, state_of

from deployer.model.manifest import Manifest
from deployer.render import ManifestRenderer, check_manifest, parse_manifest_command
from deployer.render.check import MountPoint, covering_mount

_NASTY = st.sampled_from(
    [": ", " #", "\n", '"', "'", "\\", "- ", "*a", "&a", "!!str", "{", "[", "%", "@", "yes",
     "\u2028", "\x85", "é", "😀", "\x00", ""]
)  # fmt: skip
_VALUES = st.lists(st.one_of(st.text(max_size=20), _NASTY), max_size=6).map("".join)
_NAMES = st.from_regex(r"\Ax-[a-z0-9]{1,12}(-[a-z0-9]{1,8})?\Z")

# One renderer for the whole module: examples must not pay for compiling the template again.
_RENDERER = ManifestRenderer()


@settings(max_examples=60, deadline=None)
@given(name=_NAMES, value=_VALUES)
def test_any_flag_value_survives_as_exactly_one_command_element(name: str, value: str) -> None:
    state = make_state({name: value})
    manifest = _RENDERER.render(state)
    command, args = parse_manifest_command(manifest.content)
    assert args == []
    assert command.count(f"--{name}={value}") == 1
    expected = ["kube-apiserver", *(f"--{k}={v}" for k, v in sorted(state.flags.items()))]
    assert command == expected
    # The flag's own problems aside, nothing else in the manifest moved.
    assert [p for p in check_manifest(state, manifest) if not p.is_warning] == []


@settings(max_examples=30, deadline=None)
@given(value=_VALUES)
def test_any_value_in_annotations_env_and_volumes_keeps_the_structure(value: str) -> None:
    path = "/srv/" + value.replace("\x00", "")
    state = make_state(
        apiserver_extra_env={"WEIRD": value},
        apiserver_extra_volumes=[{"name": "extra", "hostPath": path, "mountPath": path}],
        apiserver_checksum_files=["/etc/kubernetes/pki/ca.crt"],
    )
    manifest = _RENDERER.render(state, file_digests={"/etc/kubernetes/pki/ca.crt": value or "x"})
    pod = yaml.safe_load(manifest.content)
    (container,) = pod["spec"]["containers"]
    assert container["env"] == [{"name": "WEIRD", "value": value}]
    assert {"name": "extra", "hostPath": {"path": path}} in pod["spec"]["volumes"]
    assert {"name": "extra", "mountPath": path} in container["volumeMounts"]
    annotation = pod["metadata"]["annotations"]["deployer/file-checksums"]
    assert annotation == f"{value or 'x'}  /etc/kubernetes/pki/ca.crt"


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(min_value=0, max_value=2**32 - 1))
def test_rendering_is_deterministic_whatever_the_inventory_order(seed: int) -> None:
    state = make_state(
        apiserver_extra_env={"B": "2", "A": "1", "C": "3"},
        apiserver_extra_volumes=[
            {"name": "zz", "hostPath": "/zz", "mountPath": "/zz"},
            {"name": "aa", "hostPath": "/aa", "mountPath": "/aa", "readOnly": True},
        ],
    )
    shuffled = dict(state.host.vars)
    flags = list(state.flags.items())
    env = list(shuffled["apiserver_extra_env"].items())  # type: ignore[attr-defined]
    volumes = list(shuffled["apiserver_extra_volumes"])  # type: ignore[call-overload]
    rng = random.Random(seed)  # noqa: S311  (a reproducible shuffle, not a secret)
    for items in (flags, env, volumes):
        rng.shuffle(items)
    shuffled.update(apiserver_flags=dict(flags), apiserver_extra_env=dict(env))
    shuffled["apiserver_extra_volumes"] = volumes
    other = state_of(build_host(state.host.name, state.host.address, shuffled))
    first = _RENDERER.render(state).content
    assert ManifestRenderer().render(other).content == first
    assert _RENDERER.render(state).content == first


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_check_manifest_names_exactly_the_flags_dropped_or_changed(data: st.DataObject) -> None:
    state = make_state()
    names = sorted(state.flags)
    dropped = data.draw(st.sets(st.sampled_from(names), max_size=4), label="dropped")
    others = [n for n in names if n not in dropped]
    changed = data.draw(st.sets(st.sampled_from(others), max_size=3), label="changed")
    pod = yaml.safe_load(_RENDERER.render(state).content)
    command = ["kube-apiserver"]
    for name, value in sorted(state.flags.items()):
        if name in dropped:
            continue
        command.append(f"--{name}={value}x" if name in changed else f"--{name}={value}")
    pod["spec"]["containers"][0]["command"] = command
    content = yaml.safe_dump(pod).encode()
    problems = check_manifest(state, Manifest.from_content(state.manifest_path, content))
    errors = [p for p in problems if not p.is_warning]
    assert {p.flag for p in errors} == dropped | changed
    assert len(errors) == len(dropped | changed)


_SEGMENTS = st.sampled_from(["etc", "kubernetes", "pki", "audit", "a", "var", "log"])
_PATHS = st.lists(_SEGMENTS, max_size=4).map(lambda parts: "/" + "/".join(parts))


@settings(max_examples=200, deadline=None)
@given(mount_paths=st.lists(_PATHS, max_size=5, unique=True), target=_PATHS)
def test_the_covering_mount_is_the_deepest_mount_containing_the_path(
    mount_paths: list[str], target: str
) -> None:
    mounts = [MountPoint(f"m{i}", p, False, p) for i, p in enumerate(mount_paths)]
    found = covering_mount(mounts, PurePosixPath(target))
    containing = [
        m
        for m in mounts
        if PurePosixPath(m.mount_path) in (PurePosixPath(target), *PurePosixPath(target).parents)
    ]
    if not containing:
        assert found is None
    else:
        deepest = max(containing, key=lambda m: len(PurePosixPath(m.mount_path).parts))
        assert found == deepest
