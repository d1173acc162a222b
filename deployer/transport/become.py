"""``ansible_become`` on one connection: when to wrap a command in sudo, and what to send it.

Why apart from the SSH executor: the decision has three inputs (the step asks for privilege,
the inventory enables become, the login user is not already the target user), and what goes
on stdin is decided by what sudo itself says, command by command. Keeping it here keeps
:mod:`deployer.transport.ssh` about moving bytes.

The rule this module exists for: **stdin carries the password only after sudo asked for it,
and the payload only after the command started.** Sudoers rules differ per command
(``NOPASSWD`` for a few commands is common), so a password is never sent on the strength of
an earlier probe: every escalated command runs as ``sudo -k -S -p <prompt>``, with a prompt
random per connection. When that prompt shows up on stderr, the password goes to sudo; a
command with a payload is wrapped so that it first writes a random "started" marker to stderr,
and the payload is sent only after that marker. A second prompt means the password was
refused: stdin is closed and nothing more is sent, so a wrong password fails the command and
can never end up in a file.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from deployer.errors import UnreachableError
from deployer.model.host import Secret
from deployer.transport.command import announce_argv, become_argv
from deployer.transport.options import SshOptions, become_password

__all__ = ["Become", "Escalated", "SudoExchange"]


class SudoExchange:
    """The stdin side of one escalated command, driven by the stderr sudo writes.

    Feed it every stderr chunk (:meth:`on_stderr`) and every stdout chunk (:meth:`on_stdout`);
    each call returns the bytes to send now and whether stdin is finished. :meth:`stderr`
    returns what the command (and sudo's own messages) wrote, without prompts and markers.
    """

    def __init__(
        self,
        *,
        prompt: bytes,
        marker: bytes | None,
        payload: bytes | None,
        password: Callable[[], Secret],
    ) -> None:
        self._prompt = prompt
        #: The line the announcing wrapper writes; ``None`` for a command without payload.
        self._marker = None if marker is None else marker + b"\n"
        self._payload = payload or b""
        self._password = password
        self._pending = bytearray()  # stderr not yet known to be past sudo's dialogue
        self._stderr = bytearray()
        self._started = False
        self._closed = False
        #: How many times sudo asked (2 or more: the password was refused).
        self.prompts = 0

    @property
    def refused(self) -> bool:
        """True when sudo asked again after the password was sent (wrong password)."""
        return self.prompts > 1

    @property
    def started(self) -> bool:
        """True once the command itself runs (marker seen), for commands with a payload."""
        return self._started

    def _close(self, data: bytes = b"") -> tuple[bytes, bool]:
        if self._closed:
            return b"", False
        self._closed = True
        return data, True

    def on_stdout(self, chunk: bytes) -> tuple[bytes, bool]:
        """Output on stdout comes from the command only: sudo is done with stdin."""
        if chunk and self._marker is None and not self._closed:
            return self._close()
        return b"", False

    def on_stderr(self, chunk: bytes) -> tuple[bytes, bool]:
        """Consume a stderr chunk; return (bytes to send, whether to close stdin after them).

        Raises:
            UnreachableError: sudo asks for a password and none is available (from the
                password callback).
        """
        if self._started:
            self._stderr += chunk
            return b"", False
        self._pending += chunk
        send = bytearray()
        close = False
        while True:
            at_prompt = self._pending.find(self._prompt)
            at_marker = -1 if self._marker is None else self._pending.find(self._marker)
            if at_prompt >= 0 and (at_marker < 0 or at_prompt < at_marker):
                self._stderr += self._pending[:at_prompt]
                del self._pending[: at_prompt + len(self._prompt)]
                self.prompts += 1
                if self.prompts == 1 and not self._closed:
                    line = self._password().value.encode() + b"\n"
                    if self._marker is None:  # nothing else will follow the password
                        data, close = self._close(line)
                        send += data
                    else:
                        send += line
                else:  # refused: never send the payload, let sudo fail on end of input
                    data, now = self._close()
                    send += data
                    close = close or now
                continue
            if at_marker >= 0 and self._marker is not None:
                self._stderr += self._pending[:at_marker]
                self._stderr += self._pending[at_marker + len(self._marker) :]
                self._pending.clear()
                self._started = True
                if not self.refused:
                    data, now = self._close(self._payload)
                    send += data
                    close = close or now
            break
        return bytes(send), close

    def stderr(self) -> bytes:
        """What was written to stderr, less sudo's prompts and the start marker."""
        return bytes(self._stderr + self._pending)


@dataclass(frozen=True, slots=True)
class Escalated:
    """A command ready to send: the argv, and the exchange that drives its stdin (or None)."""

    argv: tuple[str, ...]
    #: ``None`` when the command does not go through sudo (stdin is the payload as is).
    exchange: SudoExchange | None


class Become:
    """Privilege escalation for one host's connection; asks for the password when sudo does."""

    def __init__(self, options: SshOptions, host_name: str) -> None:
        self._options = options
        self._host = host_name
        self._password: Secret | None = None
        self._password_lock = threading.Lock()
        # Random per connection: no command output can forge it, and no '%' (sudo escapes).
        self._prompt = f"[deployer-sudo-{secrets.token_hex(8)}] password: "

    def escalates(self, sudo: bool, login_user: str) -> bool:
        """True when a step asking for ``sudo`` must go through sudo on this connection."""
        return sudo and self._options.become and login_user != self._options.become_user

    def as_root(self, sudo: bool, login_user: str) -> bool:
        """True when such a step runs as root (so written files can be chowned root:root)."""
        if self.escalates(sudo, login_user):
            return self._options.become_user == "root"
        return login_user == "root"

    def password(self) -> Secret:
        """Return the sudo password, asking the environment or the prompt once per connection.

        Called only when sudo has printed its prompt for a command.

        Raises:
            UnreachableError: neither the environment variable nor the prompt gave one.
        """
        with self._password_lock:
            if self._password is None:
                self._password = become_password(self._options, self._host)
            if self._password is None:
                user = self._options.become_user
                raise UnreachableError(
                    f"sudo on this host needs a password to become {user}",
                    host=self._host,
                    hint=f"set {self._options.become_password_env} in the environment, or "
                    "allow the prompt; never put it in the inventory",
                )
            return self._password

    def wrap(
        self, argv: Sequence[str], *, sudo: bool, login_user: str, payload: bytes | None
    ) -> Escalated:
        """Return the command to send for ``argv`` and, when it escalates, its stdin exchange.

        Raises:
            ValueError: ``argv`` is not a valid command (see ``check_argv``).
        """
        items = tuple(argv)
        if not self.escalates(sudo, login_user):
            return Escalated(items, None)
        marker: str | None = None
        if payload:
            marker = f"deployer-started-{secrets.token_hex(8)}"
            items = announce_argv(items, marker)
        wrapped = become_argv(items, user=self._options.become_user, prompt=self._prompt)
        exchange = SudoExchange(
            prompt=self._prompt.encode(),
            marker=None if marker is None else marker.encode(),
            payload=payload,
            password=self.password,
        )
        return Escalated(wrapped, exchange)
