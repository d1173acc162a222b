"""Prepare one lab node's folder and start its processes (sshd, etcd, kubelet).

Every process runs in its own session (so a terminal's Ctrl-C does not reach it), logs to
``/var/log/lab/<role>.log`` of the node, and carries ``DEPLOYER_LAB_DIR`` in its environment:
``lab down``'s last-resort sweep finds processes by that exact value, never by program name.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from deployer.lab.atomic import write_atomic, write_json_atomic
from deployer.lab.crictl.build import compile_client
from deployer.lab.etcd import start_etcd
from deployer.lab.faults import read_faults
from deployer.lab.health import port_open
from deployer.lab.interpreter import standin_flags
from deployer.lab.layout import ETCD_CLIENT_PORT, SSH_PORT, LabLayout, NodeLayout
from deployer.lab.procs import LAB_MARKER_ENV
from deployer.lab.records_file import LabSettings
from deployer.lab.sshd import SshdConfig, sshd_binary, write_sshd_config

__all__ = ["lab_env", "prepare_node", "role_is_up", "sshd_config", "start_role"]

_FOLDERS = (
    "/etc/kubernetes/manifests",
    "/etc/kubernetes/pki",
    "/etc/kubernetes/tmp",
    "/var/lib/kubelet",
    "/var/log/pods",
    "/var/log/lab",
    "/bin",
    "/run",
    "/lab",
)


def lab_env(layout: LabLayout, settings: LabSettings) -> dict[str, str]:
    """The environment of every process the lab starts."""
    env = dict(os.environ)
    env[LAB_MARKER_ENV] = str(layout.root)
    if settings.slow_s is not None:
        env["DEPLOYER_LAB_SLOW_S"] = f"{settings.slow_s:g}"
    return env


def _crictl_script(node: NodeLayout) -> str:
    argv = [sys.executable, "-m", "deployer.lab.crictl", "--state", str(node.kubelet_state)]
    return (
        "#!/bin/sh\n"
        "# crictl stand-in of the deployer lab: reads this node's kubelet state (the compiled\n"
        "# bin/crictl runs this when the kubelet stand-in does not answer on its CRI socket).\n"
        f'exec {" ".join(shlex.quote(a) for a in argv)} "$@"\n'
    )


def _kubelet_check_script(node: NodeLayout) -> str:
    pid_file = shlex.quote(str(node.path("/run/kubelet.pid")))
    return (
        "#!/bin/sh\n"
        "# The lab's `systemctl is-active --quiet kubelet`: 0 when this node's kubelet runs.\n"
        f"pid_file={pid_file}\n"
        '[ -r "$pid_file" ] || exit 3\n'
        'read -r pid start < "$pid_file" || exit 3\n'
        "# read, not $(cat ...): a builtin, so the check starts no process of its own.\n"
        'read -r stat 2>/dev/null < "/proc/$pid/stat" || exit 3\n'
        "# Fields after the command name: state is the 1st, the start time the 20th.\n"
        "rest=${stat##*) }\n"
        "# shellcheck disable=SC2086 # split the fields on purpose\n"
        "set -- $rest\n"
        '[ "$1" != Z ] || exit 3\n'
        "shift 19\n"
        '[ "$1" = "$start" ] || exit 3\n'
        "exit 0\n"
    )


def sshd_config(layout: LabLayout, node: NodeLayout) -> SshdConfig:
    """Write (or rewrite) the node's sshd configuration; the host key is kept."""
    public_key = layout.client_key.with_suffix(".pub").read_text()
    return write_sshd_config(
        node.sshd_dir,
        address=node.ip,
        port=SSH_PORT,
        client_public_key=public_key,
        session_home=node.session_home,
    )


def prepare_node(layout: LabLayout, node: NodeLayout) -> SshdConfig:
    """Create the node's folders, fault file, crictl script and sshd configuration."""
    for folder in _FOLDERS:
        node.path(folder).mkdir(parents=True, exist_ok=True)
    node.path("/etc/kubernetes/manifests").chmod(0o700)
    if not node.faults_file.exists():
        write_json_atomic(node.faults_file, read_faults(node.faults_file))
    script = _crictl_script(node).encode()
    write_atomic(node.crictl.with_name("crictl-py"), script, mode=0o755)
    client = compile_client(layout.root / "lab-bin")
    write_atomic(node.crictl, client.read_bytes() if client else script, mode=0o755)
    write_atomic(node.kubelet_check, _kubelet_check_script(node).encode(), mode=0o755)
    return sshd_config(layout, node)


def _popen(argv: list[str], node: NodeLayout, role: str, env: Mapping[str, str]) -> int:
    log = node.process_log(role)
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        process = subprocess.Popen(
            argv,
            cwd=node.root,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=out,
            start_new_session=True,
        )
    return process.pid


def role_is_up(node: NodeLayout, role: str, pid: int) -> bool:
    """Whether a started process serves: sshd/etcd listen, kubelet wrote its pid file."""
    if role == "sshd":
        return port_open(node.ip, SSH_PORT, timeout_s=0.2)
    if role == "etcd":
        return port_open(node.ip, ETCD_CLIENT_PORT, timeout_s=0.2)
    pid_file = node.path("/run/kubelet.pid")
    try:
        return pid_file.read_text().split()[0] == str(pid)
    except (OSError, IndexError):
        return False


def start_role(
    layout: LabLayout, node: NodeLayout, role: str, settings: LabSettings, etcd: Path | None
) -> int:
    """Start one of the node's processes (``sshd``, ``etcd`` or ``kubelet``); return its pid.

    The caller records the pid at once and checks readiness later, so that starting many nodes
    overlaps their start-up times.
    """
    env = lab_env(layout, settings)
    if role == "etcd":
        return start_etcd(node, binary=etcd, env=env)
    if role == "sshd":
        config = sshd_config(layout, node)
        if os.geteuid() == 0:  # as root, sshd insists on its privilege separation folder
            Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
        argv = [str(sshd_binary()), "-D", "-f", str(config.config_path), "-E", str(config.log_path)]
        return _popen(argv, node, role, env)
    if role == "kubelet":
        argv = [
            sys.executable,
            *standin_flags(),  # -E, -OO: see deployer.lab.interpreter
            "-m",
            "deployer.lab.kubelet",
            f"--node-name={node.name}",
            f"--root={node.root}",
            f"--time-scale={settings.time_scale:g}",
            f"--ready-delay={settings.ready_delay_s:g}",
        ]
        return _popen(argv, node, role, env)
    raise ValueError(f"unknown lab process role {role!r}")
