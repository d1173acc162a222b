"""Connect to many hosts at once, one connection each, and run read-only work in parallel.

Why: observing N hosts one after the other costs N handshakes end to end; in parallel it costs
about one. An unreachable host is a *result* here (the planner marks it ``unreachable``), not
an exception that would hide the other hosts' state. Changes never go through
:func:`run_parallel`: the applier works one host at a time (DESIGN.md rule 6).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Generic, TypeVar

from deployer.errors import DeployerError, InputProblem, InventoryError, UnreachableError
from deployer.model.host import Host
from deployer.transport.base import Transport
from deployer.transport.local import LocalTransport
from deployer.transport.options import SshOptions
from deployer.transport.ssh import SshTransport

__all__ = [
    "CLOSE_TIMEOUT_S",
    "MAX_FORKS",
    "Connections",
    "close_all",
    "connect_host",
    "connect_now",
    "make_transport",
    "ParallelResults",
    "default_forks",
    "open_transports",
    "run_parallel",
    "thread_pool",
    "unopened_transports",
    "wait_result",
]

_log = logging.getLogger(__name__)

#: Upper bound on parallel connections when ``--forks`` is not given.
MAX_FORKS = 32

T = TypeVar("T")
R = TypeVar("R")


def default_forks(host_count: int, forks: int | None = None) -> int:
    """Return the worker count: ``forks`` if given, else every host, capped at :data:`MAX_FORKS`.

    Raises:
        ValueError: ``forks`` is below 1.
    """
    if forks is not None:
        if forks < 1:
            raise ValueError("forks must be at least 1")
        return forks
    return max(1, min(host_count, MAX_FORKS))


@dataclass(frozen=True, slots=True)
class Connections:
    """Open transports by host name, and the hosts that could not be reached."""

    #: Host name -> open transport, in the order the hosts were given.
    transports: Mapping[str, Transport] = field(default_factory=dict)
    #: Host name -> why it is unreachable (exit code 5 material for the report).
    unreachable: Mapping[str, UnreachableError] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ParallelResults(Generic[R]):
    """What :func:`run_parallel` produced per host: a value or a deployer error."""

    values: Mapping[str, R] = field(default_factory=dict)
    errors: Mapping[str, DeployerError] = field(default_factory=dict)


def connect_host(
    host: Host, options: SshOptions, *, known_hosts_lock: threading.Lock | None = None
) -> Transport:
    """Open the transport a host asks for: ``transport: local`` or SSH (the default).

    Raises:
        InventoryError: the host's connection variables are invalid.
        UnreachableError: SSH set-up failed (host key included).
    """
    transport = make_transport(host, options, known_hosts_lock=known_hosts_lock)
    connect_now(transport)
    return transport


def connect_now(transport: Transport) -> None:
    """Connect a transport made by :func:`make_transport` now (a no-op once it is, or if local).

    Raises:
        UnreachableError: SSH set-up failed (host key included).
    """
    if isinstance(transport, SshTransport):
        transport.open()


def make_transport(
    host: Host, options: SshOptions, *, known_hosts_lock: threading.Lock | None = None
) -> Transport:
    """The transport a host asks for, not connected yet (it connects on first use).

    Raises:
        InventoryError: the host's connection variables are invalid.
    """
    if host.transport == "local":
        return LocalTransport(host, Path("/"))
    if host.transport != "ssh":
        raise InventoryError(
            [
                InputProblem(
                    f"unknown transport {host.transport!r}",
                    host=host.name,
                    hint="use ssh (the default) or local",
                )
            ]
        )
    return SshTransport(host, options, known_hosts_lock=known_hosts_lock)


@contextmanager
def unopened_transports(
    hosts: Sequence[Host], options: SshOptions
) -> Iterator[dict[str, Transport]]:
    """A transport per host, checked but not connected; every one opened is closed on exit.

    Why: a run that starts by observing every host in parallel connects each one in the worker
    that then observes it (:func:`deployer.rollout.observe.build_plan`), so a host's
    observation starts as soon as its own connection is up instead of after the slowest
    host's. Invalid connection variables fail here, for every host before any connection.

    Raises:
        InventoryError: a host's connection variables are invalid.
    """
    lock = threading.Lock()
    built = {h.name: make_transport(h, options, known_hosts_lock=lock) for h in hosts}
    try:
        yield dict(built)
    finally:
        # All of them: one still connecting in a worker (after an interrupt) holds its lock, and
        # its close then waits for the connection to be up (bounded by close_all) and closes it.
        close_all(list(built.values()))


@contextmanager
def open_transports(
    hosts: Sequence[Host],
    options: SshOptions,
    *,
    forks: int | None = None,
    connect: Callable[[Host], Transport] | None = None,
) -> Iterator[Connections]:
    """Connect to every host in parallel; close every connection on exit.

    ``connect`` replaces :func:`connect_host` (tests pass fakes). Errors other than
    :class:`UnreachableError` (an invalid inventory, a bug) close what was opened and propagate.

    Raises:
        InventoryError: a host's connection variables are invalid.
    """
    lock = threading.Lock()
    opener = connect or (lambda h: connect_host(h, options, known_hosts_lock=lock))
    opened: dict[str, Transport] = {}
    unreachable: dict[str, UnreachableError] = {}
    try:
        with thread_pool(default_forks(len(hosts), forks), "deployer-connect") as pool:
            futures = [(h, pool.submit(opener, h)) for h in hosts]
            failure: BaseException | None = None
            for host, future in futures:
                try:
                    opened[host.name] = wait_result(future)
                except UnreachableError as err:
                    _log.debug("[%s] unreachable: %s", host.name, err.message)
                    unreachable[host.name] = err
                except (KeyboardInterrupt, SystemExit):
                    # Stop now, not after every connection attempt: what is still connecting
                    # is closed as soon as it is done.
                    for _, pending in futures:
                        pending.add_done_callback(_close_result)
                    raise
                except BaseException as err:  # keep collecting so every opened one is closed
                    failure = failure or err
            if failure is not None:
                raise failure
        yield Connections(transports=dict(opened), unreachable=unreachable)
    finally:
        close_all(list(opened.values()))


#: How long closing the connections may take before the run goes on without them.
CLOSE_TIMEOUT_S = 3.0


def close_all(transports: Sequence[Transport], timeout_s: float = CLOSE_TIMEOUT_S) -> None:
    """Close every transport at once, waiting at most ``timeout_s`` for all of them.

    Why bounded: a second Ctrl-C raises KeyboardInterrupt wherever the main thread is, and
    paramiko can be left holding a lock of its own there (``clear_to_send_lock``), so a polite
    close of that connection would wait forever. The run has nothing left to say to a host by
    then; its socket goes when the process ends.
    """
    threads = [
        threading.Thread(target=t.close, name="deployer-close", daemon=True) for t in transports
    ]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout_s
    for thread, transport in zip(threads, transports, strict=True):
        thread.join(max(0.0, deadline - time.monotonic()))
        if thread.is_alive():
            _log.debug("[%s] closing the connection did not finish", transport.host.name)


@contextmanager
def thread_pool(workers: int, prefix: str) -> Iterator[ThreadPoolExecutor]:
    """A thread pool that an interrupt (or any error) does not wait for.

    ``with ThreadPoolExecutor()`` joins every worker on the way out, so a Ctrl-C during
    connections or observation would wait for each network timeout. Here an exception returns
    at once; running workers finish on their own (the command line exits without joining
    them). ``shutdown`` is not called on that path: an interrupt that landed inside
    ``submit`` may have left the pool's internal lock held, and shutdown would wait for it.
    """
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=prefix)
    yield pool  # an exception from the body propagates from here, without a shutdown
    pool.shutdown(wait=True)


def wait_result(future: Future[R]) -> R:
    """``future.result()``, waiting in short slices so the main thread sees signals.

    A process-directed signal may be delivered to any thread; if it lands on a worker while
    the main thread sleeps in an untimed lock wait, the main thread is not woken and the
    Ctrl-C/SIGTERM handler runs only when the wait ends (after a network timeout). A timed
    wait returns to the interpreter regularly, which then runs the pending handler.
    """
    while True:
        try:
            return future.result(timeout=0.2)
        except TimeoutError:
            continue


def _close_result(future: Future[Transport]) -> None:
    if future.cancelled() or future.exception() is not None:
        return
    future.result().close()


def run_parallel(
    transports: Mapping[str, T],
    fn: Callable[[T], R],
    *,
    forks: int | None = None,
) -> ParallelResults[R]:
    """Call ``fn`` on every transport in parallel (read-only work only) and collect results.

    A :class:`DeployerError` from one host is that host's result; any other exception is a
    bug and propagates once every call has finished.
    """
    values: dict[str, R] = {}
    errors: dict[str, DeployerError] = {}
    if not transports:
        return ParallelResults(values, errors)
    with thread_pool(default_forks(len(transports), forks), "deployer-read") as pool:
        futures = {name: pool.submit(fn, t) for name, t in transports.items()}
        failure: BaseException | None = None
        for name, future in futures.items():
            try:
                values[name] = wait_result(future)
            except DeployerError as err:
                errors[name] = err
            except BaseException as err:
                failure = failure or err
    if failure is not None:
        raise failure
    return ParallelResults(values, errors)
