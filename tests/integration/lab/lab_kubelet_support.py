"""Helpers for driving the kubelet stand-in in-process against a fake kube-apiserver."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

import yaml

from deployer.lab.kubelet.records import CONTAINER_RUNNING, ContainerRecord
from deployer.lab.kubelet.sync import Kubelet, KubeletConfig

#: A kube-apiserver fake: prints a line on each stream, exits with --exit-code=N if given,
#: otherwise runs until SIGTERM (exit 0).
FAKE_APISERVER = r"""
import signal, sys, time
args = sys.argv[1:]
print("fake apiserver started", " ".join(args), flush=True)
sys.stderr.write("E0101 00:00:00.000000       1 fake.go:1] on stderr\n")
sys.stderr.flush()
for a in args:
    if a.startswith("--exit-code="):
        sys.exit(int(a.split("=", 1)[1]))
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
while True:
    time.sleep(0.05)
"""


def pod_yaml(
    *,
    name: str = "kube-apiserver",
    flags: tuple[str, ...] = ("--secure-port=6443",),
    image: str = "registry.k8s.io/kube-apiserver:v1.31.13",
    volumes: tuple[tuple[str, str, str], ...] = (
        ("k8s-certs", "/etc/kubernetes/pki", "DirectoryOrCreate"),
    ),
    command: str = "kube-apiserver",
    grace_s: int | None = None,
) -> str:
    spec: dict[str, object] = {
        "containers": [
            {
                "name": "kube-apiserver",
                "image": image,
                "command": [command, *flags],
                "volumeMounts": [
                    {"name": v[0], "mountPath": v[1], "readOnly": True} for v in volumes
                ],
            }
        ],
        "hostNetwork": True,
        "volumes": [{"name": v[0], "hostPath": {"path": v[1], "type": v[2]}} for v in volumes],
    }
    if grace_s is not None:
        spec["terminationGracePeriodSeconds"] = grace_s
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": "kube-system",
            "labels": {"component": "kube-apiserver", "tier": "control-plane"},
        },
        "spec": spec,
    }
    return yaml.safe_dump(pod, sort_keys=False)


def make_kubelet(root: Path, *, node: str = "lab-cp1") -> Kubelet:
    (root / "etc/kubernetes/manifests").mkdir(parents=True, exist_ok=True)
    config = KubeletConfig(
        node_name=node,
        root=root,
        python=sys.executable,
        time_scale=0.05,
        poll_s=0.05,
        container_env={"DEPLOYER_LAB_NODE_ROOT": str(root)},
        programs={"kube-apiserver": (sys.executable, "-c", FAKE_APISERVER)},
    )
    return Kubelet(config)


def drive_until(
    kubelet: Kubelet, predicate: Callable[[], bool], *, timeout_s: float = 10.0, what: str = ""
) -> None:
    """Run kubelet sync rounds until ``predicate`` holds (bounded)."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() >= deadline:
            raise AssertionError(f"not reached in {timeout_s}s: {what}")
        kubelet.step()


def running(kubelet: Kubelet) -> list[ContainerRecord]:
    return [c for c in kubelet.state.containers if c.state == CONTAINER_RUNNING]


def drive_for(kubelet: Kubelet, rounds: int) -> None:
    """Run a fixed number of sync rounds (for asserting that nothing happens)."""
    for _ in range(rounds):
        kubelet.step()
