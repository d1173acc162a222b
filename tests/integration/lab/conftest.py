"""Fixtures of the lab's integration tests.

The test process makes itself a child subreaper: processes orphaned by a killed kubelet or a
killed ``deployer lab up`` are then re-parented here (not to this machine's pid 1, which does
not reap), so ``lab down`` collects them and none is left as a zombie.
"""

from __future__ import annotations

import ctypes
import itertools
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from lab_kubelet_support import make_kubelet

from deployer.lab.kubelet.sync import Kubelet

_PR_SET_CHILD_SUBREAPER = 36
_ADDRESSES = itertools.count(40)


@pytest.fixture(scope="session", autouse=True)
def _subreaper() -> None:
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


@pytest.fixture
def first_address() -> str:
    """A /24 of its own for each lab of this session (127.0.40.1, 127.0.41.1, ...)."""
    return f"127.0.{next(_ADDRESSES)}.1"


@pytest.fixture
def kubelet(tmp_path: Path) -> Iterator[Kubelet]:
    """A kubelet stand-in driven in-process; its containers are stopped afterwards."""
    instance = make_kubelet(tmp_path / "node")
    yield instance
    from deployer.lab.kubelet.records import CONTAINER_RUNNING
    from deployer.lab.procs import ProcessRecord, stop_processes

    stop_processes(
        [
            ProcessRecord("container", c.pid, c.pid_start_time)
            for c in instance.state.containers
            if c.state == CONTAINER_RUNNING
        ],
        grace_s=2.0,
    )
