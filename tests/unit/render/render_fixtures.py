"""Build desired states for the render tests from plain data (the inventory loader is separate).

The example control plane lives in tests/data/render/hosts.yml; ``make_state`` builds one-off
states for focused tests.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import yaml

from deployer.desired import DesiredState, desired_state
from deployer.model.host import Host, VarOrigin

DATA = Path(__file__).resolve().parents[2] / "data"
HOSTS_FILE = DATA / "render" / "hosts.yml"
GOLDEN = DATA / "golden"
KUBEADM_FILE = DATA / "render" / "kubeadm-1.31-kube-apiserver.yaml"


@dataclass(frozen=True)
class ExampleHost:
    """One host of the example control plane, ready to render."""

    name: str
    version: str
    state: DesiredState
    file_digests: Mapping[str, str] | None

    @property
    def golden_path(self) -> Path:
        return GOLDEN / self.version / self.name / "kube-apiserver.yaml"


def _load() -> dict[str, object]:
    data = yaml.load(HOSTS_FILE.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
    assert isinstance(data, dict)
    return data


def example_versions() -> list[str]:
    versions = _load()["versions"]
    assert isinstance(versions, list)
    return [str(v) for v in versions]


def example_host_names() -> list[str]:
    hosts = _load()["hosts"]
    assert isinstance(hosts, dict)
    return [str(name) for name in hosts]


def build_host(
    name: str,
    address: str,
    variables: Mapping[str, object],
    *,
    source: str = "hosts.yml",
) -> Host:
    """Return a Host whose every variable (and flag) has an origin, as the loader records."""
    origins = {key: VarOrigin("host", source, 1) for key in variables}
    flags = variables.get("apiserver_flags")
    if isinstance(flags, Mapping):
        origins.update({f"apiserver_flags.{k}": VarOrigin("host", source, 1) for k in flags})
    return Host(
        name=name,
        address=address,
        groups=frozenset({"all", "control_plane"}),
        vars=MappingProxyType(dict(variables)),
        origins=MappingProxyType(origins),
    )


def state_of(host: Host) -> DesiredState:
    state, problems = desired_state(host)
    assert not problems, problems
    return state


def example_host(version: str, name: str) -> ExampleHost:
    data = _load()
    common = dict(data["all"])  # type: ignore[call-overload]
    spec = data["hosts"][name]  # type: ignore[index]
    variables: dict[str, object] = {**common, **spec.get("vars", {})}
    variables["apiserver_flags"] = {
        **common.get("apiserver_flags", {}),
        **spec.get("vars", {}).get("apiserver_flags", {}),
    }
    variables["kubernetes_version"] = version
    host = build_host(name, str(spec["address"]), variables)
    digests = spec.get("file_digests")
    return ExampleHost(name, version, state_of(host), digests)


def example_hosts() -> list[ExampleHost]:
    return [example_host(v, n) for v in example_versions() for n in example_host_names()]


def make_state(
    flags: Mapping[str, object] | None = None,
    *,
    name: str = "cp1",
    **variables: object,
) -> DesiredState:
    """Return a state with kubeadm's default flags (advertise 192.0.2.10) updated by ``flags``.

    A flag set to ``None`` is removed.
    """
    base = dict(example_host("1.31", "cp2").state.flags)
    base["advertise-address"] = "192.0.2.10"
    base["service-cluster-ip-range"] = "10.96.0.0/12"
    for key, value in (flags or {}).items():
        if value is None:
            base.pop(key, None)
        else:
            base[key] = value  # type: ignore[assignment]
    # The kubeadm file these tests compare with is 1.31's; other versions are asked for.
    variables.setdefault("kubernetes_version", "1.31")
    host = build_host(name, "192.0.2.10", {"apiserver_flags": base, **variables})
    return state_of(host)
