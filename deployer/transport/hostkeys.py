"""Host key checks: known_hosts decides, unknown keys are refused unless the operator opts in.

Why our own policy: Fabric installs paramiko's ``AutoAddPolicy``, which trusts any key on first
use and silently. DESIGN.md rule 9 wants an unknown key refused with its fingerprint and the
command that fixes it, a changed key refused always, and trust-on-first-use only as an explicit
opt-in (``--accept-new-host-keys``) that never covers a changed key.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import threading
from pathlib import Path
from typing import Any, cast

import paramiko
from paramiko.hostkeys import HostKeyEntry, HostKeys

from deployer.errors import HostKeyError

__all__ = [
    "KnownHostsPolicy",
    "changed_key_error",
    "fingerprint",
    "known_hosts_name",
    "load_known_hosts",
]

_log = logging.getLogger(__name__)


def fingerprint(key: paramiko.PKey) -> str:
    """Return OpenSSH's ``SHA256:...`` fingerprint of ``key`` (what ``ssh-keygen -l`` shows)."""
    digest = hashlib.sha256(key.asbytes()).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


def known_hosts_name(address: str, port: int) -> str:
    """Return the name known_hosts files use: ``host`` on port 22, ``[host]:port`` otherwise."""
    return address if port == 22 else f"[{address}]:{port}"


def _split_name(name: str) -> tuple[str, int]:
    if name.startswith("[") and "]:" in name:
        host, _, port = name[1:].partition("]:")
        return host, int(port)
    return name, 22


#: Parsed known_hosts files by (path, inode, size, mtime): a run connecting to 100 hosts reads
#: and parses the file once, not once per connection (each line is a key to decode).
_PARSED: dict[str, tuple[tuple[int, int, int], HostKeys]] = {}
_PARSED_LOCK = threading.Lock()


def _parsed(path: Path) -> HostKeys:
    """The keys of ``path``, parsed once per version of the file.

    Raises:
        FileNotFoundError: no such file.
    """
    status = path.stat()
    version = (status.st_ino, status.st_size, status.st_mtime_ns)
    with _PARSED_LOCK:
        cached = _PARSED.get(str(path))
        if cached is None or cached[0] != version:
            cached = (version, HostKeys(str(path)))
            _PARSED[str(path)] = cached
        return cached[1]


def load_known_hosts(client: paramiko.SSHClient, path: Path) -> None:
    """Load ``path`` into ``client`` as the keys to check against; a missing file is empty.

    The client gets its own list of the cached entries, so a key accepted on one connection
    (``--accept-new-host-keys``) never leaks into another's checks until the file says so.
    """
    try:
        keys = _parsed(path)
    except FileNotFoundError:
        _log.debug("known_hosts %s does not exist yet", path)
        return
    # HostKeys has no public bulk copy (add() scans every entry per key); its entry list has
    # been paramiko's storage since 1.x.
    entries: list[HostKeyEntry] = cast(Any, keys)._entries
    cast(Any, client.get_host_keys())._entries.extend(entries)


def _known_hosts_line(path: Path, name: str) -> int | None:
    """Return the 1-based line of ``path`` that holds a key for ``name`` (hashed names too)."""
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return None
    for number, line in enumerate(lines, start=1):
        fields = line.split()
        if not fields or fields[0].startswith("#"):
            continue
        patterns = fields[1] if fields[0].startswith("@") and len(fields) > 1 else fields[0]
        for pattern in patterns.split(","):
            if pattern == name:
                return number
            if pattern.startswith("|1|"):
                salt = pattern.split("|")[2]
                if HostKeys.hash_host(name, salt) == pattern:
                    return number
    return None


def changed_key_error(
    *, host: str, name: str, offered: paramiko.PKey, expected: paramiko.PKey, path: Path
) -> HostKeyError:
    """Build the error for a host key that differs from the one in known_hosts."""
    line = _known_hosts_line(path, name)
    where = f"{path}:{line}" if line else str(path)
    return HostKeyError(
        f"SSH host key of {name} CHANGED: the host offers {offered.get_name()} "
        f"{fingerprint(offered)}, {where} expects {expected.get_name()} {fingerprint(expected)}. "
        "Someone may be intercepting the connection, or the host was reinstalled; "
        "nothing was done",
        host=host,
        hint=(
            "if the change is expected, verify the new fingerprint out of band, then run "
            f"ssh-keygen -f {path} -R '{name}' and connect again (--accept-new-host-keys never "
            "accepts a changed key)"
        ),
    )


class KnownHostsPolicy(paramiko.MissingHostKeyPolicy):
    """paramiko's hook for keys that known_hosts does not have: refuse, or opt-in accept.

    ``lock`` serialises appends to ``path`` when hosts connect in parallel; pass the same lock
    to every policy of a run.
    """

    def __init__(
        self, *, host: str, path: Path, accept_new: bool, lock: threading.Lock | None = None
    ) -> None:
        self._host = host
        self._path = path
        self._accept_new = accept_new
        self._lock = lock or threading.Lock()

    def missing_host_key(
        self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey
    ) -> None:
        """Refuse ``key`` with the fix to apply, or append it to known_hosts when opted in.

        Raises:
            HostKeyError: the key is unknown and the operator did not opt in.
        """
        shown = f"{key.get_name()} {fingerprint(key)}"
        if not self._accept_new:
            address, port = _split_name(hostname)
            port_arg = f"-p {port} " if port != 22 else ""
            raise HostKeyError(
                f"unknown SSH host key for {hostname}: {shown} is not in {self._path}; "
                "nothing was done",
                host=self._host,
                hint=(
                    "verify this fingerprint out of band (on the host: ssh-keygen -lf "
                    "/etc/ssh/ssh_host_*_key.pub), then run "
                    f"ssh-keyscan {port_arg}{address} >> {self._path} ; or pass "
                    "--accept-new-host-keys to trust keys seen for the first time"
                ),
            )
        line = HostKeyEntry([hostname], key).to_line() or ""
        with self._lock:
            self._path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(self._path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, line.encode())
            finally:
                os.close(fd)
        client.get_host_keys().add(hostname, key.get_name(), key)
        _log.warning(
            "[%s] accepted new SSH host key for %s: %s (added to %s)",
            self._host,
            hostname,
            shown,
            self._path,
        )
