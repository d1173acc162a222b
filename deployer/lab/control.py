"""``lab up``, ``down``, ``status`` and ``fault``: the lab's lifecycle, as a library.

The command line (``deployer/cli/commands_lab.py``) and the tests (``deployer.lab.testing``)
both call these functions; nothing here prints. Progress goes to an optional callback.
"""

from __future__ import annotations

import fcntl
import getpass
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from deployer.desired import DEFAULT_KUBERNETES_VERSION, desired_state
from deployer.errors import InputError, LabError, LockHeld
from deployer.lab.apiserver.configmaps import ConfigMapStore, kubeadm_config_map, store_path
from deployer.lab.atomic import write_atomic
from deployer.lab.cert_faults import FILE_FAULTS, switch_file_fault
from deployer.lab.etcd import etcd_binary
from deployer.lab.faults import PROCESS_FAULTS, set_fault
from deployer.lab.health import port_open, readyz
from deployer.lab.inventory import lab_hosts, write_inventory
from deployer.lab.kubelet.records import CONTAINER_EXITED, load_state
from deployer.lab.layout import (
    APISERVER_PORT,
    ETCD_CLIENT_PORT,
    ETCD_PEER_PORT,
    FIRST_ADDRESS,
    SSH_PORT,
    LabLayout,
    NodeLayout,
    lab_layout,
)
from deployer.lab.node import prepare_node, role_is_up, start_role
from deployer.lab.pki import LabNodeAddress, create_lab_pki
from deployer.lab.procs import is_running, process_record, stop_processes
from deployer.lab.records_file import LabRecord, LabSettings, load_lab_record
from deployer.lab.sshd import generate_key, sshd_binary
from deployer.lab.status import LabStatus, lab_status_of
from deployer.lab.stop import stop_lab
from deployer.model.host import Host
from deployer.versions import parse_version, version_table

__all__ = ["LabOptions", "ManifestFactory", "lab_down", "lab_fault", "lab_status", "lab_up"]

#: Builds a node's first manifest; the default renders it with deployer's own renderer.
ManifestFactory = Callable[[Host], bytes]
Progress = Callable[[str], None]
_ROLES = ("etcd", "sshd", "kubelet")


def render_initial_manifest(host: Host) -> bytes:
    """Render the node's first manifest with deployer itself (kubeadm-shaped).

    Raises:
        LabError: the lab's own inventory does not render (a bug in the lab).
    """
    from deployer.render import render_manifest

    state, problems = desired_state(host)
    if problems:
        raise LabError(f"the lab inventory is invalid: {'; '.join(map(str, problems))}")
    return render_manifest(state).content


@dataclass(frozen=True, slots=True)
class LabOptions:
    """What ``lab up`` creates."""

    root: Path
    nodes: int = 3
    first_address: str = FIRST_ADDRESS
    kubernetes_version: str = DEFAULT_KUBERNETES_VERSION
    ready_timeout_s: float = 60.0
    #: The apiserver stand-in's moment before readiness (``DEPLOYER_LAB_READY_DELAY_S``).
    ready_delay_s: float = 1.0
    #: How long ``apiserver-slow`` delays readiness (``DEPLOYER_LAB_SLOW_S``; None: 30 s).
    slow_s: float | None = None
    #: kubelet's durations (back-off, grace period) are multiplied by this.
    time_scale: float = 0.1
    #: ``auto`` (the real etcd when installed), ``real`` or ``standin``.
    etcd: str = "auto"
    manifest_factory: ManifestFactory = field(default=render_initial_manifest)


@contextmanager
def _locked(layout: LabLayout) -> Iterator[None]:
    layout.root.mkdir(parents=True, exist_ok=True)
    with open(layout.lock_file, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise LockHeld(
                f"another `deployer lab` command is working on {layout.root}",
                hint="wait for it to finish; the lock goes away with its process",
            ) from exc
        yield


def _layout_of(root: Path, record: LabRecord | None, options: LabOptions | None) -> LabLayout:
    if record is not None:
        settings = record.settings
        return lab_layout(root, settings.nodes, settings.first_address)
    if options is None:
        raise InputError(f"no lab at {root}", hint=f"create one: deployer lab up --dir {root}")
    return lab_layout(root, options.nodes, options.first_address)


def _any_running(record: LabRecord) -> bool:
    return any(is_running(p) for roles in record.processes.values() for p in roles.values())


def _check_addresses_free(layout: LabLayout) -> None:
    busy = [
        f"{node.ip}:{port}"
        for node in layout.nodes
        for port in (SSH_PORT, APISERVER_PORT, ETCD_CLIENT_PORT, ETCD_PEER_PORT)
        if port_open(node.ip, port, timeout_s=0.2)
    ]
    if busy:
        raise LabError(
            f"addresses already in use: {', '.join(busy[:6])}{' ...' if len(busy) > 6 else ''}",
            hint="another lab runs there: `deployer lab status --dir ...`, or pick other "
            "addresses with --first-address 127.0.20.1",
        )


def _check_version(version: str) -> None:
    """Refuse a version the versions table does not know before anything is created (exit 6).

    The lab's apiserver stand-in needs the minor's flag set and startup checks, so a newer
    minor cannot run here even where ``kubernetes_version_fallback`` lets deployer manage it.
    """
    table = version_table()
    parsed = parse_version(version)
    if parsed is None or table.get(parsed[0]) is None:
        raise InputError(
            f"the lab cannot run Kubernetes {version!r}",
            hint=f"supported: {', '.join(table.minors)} (a minor, or with a patch: "
            f"{table.default.patch})",
        )


def _settings(options: LabOptions) -> LabSettings:
    binary = etcd_binary()
    if options.etcd == "real" and binary is None:
        raise LabError("etcd is not installed", hint="sudo apt-get install -y etcd-server")
    kind = "standin" if options.etcd == "standin" or binary is None else "real"
    return LabSettings(
        nodes=options.nodes,
        first_address=options.first_address,
        kubernetes_version=options.kubernetes_version,
        etcd=kind,
        ready_delay_s=options.ready_delay_s,
        time_scale=options.time_scale,
        slow_s=options.slow_s,
    )


def _create_files(layout: LabLayout, options: LabOptions, progress: Progress) -> None:
    progress(f"creating {len(layout.nodes)} node(s) under {layout.root}")
    generate_key(layout.client_key, comment=f"deployer-lab@{getpass.getuser()}")
    create_lab_pki(layout.root, [LabNodeAddress(n.name, n.ip) for n in layout.nodes])
    lines = [prepare_node(layout, n).host_key_line() for n in layout.nodes]
    write_atomic(layout.known_hosts, ("\n".join(lines) + "\n").encode())
    write_atomic(layout.ssh_dir / "config", _ssh_config(layout).encode(), mode=0o600)
    write_inventory(layout, options.kubernetes_version)
    hosts = lab_hosts(layout, options.kubernetes_version)
    for node, host in zip(layout.nodes, hosts, strict=True):
        manifest = node.manifests_dir / "kube-apiserver.yaml"
        if not manifest.exists():
            write_atomic(manifest, options.manifest_factory(host), mode=0o600)
    _create_kubeadm_config(layout, hosts)


def _create_kubeadm_config(layout: LabLayout, hosts: list[Host]) -> None:
    """kube-system/kubeadm-config as ``kubeadm init`` uploads it (kept if it exists)."""
    if not layout.nodes:
        return
    store = ConfigMapStore(store_path(layout.nodes[0].root))
    if store.get("kube-system", "kubeadm-config") is not None:
        return
    version = desired_state(hosts[0])[0].kubernetes_version
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    store.create(kubeadm_config_map(version, {}), created_at=now)


def _ssh_config(layout: LabLayout) -> str:
    """An ssh_config for ``ssh -F D/ssh/config lab-cp1`` (strict host key checking)."""
    blocks = [
        f"Host {node.name}\n"
        f"    HostName {node.ip}\n"
        f"    Port {SSH_PORT}\n"
        f"    User {getpass.getuser()}\n"
        f"    IdentityFile {layout.client_key}\n"
        "    IdentitiesOnly yes\n"
        f"    UserKnownHostsFile {layout.known_hosts}\n"
        "    StrictHostKeyChecking yes\n"
        for node in layout.nodes
    ]
    return "# The deployer lab's nodes: ssh -F <this file> lab-cp1\n" + "\n".join(blocks)


def _start(layout: LabLayout, record: LabRecord, progress: Progress) -> None:
    etcd = etcd_binary() if record.settings.etcd == "real" else None
    progress(f"starting etcd ({record.settings.etcd}), sshd and kubelet on every node")
    for role in _ROLES:
        for node in layout.nodes:
            pid = start_role(layout, node, role, record.settings, etcd)
            try:
                record.record(node.name, process_record(role, pid))
            except ProcessLookupError as exc:
                log = node.process_log(role)
                tail = log.read_text(errors="replace")[-400:] if log.exists() else ""
                raise LabError(
                    f"[{node.name}] {role} exited at once: {tail.strip()}",
                    hint=f"see {log}; then `deployer lab down --dir {layout.root}`",
                ) from exc


def _last_container_lines(node: NodeLayout, count: int) -> list[str]:
    """The last log lines of the node's newest exited container (why it does not run)."""
    try:
        state = load_state(node.kubelet_state)
    except ValueError:
        return []
    exited = [c for c in state.containers if c.state == CONTAINER_EXITED]
    if not exited:
        return []
    newest = max(exited, key=lambda c: c.created_at_ns)
    try:
        lines = node.path(newest.log_path).read_text(errors="replace").splitlines()
    except OSError:
        return [f"container {newest.id[:13]} exited {newest.exit_code} ({newest.reason})"]
    text = [line.split(" ", 3)[-1] for line in lines[-count:]]
    return [f"container {newest.id[:13]} exited {newest.exit_code}:", *text]


def _preflight() -> None:
    """Fail before starting anything when a system program the lab needs is missing."""
    sshd_binary()
    if shutil.which("ssh-keygen") is None:
        raise LabError("ssh-keygen is not installed", hint="sudo apt-get install -y openssh-client")


def _wait_ready(layout: LabLayout, record: LabRecord, timeout_s: float, progress: Progress) -> None:
    progress(f"waiting for every apiserver's /readyz (up to {timeout_s:g}s)")
    deadline = time.monotonic() + timeout_s
    pending = list(layout.nodes)
    while pending:
        pending = [
            n for n in pending if not (readyz(n, timeout_s=1.0).ok and port_open(n.ip, SSH_PORT))
        ]
        if not pending:
            return
        if time.monotonic() >= deadline:
            break
        time.sleep(0.1)
    details = []
    for node in pending[:3]:
        probe = readyz(node, timeout_s=1.0)
        details.append(f"  {node.name}: /readyz {probe.status or 'no answer'} {probe.detail[:160]}")
        details.extend(f"    {line}" for line in _last_container_lines(node, 3))
    raise LabError(
        f"{len(pending)} node(s) not ready after {timeout_s:g}s:\n" + "\n".join(details),
        hint=f"look at `{layout.nodes[0].crictl} ps -a` and "
        f"{layout.nodes[0].process_log('kubelet')}; stop with `deployer lab down --dir "
        f"{layout.root}`",
    )


def lab_up(options: LabOptions, *, progress: Progress | None = None) -> LabStatus:
    """Create and start the lab, wait until every apiserver is ready, return its status.

    A lab that is already running is only reported on (``was_already_up``): nothing changes.

    Raises:
        LabError: a process could not start, or a node did not become ready in time.
        InputError: the folder holds a lab of another shape.
        LockHeld: another lab command is working on the same folder.
    """
    say = progress or (lambda _line: None)
    _check_version(options.kubernetes_version)
    root = options.root.resolve()
    existing = load_lab_record(root / "lab.json")
    if existing is not None and (
        existing.settings.nodes != options.nodes
        or existing.settings.first_address != options.first_address
    ):
        raise InputError(
            f"{root} holds a lab of {existing.settings.nodes} node(s) from "
            f"{existing.settings.first_address}",
            hint="use that shape, another --dir, or `deployer lab down --purge` first",
        )
    layout = _layout_of(root, existing, options)
    with _locked(layout):
        if existing is not None and _any_running(existing):
            return lab_status_of(layout, existing, was_already_up=True)
        _preflight()
        _check_addresses_free(layout)
        record = LabRecord(layout.state_file, _settings(options))
        record.save()
        _create_files(layout, options, say)
        _start(layout, record, say)
        _wait_ready(layout, record, options.ready_timeout_s, say)
        return lab_status_of(layout, record)


def lab_status(root: Path) -> LabStatus:
    """Probe every node of the lab at ``root``.

    Raises:
        InputError: there is no lab there.
    """
    record = load_lab_record(root.resolve() / "lab.json")
    if record is None:
        raise InputError(f"no lab at {root}", hint=f"create one: deployer lab up --dir {root}")
    return lab_status_of(_layout_of(root.resolve(), record, None), record)


def lab_down(root: Path, *, purge: bool = False, progress: Progress | None = None) -> int:
    """Stop every process the lab started (by pid and start time); return how many.

    Raises:
        LabError: a process or a listening port is still there afterwards.
    """
    root = root.resolve()
    record = load_lab_record(root / "lab.json")
    if record is None and not root.exists():
        return 0
    layout = _layout_of(root, record, None) if record is not None else None
    # Without lab.json (an `up` killed before writing it) the lock file is all the lab there is.
    with _locked(layout or lab_layout(root, 1)):
        return stop_lab(root, layout, record, purge=purge, progress=progress or (lambda _l: None))


def lab_fault(root: Path, node_name: str, fault: str, *, clear: bool = False) -> dict[str, bool]:
    """Switch a fault on (or off with ``clear``) on one node; return its switches.

    Process faults stop (or restart) that process by pid; certificate faults replace a PKI file
    (``cert_faults``); the others are read by the apiserver stand-in (``apiserver-crash``/
    ``apiserver-slow`` at its next start, ``readyz-fail`` at once).

    Raises:
        LabError: a process did not restart.
        InputError: no lab at ``root``, unknown node or fault.
    """
    root = root.resolve()
    record = load_lab_record(root / "lab.json")
    if record is None:
        raise InputError(f"no lab at {root}", hint=f"create one: deployer lab up --dir {root}")
    layout = _layout_of(root, record, None)
    node = layout.node(node_name)
    with _locked(layout):
        switches = set_fault(node.faults_file, fault, is_on=not clear)
        if fault in FILE_FAULTS:
            switch_file_fault(root, node, fault, is_on=not clear)
            return switches
        role = PROCESS_FAULTS.get(fault)
        if role is None:
            return switches
        current = record.processes.get(node.name, {}).get(role)
        if not clear and current is not None:
            stop_processes([current], grace_s=5.0)
            record.forget(node.name, role)
        elif clear and (current is None or not is_running(current)):
            etcd = etcd_binary() if record.settings.etcd == "real" else None
            pid = start_role(layout, node, role, record.settings, etcd)
            try:
                process = process_record(role, pid)
            except ProcessLookupError:
                process = None
            if process is not None:
                record.record(node.name, process)
            deadline = time.monotonic() + 15.0
            while process is not None and not role_is_up(node, role, pid):
                if not is_running(process) or time.monotonic() >= deadline:
                    process = None
                    break
                time.sleep(0.05)
            if process is None:
                raise LabError(
                    f"[{node.name}] {role} did not come back", hint=f"see {node.process_log(role)}"
                )
        return switches
