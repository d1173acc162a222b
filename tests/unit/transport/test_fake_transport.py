"""The scripted FakeTransport shipped in deployer.testing: strict about surprises."""

from __future__ import annotations

from pathlib import PurePosixPath

import pytest

from deployer.errors import CommandFailed, TransportError, UnreachableError
from deployer.model.host import Host
from deployer.testing import (
    Expect,
    ExpectHttps,
    FakeTransport,
    UnexpectedCall,
    fake_transport,  # noqa: F401 - the fixture under test
)
from deployer.transport.base import Transport

MANIFEST = PurePosixPath("/etc/kubernetes/manifests/kube-apiserver.yaml")


def _fake() -> FakeTransport:
    return FakeTransport(Host("cp1", "192.0.2.11"))


def test_fixture_gives_a_fake_that_satisfies_the_protocol(
    fake_transport: FakeTransport,  # noqa: F811 - pytest injects the imported fixture
) -> None:
    as_protocol: Transport = fake_transport
    fake_transport.expect(Expect(argv=["hostname"], stdout="cp1\n"))
    assert as_protocol.run(["hostname"]).stdout == "cp1\n"


def test_scripted_commands_answer_in_order() -> None:
    fake = _fake()
    fake.expect(
        Expect(argv=["crictl", "ps"], stdout="[]"),
        Expect(argv=("crictl", "inspect", "abc"), exit_code=1, stderr="not found"),
    )
    assert fake.run(["crictl", "ps"]).stdout == "[]"
    result = fake.run(["crictl", "inspect", "abc"], ok_exit_codes=(0, 1))
    assert (result.exit_code, result.stderr) == (1, "not found")
    assert fake.calls == [("crictl", "ps"), ("crictl", "inspect", "abc")]
    fake.assert_all_used()


def test_scripted_failure_raises_command_failed_like_a_real_transport() -> None:
    fake = _fake()
    fake.expect(Expect(argv=["false"], exit_code=1, stderr="boom"))
    with pytest.raises(CommandFailed, match="boom"):
        fake.run(["false"])


def test_scripted_error_is_raised() -> None:
    fake = _fake()
    fake.expect(Expect(argv=["true"], error=UnreachableError("gone", host="cp1")))
    with pytest.raises(UnreachableError):
        fake.run(["true"])


def test_unexpected_command_fails_at_once_and_at_teardown() -> None:
    fake = _fake()
    fake.expect(Expect(argv=["a"]))
    with pytest.raises(UnexpectedCall, match=r"unexpected command: \['b'\]"):
        fake.run(["b"])
    with pytest.raises(UnexpectedCall, match="unexpected command"):
        fake.assert_all_used()


def test_unused_expectation_fails_teardown() -> None:
    fake = _fake()
    fake.expect(Expect(argv=["never", "run"]))
    with pytest.raises(UnexpectedCall, match=r"never ran: \['never', 'run'\]"):
        fake.assert_all_used()


def test_sudo_and_stdin_are_checked_when_scripted() -> None:
    fake = _fake()
    fake.expect(Expect(argv=["tee", "/x"], sudo=True, stdin=b"data"))
    with pytest.raises(UnexpectedCall, match="sudo"):
        fake.run(["tee", "/x"], sudo=False, stdin=b"data")
    fake2 = _fake()
    fake2.expect(Expect(argv=["tee", "/x"], stdin=b"data"))
    with pytest.raises(UnexpectedCall, match="stdin"):
        fake2.run(["tee", "/x"], stdin=b"other")


def test_files_are_read_and_written_atomically_with_records() -> None:
    fake = FakeTransport(Host("cp1", "192.0.2.11"), files={str(MANIFEST): b"old"})
    assert fake.read(MANIFEST) == b"old"
    fake.put_atomic(b"new", MANIFEST, mode=0o600)
    assert fake.read(MANIFEST) == b"new"
    assert fake.read(PurePosixPath("/absent")) is None
    assert [(p.path, p.content, p.mode, p.sudo) for p in fake.puts] == [
        (MANIFEST, b"new", 0o600, True)
    ]


@pytest.mark.parametrize(
    "call",
    [
        lambda f: f.read(PurePosixPath("etc/kubernetes")),
        lambda f: f.put_atomic(b"x", PurePosixPath("relative.yaml")),
        lambda f: f.put_atomic(b"x", MANIFEST, mode=0o100000),
        lambda f: f.put_atomic("text", MANIFEST),
        lambda f: f.run("ls -l"),
        lambda f: f.run([]),
        lambda f: f.https_get("10.0.0.1", 6443, "readyz", ca_pem=b"ca"),
        lambda f: f.https_get("10.0.0.1", 6443, "/readyz", ca_pem=b""),
    ],
    ids=[
        "relative-read",
        "relative-put",
        "bad-mode",
        "str-content",
        "shell-string",
        "empty-argv",
        "path-without-slash",
        "no-ca",
    ],
)
def test_impossible_inputs_are_rejected(call: object) -> None:
    fake = _fake()
    with pytest.raises(ValueError):  # noqa: PT011 - each case has its own message
        call(fake)  # type: ignore[operator]


def test_https_answers_are_scripted_per_url_and_used_once() -> None:
    fake = _fake()
    fake.expect_https(
        ExpectHttps("10.0.0.11", 6443, "/readyz", status=500, body=b"[-]etcd failed"),
        ExpectHttps("10.0.0.11", 6443, "/readyz", status=200, body=b"ok"),
        ExpectHttps("10.0.0.11", 6443, "/livez", error=TransportError("refused", host="cp1")),
    )
    first = fake.https_get("10.0.0.11", 6443, "/readyz", ca_pem=b"ca")
    second = fake.https_get("10.0.0.11", 6443, "/readyz", ca_pem=b"ca")
    assert (first.status, second.status, second.body) == (500, 200, b"ok")
    with pytest.raises(TransportError):
        fake.https_get("10.0.0.11", 6443, "/livez", ca_pem=b"ca")
    with pytest.raises(UnexpectedCall, match="unexpected HTTPS GET"):
        fake.https_get("10.0.0.11", 6443, "/readyz", ca_pem=b"ca")


def test_unused_https_answer_fails_teardown() -> None:
    fake = _fake()
    fake.expect_https(ExpectHttps("10.0.0.11", 6443, "/version"))
    with pytest.raises(UnexpectedCall, match="never made"):
        fake.assert_all_used()


def test_use_after_close_is_a_surprise() -> None:
    fake = _fake()
    fake.close()
    with pytest.raises(UnexpectedCall, match="after close"):
        fake.run(["true"])
