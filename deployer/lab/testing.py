"""A running lab for tests: ``with running_lab(tmp_path) as lab: ...``.

Why shipped in the package: the plan/apply/verify integration tests reuse it, as
``fabric.testing`` ships its fakes. Each lab lives in its own folder and address range, so
labs of parallel tests never collide; the lab is always brought down, even when the test fails.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from deployer.lab.control import (
    LabOptions,
    ManifestFactory,
    lab_down,
    lab_fault,
    lab_status,
    lab_up,
    render_initial_manifest,
)
from deployer.lab.health import Probe, readyz
from deployer.lab.layout import NodeLayout, lab_layout
from deployer.lab.status import LabStatus

__all__ = ["LabHandle", "poll_until", "running_lab"]


def poll_until(
    predicate: Callable[[], bool], *, timeout_s: float, interval_s: float = 0.1, what: str = ""
) -> None:
    """Poll ``predicate`` until it holds; fail with ``what`` after ``timeout_s``.

    Raises:
        TimeoutError: the predicate did not hold in time.
    """
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() >= deadline:
            raise TimeoutError(f"not true after {timeout_s:g}s: {what or predicate}")
        time.sleep(interval_s)


def _name_of(container: dict[str, object]) -> str:
    metadata = container.get("metadata")
    return str(metadata.get("name", "")) if isinstance(metadata, dict) else ""


@dataclass(frozen=True, slots=True)
class LabHandle:
    """A running lab and the handful of things tests do with it."""

    root: Path
    nodes: tuple[NodeLayout, ...]

    @property
    def inventory(self) -> Path:
        """``inventory.yml`` for ``deployer -i``."""
        return self.root / "inventory.yml"

    @property
    def client_key(self) -> Path:
        """The SSH private key that logs in to every node."""
        return self.root / "ssh" / "id_ed25519"

    @property
    def known_hosts(self) -> Path:
        """Every node's host key."""
        return self.root / "ssh" / "known_hosts"

    def node(self, name: str) -> NodeLayout:
        """Return a node by name (``lab-cp1``)."""
        return next(n for n in self.nodes if n.name == name)

    def manifest(self, name: str) -> Path:
        """The node's kube-apiserver manifest."""
        return self.node(name).manifests_dir / "kube-apiserver.yaml"

    def crictl(
        self, name: str, *args: str, timeout_s: float = 10.0
    ) -> subprocess.CompletedProcess[str]:
        """Run the node's crictl stand-in (the same script deployer runs over SSH)."""
        return subprocess.run(
            [str(self.node(name).crictl), *args],
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )

    def containers(self, name: str, *, all_states: bool = True) -> list[dict[str, object]]:
        """``crictl ps [-a] -o json`` of the node, parsed."""
        args = ["ps", "-o", "json", *(["-a"] if all_states else [])]
        result = self.crictl(name, *args)
        result.check_returncode()
        containers: list[dict[str, object]] = json.loads(result.stdout)["containers"]
        return containers

    def running_apiserver(self, name: str) -> dict[str, object] | None:
        """The node's running kube-apiserver container (``crictl ps`` entry), if any."""
        running = [
            c for c in self.containers(name, all_states=False) if _name_of(c) == "kube-apiserver"
        ]
        return running[0] if running else None

    def readyz(self, name: str, *, verbose: bool = False) -> Probe:
        """GET ``/readyz`` of the node's apiserver."""
        return readyz(self.node(name), verbose=verbose)

    def wait_ready(self, name: str, *, timeout_s: float = 30.0) -> None:
        """Wait until the node's ``/readyz`` answers 200."""
        poll_until(lambda: self.readyz(name).ok, timeout_s=timeout_s, what=f"{name} /readyz 200")

    def fault(self, name: str, fault: str, *, clear: bool = False) -> dict[str, bool]:
        """Switch a fault on (or off)."""
        return lab_fault(self.root, name, fault, clear=clear)

    def status(self) -> LabStatus:
        """``lab status``."""
        return lab_status(self.root)


@contextmanager
def running_lab(
    lab_dir: Path,
    nodes: int = 3,
    first_address: str = "127.0.10.1",
    *,
    ready_delay_s: float = 0.2,
    slow_s: float | None = 3.0,
    time_scale: float = 0.1,
    kubernetes_version: str = "1.31",
    timeout_s: float = 60.0,
    manifest_factory: ManifestFactory = render_initial_manifest,
) -> Iterator[LabHandle]:
    """Bring a lab up in ``lab_dir``, yield it, and always bring it down.

    Raises:
        LabError: the lab did not come up (it is brought down before the error propagates).
    """
    options = LabOptions(
        root=lab_dir,
        nodes=nodes,
        first_address=first_address,
        kubernetes_version=kubernetes_version,
        ready_timeout_s=timeout_s,
        ready_delay_s=ready_delay_s,
        slow_s=slow_s,
        time_scale=time_scale,
        manifest_factory=manifest_factory,
    )
    try:
        lab_up(options)
        layout = lab_layout(lab_dir, nodes, first_address)
        yield LabHandle(layout.root, layout.nodes)
    finally:
        lab_down(lab_dir)
