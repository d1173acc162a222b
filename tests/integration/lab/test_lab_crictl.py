"""The node's compiled crictl answers through the kubelet's CRI socket with the standalone bytes."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from deployer.lab.crictl.server import socket_path
from deployer.lab.testing import LabHandle, running_lab

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabHandle]:
    with running_lab(tmp_path_factory.mktemp("crictl"), nodes=1, first_address="127.0.33.1") as h:
        yield h


def _run(program: Path, *args: str) -> tuple[int, str, str]:
    result = subprocess.run(
        [str(program), *args], capture_output=True, text=True, timeout=30, check=False
    )
    return result.returncode, result.stdout, result.stderr


#: The time a crictl error line carries: logrus' ``time="..."`` field or Go's log prefix
#: ``2006/01/02 15:04:05``. Two calls may straddle a second, so only the rest is compared.
_STAMP = re.compile(r'^(?:time="[^"]*" |\d{4}/\d\d/\d\d \d\d:\d\d:\d\d )')


def _without_stamps(text: str) -> str:
    """crictl's error lines carry the time of the call; the rest must be equal."""
    return "\n".join(_STAMP.sub("", line) for line in text.splitlines())


def test_socket_path_and_standalone_print_the_same(lab: LabHandle) -> None:
    node = lab.nodes[0]
    fast, standalone = node.crictl, node.crictl.with_name("crictl-py")
    assert socket_path(node.root).is_socket()
    assert fast.read_bytes()[:4] == b"\x7fELF"  # compiled, not the Python script
    running = lab.running_apiserver(node.name)
    assert running is not None
    cid = str(running["id"])
    calls = [
        ("ps", "-a", "-o", "json", "--name", "^kube-apiserver$"),
        ("ps", "-q", "--state", "running", "--name", "^kube-apiserver$"),
        ("inspect", cid),
        ("inspect", cid[:12], cid),
        ("inspect", "--state", "running", "--name", "^kube-apiserver$"),
        ("pods", "-o", "json"),
        ("ps", "--state", "sleeping"),
        ("ps", "--bogus"),
        ("inspect", "deadbeef"),
        ("version",),
    ]
    for call in calls:
        code, out, err = _run(fast, *call)
        expected = _run(standalone, *call)
        assert (code, out, _without_stamps(err)) == (
            expected[0],
            expected[1],
            _without_stamps(expected[2]),
        ), call
    assert _run(fast, "ps", "-q")[1].split() == [cid]
    # The log grows while the apiserver runs: its first lines (klog goes to stderr) must agree.
    head = [_run(program, "logs", cid)[2].splitlines()[:5] for program in (fast, standalone)]
    assert head[0] == head[1]
    assert len(head[0]) == 5


def test_the_socket_answers_without_the_standalone_crictl(lab: LabHandle) -> None:
    node = lab.nodes[0]
    standalone = node.crictl.with_name("crictl-py")
    moved = standalone.with_name("crictl-py.away")
    standalone.rename(moved)
    try:
        code, out, _ = _run(node.crictl, "ps", "-q")
    finally:
        moved.rename(standalone)
    assert code == 0
    assert len(out.split()) == 1
