"""Turn one host's merged variables into a :class:`Host`: connection fields and secrets.

Why checked here: ``ansible_host``/``ansible_port``/``ansible_user`` decide where deployer
connects, so a wrong type must stop the run with the host, the variable and the file named,
before anything connects anywhere. Passwords must never sit in ``Host.vars`` as plain text,
where any report or log could print them.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from deployer.inventory.draft import Draft
from deployer.inventory.merge import Merged
from deployer.inventory.vault import VaultValue
from deployer.model.host import Host, Secret, VarOrigin

__all__ = ["SECRET_VARS", "HostBuilder", "connection_fields"]

#: Variables that hold passwords: stored as :class:`Secret`, and a warning is raised.
SECRET_VARS = (
    "ansible_password",
    "ansible_ssh_pass",
    "ansible_become_password",
    "ansible_become_pass",
)
_TRANSPORTS = {
    "ssh": "ssh",
    "paramiko": "ssh",
    "paramiko_ssh": "ssh",
    "smart": "ssh",
    "local": "local",
}


class HostBuilder:
    """Builds hosts and reports each bad value once, however many hosts share it."""

    def __init__(self, draft: Draft) -> None:
        self._draft = draft
        self._seen: set[tuple[str, str, int | None, bool]] = set()

    def _first_set(self, merged: Merged, *names: str) -> tuple[str, object] | None:
        for name in names:
            value = merged.values.get(name)
            if isinstance(value, VaultValue):  # decrypted later, only if it is needed
                return None
            if value is not None:
                return name, value
        return None

    def _report(
        self,
        host: str,
        var: str,
        origin: VarOrigin | None,
        message: str,
        hint: str,
        *,
        is_warning: bool = False,
    ) -> None:
        key = (var, origin.file if origin else "", origin.line if origin else None, is_warning)
        if key in self._seen:
            return
        self._seen.add(key)
        report = self._draft.warn if is_warning else self._draft.error
        report(
            f"variable {var}: {message}",
            file=origin.file if origin else None,
            line=origin.line if origin else None,
            host=host,
            hint=hint,
        )

    def _address(self, name: str, merged: Merged) -> str:
        found = self._first_set(merged, "ansible_host", "ansible_ssh_host")
        if found is None:
            return name
        var, value = found
        if isinstance(value, str) and value.strip():
            return value.strip()
        self._report(
            name,
            var,
            merged.origins.get(var),
            f"expected a host name or IP address, got {value!r}",
            "write ansible_host: 192.0.2.11 (or a DNS name)",
        )
        return name

    def _port(self, name: str, merged: Merged) -> int:
        found = self._first_set(merged, "ansible_port", "ansible_ssh_port")
        if found is None:
            return 22
        var, value = found
        port: int | None = None
        if isinstance(value, int) and not isinstance(value, bool):
            port = value
        elif isinstance(value, str) and value.strip().isdigit():
            port = int(value.strip())
        if port is not None and 0 < port < 65536:
            return port
        self._report(
            name,
            var,
            merged.origins.get(var),
            f"expected a port number (1-65535), got {value!r}",
            "write ansible_port: 22",
        )
        return 22

    def _user(self, name: str, merged: Merged) -> str | None:
        found = self._first_set(merged, "ansible_user", "ansible_ssh_user")
        if found is None:
            return None
        var, value = found
        if isinstance(value, str) and value.strip():
            return value.strip()
        self._report(
            name,
            var,
            merged.origins.get(var),
            f"expected a user name, got {value!r}",
            "write ansible_user: ops",
        )
        return None

    def _transport(self, name: str, merged: Merged) -> str:
        value = merged.values.get("ansible_connection")
        if value is None:
            return "ssh"
        transport = _TRANSPORTS.get(value) if isinstance(value, str) else None
        if transport is not None:
            return transport
        self._report(
            name,
            "ansible_connection",
            merged.origins.get("ansible_connection"),
            f"connection {value!r} is not supported",
            "use ssh (the default) or local",
        )
        return "ssh"

    def _hide_secrets(self, name: str, merged: Merged) -> None:
        for var in SECRET_VARS:
            value = merged.values.get(var)
            if value is None or isinstance(value, Secret | VaultValue):  # a vault value is safe
                continue
            merged.values[var] = Secret(str(value))
            self._report(
                name,
                var,
                merged.origins.get(var),
                "a password is written in clear in the inventory; it is kept masked, "
                "but anyone who can read the file can read it",
                "remove it and use SSH keys, or pass it through an environment variable",
                is_warning=True,
            )

    def host(self, name: str, groups: frozenset[str], merged: Merged) -> Host:
        """Return the frozen host for ``name`` (problems go to the draft)."""
        self._hide_secrets(name, merged)
        return Host(
            name=name,
            address=self._address(name, merged),
            port=self._port(name, merged),
            user=self._user(name, merged),
            transport=self._transport(name, merged),
            groups=groups,
            vars=MappingProxyType(merged.values),
            origins=MappingProxyType(merged.origins),
        )


def connection_fields(host: Host, values: Mapping[str, object]) -> tuple[str, int, str | None]:
    """Address, port and user of ``host`` recomputed from decrypted ``values``.

    Used after vault values were decrypted: the load kept the defaults for a vaulted
    ``ansible_host``/``ansible_port``/``ansible_user`` (it could not read them).
    """
    address, port, user = host.address, host.port, host.user
    for var in ("ansible_host", "ansible_ssh_host"):
        value = values.get(var)
        if isinstance(value, str) and value.strip():
            address = value.strip()
            break
    for var in ("ansible_port", "ansible_ssh_port"):
        value = values.get(var)
        text = str(value).strip() if isinstance(value, str | int) else ""
        if text.isdigit() and 0 < int(text) < 65536:
            port = int(text)
            break
    for var in ("ansible_user", "ansible_ssh_user"):
        value = values.get(var)
        if isinstance(value, str) and value.strip():
            user = value.strip()
            break
    return address, port, user
