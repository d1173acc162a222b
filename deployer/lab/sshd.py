"""Run the system's OpenSSH server on a loopback address, for the lab and for tests.

Why the real sshd: deployer's SSH executor must be proven against the server operators run,
host-key checks, sftp and exit codes included. Each instance gets its own host key, config,
authorized key and session ``HOME`` (so the login shell does not run the machine's own
``.bashrc``, which costs about 0.1 s a command on this image).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from deployer.errors import LabError

__all__ = [
    "SshdConfig",
    "generate_key",
    "sshd_binary",
    "start_sshd",
    "wait_for_port",
    "write_sshd_config",
]


def sshd_binary() -> Path:
    """Return the absolute path of the system's sshd (it refuses to re-exec from a relative one).

    Raises:
        LabError: OpenSSH's server is not installed.
    """
    for candidate in ("/usr/sbin/sshd", "/usr/local/sbin/sshd"):
        if os.access(candidate, os.X_OK):
            return Path(candidate)
    found = shutil.which("sshd")
    if found:
        return Path(found).resolve()
    raise LabError(
        "OpenSSH's sshd is not installed",
        hint="install it: sudo apt-get install -y openssh-server",
    )


def generate_key(path: Path, *, comment: str = "deployer-lab") -> None:
    """Create an ed25519 key pair at ``path`` / ``path.pub`` unless it exists already."""
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)],
        check=True,
        stdout=subprocess.DEVNULL,
    )


@dataclass(frozen=True, slots=True)
class SshdConfig:
    """One sshd instance's files."""

    folder: Path
    address: str
    port: int
    host_key: Path
    authorized_keys: Path
    session_home: Path

    @property
    def config_path(self) -> Path:
        """The sshd_config this instance runs with."""
        return self.folder / "sshd_config"

    @property
    def pid_path(self) -> Path:
        """Where sshd writes its pid."""
        return self.folder / "sshd.pid"

    @property
    def log_path(self) -> Path:
        """The log sshd writes with ``-E``."""
        return self.folder / "sshd.log"

    def host_key_line(self) -> str:
        """The ``known_hosts`` line for this instance (``[addr]:port type key``)."""
        key_type, key = self.host_key.with_suffix(".pub").read_text().split()[:2]
        host = self.address if self.port == 22 else f"[{self.address}]:{self.port}"
        return f"{host} {key_type} {key}"


def write_sshd_config(
    folder: Path, *, address: str, port: int, client_public_key: str, session_home: Path
) -> SshdConfig:
    """Write a self-contained sshd configuration under ``folder``.

    The server accepts only the given public key, for the user running it, on one loopback
    address. ``StrictModes no`` because lab folders live wherever the operator puts them.
    """
    folder.mkdir(parents=True, exist_ok=True)
    session_home.mkdir(parents=True, exist_ok=True)
    host_key = folder / "ssh_host_ed25519_key"
    generate_key(host_key, comment=f"lab-host-{address}")
    authorized = folder / "authorized_keys"
    authorized.write_text(client_public_key.strip() + "\n")
    authorized.chmod(0o600)
    sftp = next(
        (
            p
            for p in ("/usr/lib/openssh/sftp-server", "/usr/libexec/openssh/sftp-server")
            if os.path.exists(p)
        ),
        "internal-sftp",
    )
    config = SshdConfig(folder, address, port, host_key, authorized, session_home)
    config.config_path.write_text(
        "\n".join(
            [
                f"ListenAddress {address}:{port}",
                f"HostKey {host_key}",
                f"PidFile {config.pid_path}",
                f"AuthorizedKeysFile {authorized}",
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no",
                "PubkeyAuthentication yes",
                "PermitRootLogin prohibit-password",
                "UsePAM no",
                "StrictModes no",
                "PrintMotd no",
                "PrintLastLog no",
                "UseDNS no",
                "MaxStartups 100:30:200",
                "MaxSessions 50",
                "AllowTcpForwarding yes",
                "LogLevel INFO",
                f"SetEnv HOME={session_home}",
                f"Subsystem sftp {sftp}",
                "",
            ]
        )
    )
    return config


def start_sshd(config: SshdConfig, *, timeout_s: float = 10.0) -> int:
    """Start sshd in the foreground of its own process and return its pid once it listens.

    Raises:
        LabError: sshd exited or did not listen within ``timeout_s``.
    """
    if os.geteuid() == 0:
        # Running as root, sshd insists on its privilege separation directory.
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    proc = subprocess.Popen(
        [str(sshd_binary()), "-D", "-f", str(config.config_path), "-E", str(config.log_path)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            log = config.log_path.read_text() if config.log_path.exists() else ""
            raise LabError(f"sshd on {config.address}:{config.port} exited: {log.strip()[-500:]}")
        if wait_for_port(config.address, config.port, timeout_s=0.05):
            return proc.pid
    proc.kill()
    proc.wait()
    raise LabError(f"sshd on {config.address}:{config.port} did not listen in {timeout_s:g}s")


def wait_for_port(address: str, port: int, *, timeout_s: float) -> bool:
    """Poll until something accepts TCP connections at ``address:port``; return whether it did."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with socket.create_connection((address, port), timeout=0.2):
                return True
        except OSError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.02)
