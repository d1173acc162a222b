"""Rendering and checking at the size bench/render.py measures (1,000 hosts)."""

from __future__ import annotations

from render_fixtures import build_host, example_host, state_of

from deployer.desired import DesiredState
from deployer.render import ManifestRenderer, check_manifests

_HOSTS = 1000


def _states() -> list[DesiredState]:
    cp1 = example_host("1.31", "cp1").state
    states = []
    for i in range(_HOSTS):
        address = f"10.{i // 250}.{i % 250}.10"
        variables = dict(cp1.host.vars)
        variables["apiserver_flags"] = {**cp1.flags, "advertise-address": address}
        states.append(state_of(build_host(f"cp{i}", address, variables)))
    return states


def test_a_thousand_hosts_each_get_their_own_valid_manifest() -> None:
    # Speed is measured by bench/render.py, never here: this checks the result at that size.
    states = _states()
    renderer = ManifestRenderer()
    digests = {"/etc/kubernetes/audit/policy.yaml": "0" * 64}
    rendered = [(s, renderer.render(s, file_digests=digests)) for s in states]
    assert len({m.sha256 for _, m in rendered}) == _HOSTS  # every host got its own manifest
    assert check_manifests(rendered) == []
