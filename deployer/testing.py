"""Test helpers shipped with deployer: a scripted transport that fails on surprises.

Modelled on ``fabric.testing``: a test scripts the commands it expects (:class:`Expect`), the
files a host has and the HTTPS answers it gives; the fake answers from the script, raises at
once on a command nobody expected, and :meth:`FakeTransport.assert_all_used` (run by the
``fake_transport`` fixture at teardown) fails when an expectation was never used. Like
pyinfra's ``FakeHost``, it refuses inputs a real host could never accept, such as relative
paths, so phases cannot pass tests with calls that would fail in production.

Use in a test module or conftest::

    from deployer.testing import fake_transport  # noqa: F401 - a pytest fixture

    def test_reads_manifest(fake_transport):
        fake_transport.expect(Expect(argv=("crictl", "ps"), stdout="[]"))
        ...
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath

import pytest

from deployer.errors import CommandFailed, DeployerError
from deployer.model.host import Host
from deployer.model.report import CommandResult
from deployer.transport.command import check_argv
from deployer.transport.https import HttpResult
from deployer.transport.scripts import check_remote_path

__all__ = [
    "CommandAnswer",
    "Expect",
    "ExpectHttps",
    "FakeTransport",
    "HttpResult",
    "PutRecord",
    "UnexpectedCall",
    "fake_transport",
]


class UnexpectedCall(AssertionError):
    """The code under test did something the test did not script."""


@dataclass(frozen=True, slots=True)
class Expect:
    """One scripted command, matched in order against :meth:`FakeTransport.run` calls."""

    argv: Sequence[str]
    stdout: str = ""
    stderr: str = ""
    exit_code: int = 0
    #: ``None``: either; otherwise the call's ``sudo`` must equal it.
    sudo: bool | None = None
    #: ``None``: not checked; otherwise the call's stdin must equal it.
    stdin: bytes | None = None
    #: Raised instead of answering (e.g. an ``UnreachableError`` mid-run).
    error: DeployerError | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "argv", check_argv(self.argv))


#: A rule's answer to a command: called with the argv and stdin, returns what the host says.
CommandAnswer = Callable[[tuple[str, ...], bytes | None], Expect]


@dataclass(frozen=True, slots=True)
class ExpectHttps:
    """One scripted HTTPS answer for ``(address, port, path)``, used once, in order."""

    address: str
    port: int
    path: str
    status: int = 200
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    #: Raised instead of answering (e.g. a ``TransportError`` for a refused connection).
    error: DeployerError | None = None


@dataclass(frozen=True, slots=True)
class PutRecord:
    """One :meth:`FakeTransport.put_atomic` call, for assertions."""

    path: PurePosixPath
    content: bytes
    mode: int
    sudo: bool


class FakeTransport:
    """A scripted :class:`deployer.transport.base.Transport` for unit tests.

    >>> fake = FakeTransport(Host("cp1", "10.0.0.1"))
    >>> fake.expect(Expect(argv=["hostname"], stdout="cp1"))
    >>> fake.run(["hostname"]).stdout
    'cp1'
    >>> fake.assert_all_used()
    """

    def __init__(
        self,
        host: Host,
        *,
        files: Mapping[str | PurePosixPath, bytes] | None = None,
        expects: Iterable[Expect] = (),
        https: Iterable[ExpectHttps] = (),
    ) -> None:
        self.host = host
        self._lock = threading.Lock()
        self._expects: deque[Expect] = deque(expects)
        self._https: list[ExpectHttps] = list(https)
        #: Host path -> content; put_atomic writes here, read reads from here.
        self.files: dict[PurePosixPath, bytes] = {}
        for path, content in (files or {}).items():
            self.files[check_remote_path(PurePosixPath(path))] = content
        #: Every command run, in order (argv as given, before any sudo wrapping).
        self.calls: list[tuple[str, ...]] = []
        #: Every atomic write, in order.
        self.puts: list[PutRecord] = []
        #: Every HTTPS request: (method, path, body).
        self.requests: list[tuple[str, str, bytes | None]] = []
        self.closed = False
        #: How many times :meth:`reconnect` was called.
        self.reconnects = 0
        #: Raised by the next :meth:`reconnect` calls, in order (a host that stays away).
        self.reconnect_errors: deque[DeployerError] = deque()
        #: put_atomic call number (1-based, failed calls counted) -> the error it raises
        #: instead of writing: the target stays as it was, as the real transport leaves it
        #: (its dot temp file removed), so a test can fail a set half-way.
        self.put_failures: dict[int, DeployerError] = {}
        self._put_calls = 0
        self._rules: list[tuple[Callable[[tuple[str, ...]], bool], CommandAnswer]] = []
        self._https_rules: list[tuple[str, Callable[[str], HttpResult]]] = []
        self._surprises: list[str] = []

    # -- scripting --------------------------------------------------------------------------

    def expect(self, *expects: Expect) -> None:
        """Append commands to the script."""
        with self._lock:
            self._expects.extend(expects)

    def respond(self, match: Callable[[tuple[str, ...]], bool], answer: CommandAnswer) -> None:
        """Answer every command ``match`` accepts with ``answer`` (a host that behaves).

        Scripted :class:`Expect` entries come first: a rule answers only a command that is
        not the next one scripted. A command neither scripted nor ruled is still a surprise.
        """
        with self._lock:
            self._rules.append((match, answer))

    def respond_https(self, path_prefix: str, answer: Callable[[str], HttpResult]) -> None:
        """Answer every HTTPS request whose path starts with ``path_prefix`` not scripted."""
        with self._lock:
            self._https_rules.append((path_prefix, answer))

    def expect_https(self, *answers: ExpectHttps) -> None:
        """Append HTTPS answers to the script."""
        with self._lock:
            self._https.extend(answers)

    def assert_all_used(self) -> None:
        """Fail if a scripted command or answer was never used, or a surprise happened.

        Raises:
            UnexpectedCall: with every unused expectation and every surprise listed.
        """
        problems = list(self._surprises)
        problems += [f"expected command never ran: {list(e.argv)}" for e in self._expects]
        problems += [
            f"expected HTTPS GET never made: {a.address}:{a.port}{a.path}" for a in self._https
        ]
        if problems:
            raise UnexpectedCall(f"[{self.host.name}] " + "\n".join(problems))

    def _surprise(self, message: str) -> UnexpectedCall:
        self._surprises.append(message)
        return UnexpectedCall(f"[{self.host.name}] {message}")

    # -- Transport --------------------------------------------------------------------------

    def run(
        self,
        argv: Sequence[str],
        *,
        sudo: bool = False,
        stdin: bytes | None = None,
        ok_exit_codes: Collection[int] = (0,),
        timeout_s: float = 60.0,
    ) -> CommandResult:
        """Answer from the next :class:`Expect`; raise :class:`UnexpectedCall` on a mismatch.

        Raises:
            CommandFailed: the scripted exit code is not in ``ok_exit_codes``.
            UnexpectedCall: the command is not the next one scripted.
        """
        items = check_argv(argv)
        if timeout_s <= 0:
            raise ValueError("timeout_s must be positive")
        with self._lock:
            if self.closed:
                raise self._surprise(f"command after close(): {list(items)}")
            self.calls.append(items)
            head = self._expects[0] if self._expects else None
            rule = next((a for m, a in self._rules if m(items)), None)
            if head is None or tuple(head.argv) != items:
                if rule is None:
                    nxt = f"; next expected: {list(head.argv)}" if head else ""
                    raise self._surprise(f"unexpected command: {list(items)}{nxt}")
                expected = None
            else:
                expected = head
                if expected.sudo is not None and expected.sudo != sudo:
                    raise self._surprise(f"{list(items)}: sudo={sudo}, expected {expected.sudo}")
                if expected.stdin is not None and expected.stdin != (stdin or b""):
                    raise self._surprise(f"{list(items)}: stdin differs from the expected bytes")
                self._expects.popleft()
        if expected is None:
            assert rule is not None  # noqa: S101 - checked above, under the lock
            expected = rule(items, stdin)
        if expected.error is not None:
            raise expected.error
        result = CommandResult(
            host=self.host.name,
            argv=items,
            exit_code=expected.exit_code,
            stdout=expected.stdout,
            stderr=expected.stderr,
            duration_s=0.0,
        )
        if expected.exit_code not in ok_exit_codes:
            raise CommandFailed(
                host=self.host.name,
                argv=items,
                exit_code=expected.exit_code,
                stderr=expected.stderr,
            )
        return result

    def read(self, path: PurePosixPath, *, sudo: bool = True) -> bytes | None:
        """Return the scripted file, or ``None``.

        Raises:
            ValueError: a relative path.
        """
        return self.files.get(check_remote_path(path))

    def put_atomic(
        self, content: bytes, path: PurePosixPath, *, mode: int = 0o600, sudo: bool = True
    ) -> None:
        """Record the write and make it visible to :meth:`read`.

        Raises:
            DeployerError: the call's number is in :attr:`put_failures`.
            ValueError: a relative path, a mode out of range, or content that is not bytes.
        """
        p = check_remote_path(path)
        if not 0 <= mode <= 0o7777:
            raise ValueError(f"mode out of range: {oct(mode)}")
        if not isinstance(content, bytes):
            raise ValueError(f"content must be bytes, not {type(content).__name__}")
        with self._lock:
            if self.closed:
                raise self._surprise(f"put_atomic after close(): {p}")
            self._put_calls += 1
            failure = self.put_failures.get(self._put_calls)
            if failure is not None:
                raise failure
            self.puts.append(PutRecord(p, content, mode, sudo))
            self.files[p] = content

    def https_get(
        self,
        address: str,
        port: int,
        path: str,
        *,
        ca_pem: bytes,
        client_cert_pem: bytes | None = None,
        client_key_pem: bytes | None = None,
        server_name: str | None = None,
        timeout_s: float = 10.0,
        method: str = "GET",
        body: bytes | None = None,
    ) -> HttpResult:
        """Answer from the first scripted :class:`ExpectHttps` for this URL.

        Raises:
            ValueError: no CA given, a path without ``/``, or a port out of range.
            UnexpectedCall: nothing scripted for this URL.
        """
        if not ca_pem:
            raise ValueError("https_get needs the CA to verify the server against")
        if not path.startswith("/") or not 0 < port < 65536:
            raise ValueError(f"impossible URL: {address}:{port}{path}")
        scripted: ExpectHttps | None = None
        ruled: Callable[[str], HttpResult] | None = None
        with self._lock:
            self.requests.append((method, path, body))
            for index, candidate in enumerate(self._https):
                if (candidate.address, candidate.port, candidate.path) == (address, port, path):
                    scripted = self._https.pop(index)
                    break
            else:
                ruled = next((a for pre, a in self._https_rules if path.startswith(pre)), None)
                if ruled is None:
                    raise self._surprise(f"unexpected HTTPS GET: {address}:{port}{path}")
        if scripted is None:
            assert ruled is not None  # noqa: S101 - checked above, under the lock
            return ruled(path)
        answer = scripted
        if answer.error is not None:
            raise answer.error
        headers = {k.lower(): v for k, v in answer.headers.items()}
        return HttpResult(status=answer.status, headers=headers, body=answer.body)

    def close(self) -> None:
        """Mark the fake closed; later calls are surprises."""
        self.closed = True

    def reconnect(self) -> None:
        """Count a reconnection (the script goes on); raise the next scripted error if any.

        Raises:
            DeployerError: the next of :attr:`reconnect_errors`.
        """
        with self._lock:
            if self.closed:
                raise self._surprise("reconnect after close()")
            self.reconnects += 1
            if self.reconnect_errors:
                raise self.reconnect_errors.popleft()


@pytest.fixture
def fake_transport() -> Iterator[FakeTransport]:
    """A :class:`FakeTransport` for host ``cp1`` that must have used its whole script."""
    fake = FakeTransport(Host("cp1", "192.0.2.11"))
    yield fake
    fake.assert_all_used()
