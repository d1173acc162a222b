"""``ansible_become`` on one connection: when to wrap a command in sudo, and with what.

Why apart from the SSH executor: the decision has three inputs (the step asks for privilege,
the inventory enables become, the login user is not already the target user) and two facts
learnt once per connection (does sudo ask for a password; which password). Keeping it here
keeps :mod:`deployer.transport.ssh` about moving bytes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from deployer.errors import UnreachableError
from deployer.model.host import Secret
from deployer.transport.command import become_argv, command_line
from deployer.transport.options import SshOptions, become_password

__all__ = ["Become"]


class Become:
    """Privilege escalation for one host's connection; learns about sudo on first use."""

    def __init__(self, options: SshOptions, host_name: str) -> None:
        self._options = options
        self._host = host_name
        self._needs_password: bool | None = None
        self._password: Secret | None = None

    def escalates(self, sudo: bool, login_user: str) -> bool:
        """True when a step asking for ``sudo`` must go through sudo on this connection."""
        return sudo and self._options.become and login_user != self._options.become_user

    def as_root(self, sudo: bool, login_user: str) -> bool:
        """True when such a step runs as root (so written files can be chowned root:root)."""
        if self.escalates(sudo, login_user):
            return self._options.become_user == "root"
        return login_user == "root"

    def wrap(
        self,
        argv: Sequence[str],
        *,
        sudo: bool,
        login_user: str,
        probe: Callable[[str], int],
    ) -> tuple[tuple[str, ...], bytes]:
        """Return the argv to send and the bytes sudo reads before the command's own stdin.

        ``probe`` runs a command line on the host and returns its exit code; it is called once
        per connection with ``sudo -n true`` to learn whether sudo wants a password (the
        password form must never be used when it does not: the password line would reach the
        command's stdin).

        Raises:
            UnreachableError: sudo needs a password and neither the environment variable nor
                the prompt gave one.
        """
        items = tuple(argv)
        if not self.escalates(sudo, login_user):
            return items, b""
        user = self._options.become_user
        if self._needs_password is None:
            check = become_argv(["true"], user=user, with_password=False)
            self._needs_password = probe(command_line(check)) != 0
        if not self._needs_password:
            return become_argv(items, user=user, with_password=False), b""
        if self._password is None:
            self._password = become_password(self._options, self._host)
        if self._password is None:
            raise UnreachableError(
                f"sudo on this host needs a password to become {user}",
                host=self._host,
                hint=f"set {self._options.become_password_env} in the environment, or allow "
                "the prompt; never put it in the inventory",
            )
        wrapped = become_argv(items, user=user, with_password=True)
        return wrapped, (self._password.value + "\n").encode()
