"""A control-plane node simulated over ``FakeTransport``: files, a kubelet, an apiserver, a clock.

The host answers the rollout's commands from its state, not from a script of results: kubelet
starts a container when the manifest's bytes change (the pod uid is derived from the content,
so the previous manifest gives back the previous pod), the apiserver answers ``/readyz`` and
``/metrics`` for the manifest its running container came from, and reloads a companion file
by itself when the scenario lets it. A test states how the new content behaves (runs, exits,
never started, not ready, rejected) and reads the outcome off the host's files.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import PurePosixPath

import yaml

from deployer.desired import DesiredState
from deployer.facts.crictl import parse_ps
from deployer.facts.observe import DirEntry, HostObservation
from deployer.model.host import Host
from deployer.testing import Expect, FakeTransport, HttpResult
from deployer.transport.base import Transport

MANIFESTS = PurePosixPath("/etc/kubernetes/manifests")
MANIFEST_PATH = MANIFESTS / "kube-apiserver.yaml"
ADDRESS = "10.0.0.1"


def manifest(version: str, *flags: str) -> bytes:
    """A kube-apiserver static pod whose image tag is ``version``."""
    command = ["kube-apiserver", f"--advertise-address={ADDRESS}", *flags]
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "kube-apiserver", "namespace": "kube-system"},
        "spec": {
            "containers": [
                {
                    "name": "kube-apiserver",
                    "image": f"registry.k8s.io/kube-apiserver:{version}",
                    "command": command,
                }
            ]
        },
    }
    return yaml.safe_dump(pod, sort_keys=True).encode()


def _sha(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def _command(content: bytes) -> list[str]:
    doc = yaml.safe_load(content)
    return list(doc["spec"]["containers"][0]["command"])


def _tag(content: bytes) -> str:
    doc = yaml.safe_load(content)
    return str(doc["spec"]["containers"][0]["image"]).rpartition(":")[2]


class FakeClock:
    """Time that moves only when the code under test sleeps (no test ever waits)."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def monotonic(self) -> float:
        """The fake monotonic time."""
        return self.now

    def time(self) -> float:
        """The fake wall clock (a fixed date plus the slept time)."""
        return 1_764_633_600.0 + self.now

    def sleep(self, seconds: float) -> None:
        """Advance the time at once."""
        self.now += max(seconds, 0.0)


@dataclass
class _Container:
    id: str
    state: str
    pod_uid: str
    created: int
    content: bytes


@dataclass
class Behaviour:
    """How the simulated node treats a manifest or a companion content."""

    #: Manifest digest -> what kubelet's container does: ``run``, ``exit`` or ``none``
    #: (kubelet never starts it). Default ``run``.
    containers: dict[str, str] = field(default_factory=dict)
    #: Manifest digests whose apiserver never becomes ready.
    not_ready: set[str] = field(default_factory=set)
    #: Companion digests the apiserver rejects on reload (it keeps the previous content).
    rejected: set[str] = field(default_factory=set)
    #: After a restore, kubelet does nothing any more (the host is stuck).
    kubelet_stops_after: int | None = None


class SimHost:
    """One node: a FakeTransport whose commands and HTTPS requests are answered from state."""

    def __init__(
        self,
        live: bytes | None,
        *,
        files: dict[PurePosixPath, bytes] | None = None,
        reload_counter: str = "apiserver_authentication_config_controller_automatic_reloads",
        info_metric: str = "apiserver_authentication_config_controller_last_config_info",
        watched: PurePosixPath | None = None,
    ) -> None:
        self.host = Host(
            "cp1",
            ADDRESS,
            vars={"soak_seconds": 0, "restart_timeout": 20, "ready_timeout": 10},
        )
        self.transport = FakeTransport(self.host)
        self.clock = FakeClock()
        self.behaviour = Behaviour()
        self.containers: list[_Container] = []
        self._serial = 0
        self.backups: list[PurePosixPath] = []
        self.released = False
        self.restarts = 0
        self.reload_counter = reload_counter
        self.info_metric = info_metric
        self.watched = watched
        self.reloads = 0
        self.loaded: bytes | None = None
        t = self.transport
        t.files[PurePosixPath("/etc/kubernetes/admin.conf")] = _kubeconfig()
        for path, content in (files or {}).items():
            t.files[path] = content
        if live is not None:
            t.files[MANIFEST_PATH] = live
            self._start(live)
        if watched is not None:
            self.loaded = t.files.get(watched)
        self._rules()

    # -- state -------------------------------------------------------------------------

    @property
    def manifest(self) -> bytes | None:
        """The manifest on disk now."""
        return self.transport.files.get(MANIFEST_PATH)

    def strays(self) -> list[str]:
        """Non-dot files in the manifests folder other than the manifest (kubelet runs them)."""
        return sorted(
            p.name
            for p in self.transport.files
            if p.parent == MANIFESTS and p != MANIFEST_PATH and not p.name.startswith(".")
        )

    def running(self) -> _Container | None:
        """The running container, if any."""
        return next((c for c in self.containers if c.state == "CONTAINER_RUNNING"), None)

    def _start(self, content: bytes) -> None:
        self._serial += 1
        what = self.behaviour.containers.get(_sha(content), "run")
        if what == "none":
            return  # kubelet never acts on it: the old container keeps running
        for c in self.containers:
            c.state = "CONTAINER_EXITED"
        state = "CONTAINER_RUNNING" if what == "run" else "CONTAINER_EXITED"
        self.containers.append(
            _Container(
                id=f"{self._serial:02d}".ljust(64, "c"),
                state=state,
                pod_uid=_sha(content)[:32],
                created=self._serial,
                content=content,
            )
        )

    def _kubelet(self) -> None:
        """kubelet's file source: a changed manifest (by bytes) gives a new container."""
        content = self.manifest
        current = self.containers[-1].content if self.containers else None
        if content is None or content == current:
            return
        stops = self.behaviour.kubelet_stops_after
        if stops is not None and self.restarts >= stops:
            return
        if self.containers and _sha(content)[:32] == self.containers[-1].pod_uid:
            return
        self.restarts += 1
        self._start(content)

    def observe(self, transport: Transport, state: DesiredState) -> HostObservation:
        """What the one-round-trip observation reads on this node."""
        self._kubelet()
        listing = tuple(
            DirEntry(p.name, "f") for p in sorted(self.transport.files) if p.parent == MANIFESTS
        )
        containers = parse_ps(self._ps())
        running = self.running()
        return HostObservation(
            manifest=self.manifest,
            listing=listing,
            containers=containers,
            running_args=tuple(_command(running.content)) if running else None,
            kubelet_rc=0,
            ca_pem=b"CA",
        )

    # -- answers ---------------------------------------------------------------------------

    def _ps(self) -> str:
        items = [
            {
                "id": c.id,
                "metadata": {"name": "kube-apiserver", "attempt": 0},
                "state": c.state,
                "createdAt": str(c.created),
                "labels": {
                    "io.kubernetes.pod.name": "kube-apiserver-cp1",
                    "io.kubernetes.pod.uid": c.pod_uid,
                },
                "annotations": {"io.kubernetes.container.restartCount": "0"},
            }
            for c in self.containers
        ]
        return json.dumps({"containers": items})

    def _rules(self) -> None:
        t = self.transport

        def script(name: str) -> Callable[[tuple[str, ...]], bool]:
            return lambda argv: len(argv) > 3 and argv[:2] == ("sh", "-c") and argv[3] == name

        def ok(argv: tuple[str, ...], stdout: str = "") -> Expect:
            return Expect(argv=argv, stdout=stdout)

        t.respond(script("deployer-lock"), lambda argv, _: ok(argv, self._lock(argv[4])))
        t.respond(script("deployer-backup"), lambda argv, _: ok(argv, self._backup(argv)))
        t.respond(script("deployer-preflight"), lambda argv, _: ok(argv))
        t.respond(script("deployer-clean"), lambda argv, _: ok(argv))
        t.respond(lambda a: a[:2] == ("mkdir", "-p"), lambda argv, _: ok(argv))
        t.respond(lambda a: a[0] == "find", lambda argv, _: ok(argv))
        t.respond(lambda a: a[:2] == ("rm", "-f"), lambda argv, _: ok(argv, self._rm(argv)))
        t.respond(lambda a: a[:2] == ("mv", "-f"), lambda argv, _: ok(argv, self._mv(argv)))
        t.respond(lambda a: a[:2] == ("crictl", "ps"), lambda argv, _: self.ps(argv))
        t.respond(lambda a: a[:2] == ("crictl", "logs"), lambda argv, _: ok(argv, "E boom"))
        t.respond(lambda a: a[:2] == ("crictl", "inspect"), lambda argv, _: self._inspect(argv))
        t.respond_https("/", self._https)

    def ps(self, argv: tuple[str, ...]) -> Expect:
        """``crictl ps``: kubelet acts on the manifest first (as it would have by now)."""
        self._kubelet()
        return Expect(argv=argv, stdout=self._ps())

    def _lock(self, op: str) -> str:
        if op == "release":
            self.released = True
            return "now=1000\nresult=released\n"
        return f"now=1000\nresult={'renewed' if op == 'renew' else 'acquired'}\n"

    def _backup(self, argv: tuple[str, ...]) -> str:
        folder = PurePosixPath(argv[4]) / argv[5]
        self.backups.append(folder)
        return f"{folder}\n"

    def _rm(self, argv: tuple[str, ...]) -> str:
        for path in argv[2:]:
            if path != "--":
                self.transport.files.pop(PurePosixPath(path), None)
        return ""

    def _mv(self, argv: tuple[str, ...]) -> str:
        src, dst = PurePosixPath(argv[2]), PurePosixPath(argv[3])
        self.transport.files[dst] = self.transport.files.pop(src)
        return ""

    def _inspect(self, argv: tuple[str, ...]) -> Expect:
        found = next((c for c in self.containers if c.id == argv[-1]), None)
        if found is None:
            return Expect(argv=argv, exit_code=1, stderr="not found")
        doc = {"status": {"id": found.id}, "info": {"config": {"command": _command(found.content)}}}
        return Expect(argv=argv, stdout=json.dumps(doc))

    def _https(self, path: str) -> HttpResult:
        running = self.running()
        if running is None:
            raise ConnectionRefusedError("connection refused")
        if path.startswith("/readyz") and _sha(running.content) in self.behaviour.not_ready:
            return HttpResult(500, {}, b"[+]ping ok\n[-]etcd failed: reason withheld\n")
        if path.startswith(("/readyz", "/livez", "/healthz")):
            return HttpResult(200, {}, b"[+]ping ok\n[+]etcd ok\ncheck passed\n")
        if path == "/version":
            return HttpResult(200, {}, json.dumps({"gitVersion": _tag(running.content)}).encode())
        if path == "/api/v1/componentstatuses":
            item = {
                "metadata": {"name": "etcd-0"},
                "conditions": [{"type": "Healthy", "status": "True", "message": "ok"}],
            }
            body = {"kind": "ComponentStatusList", "items": [item]}
            return HttpResult(200, {}, json.dumps(body).encode())
        if path == "/metrics":
            return HttpResult(200, {}, self._metrics().encode())
        return HttpResult(404, {}, b"")

    def _metrics(self) -> str:
        """The apiserver's file watcher: a changed watched file is (re)loaded unless rejected."""
        if self.watched is not None:
            current = self.transport.files.get(self.watched)
            changed = current is not None and current != self.loaded
            if changed and _sha(current or b"") not in self.behaviour.rejected:
                self.loaded = current
                self.reloads += 1
        lines = [
            "# TYPE apiserver_request_total counter",
            'apiserver_request_total{code="200",resource="pods",verb="GET"} 10',
            f"# TYPE {self.reload_counter} counter",
            f'{self.reload_counter}_total{{status="success"}} {self.reloads}',
        ]
        if self.loaded is not None:
            lines += [
                f"# TYPE {self.info_metric} gauge",
                f'{self.info_metric}{{hash="sha256:{_sha(self.loaded)}"}} 1',
            ]
        return "\n".join(lines) + "\n"


def _kubeconfig() -> bytes:
    data = base64.b64encode(b"CA").decode()
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "admin",
        "contexts": [{"name": "admin", "context": {"cluster": "k", "user": "admin"}}],
        "clusters": [
            {
                "name": "k",
                "cluster": {
                    "server": f"https://{ADDRESS}:6443",
                    "certificate-authority-data": data,
                },
            }
        ],
        "users": [{"name": "admin", "user": {"token": "t0ken"}}],
    }
    return yaml.safe_dump(doc).encode()
