"""kubeadm's manifest shape per minor: 1.34 names the probe port, and that is a real change."""

from __future__ import annotations

import yaml
from render_fixtures import make_state

from deployer.render import check_manifest, render_manifest, semantic_equal


def _container(minor: str, **flags: object) -> dict[str, object]:
    pod = yaml.safe_load(render_manifest(make_state(flags, kubernetes_version=minor)).content)
    (container,) = pod["spec"]["containers"]
    assert isinstance(container, dict)
    return container


def test_1_34_probes_name_the_secure_port_declared_under_ports() -> None:
    container = _container("1.34", **{"secure-port": 8443})
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        assert container[probe]["httpGet"]["port"] == "probe-port"  # type: ignore[index]
    assert container["ports"] == [{"containerPort": 8443, "name": "probe-port", "protocol": "TCP"}]
    assert "ports" not in _container("1.33")


def test_moving_to_the_named_port_restarts_the_pod() -> None:
    """The same flags on 1.33 and 1.34 differ for kubelet: the upgrade rolls each node once."""
    old = render_manifest(make_state(kubernetes_version="1.33", apiserver_image="x:v1")).content
    new = render_manifest(make_state(kubernetes_version="1.34", apiserver_image="x:v1")).content
    assert not semantic_equal(old, new)


def test_the_checker_accepts_the_named_port_only_when_it_is_the_secure_port() -> None:
    state = make_state(kubernetes_version="1.35")
    manifest = render_manifest(state)
    assert [p for p in check_manifest(state, manifest) if not p.is_warning] == []
    broken = manifest.content.replace(b"containerPort: 6443", b"containerPort: 6444")
    problems = check_manifest(state, type(manifest).from_content(manifest.path, broken))
    assert any("livenessProbe must be an HTTPS GET" in p.message for p in problems)
