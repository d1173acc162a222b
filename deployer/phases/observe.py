"""Observe a host in one round trip (used by plan, preflight and rollback)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import PurePosixPath

from deployer.desired import DesiredState
from deployer.errors import TransportError
from deployer.facts.crictl import ParseError
from deployer.facts.observe import HostObservation, early_ca, observe_argv, parse_observation
from deployer.render.paths import referenced_files
from deployer.transport.base import StreamingTransport, Transport

__all__ = ["observe_host", "watched_files"]


def watched_files(state: DesiredState) -> tuple[PurePosixPath, ...]:
    """Host paths whose content matters to the running apiserver.

    The files its flags reference (certificates, keys, audit/encryption/admission configs), the
    ones the inventory asks to checksum into the pod and its companion files: a change to any
    of them, while the apiserver keeps running, is drift kubelet will never act on.
    """
    paths: list[PurePosixPath] = []
    for ref in referenced_files(state.flags):
        if not ref.is_dir and ref.is_absolute and ref.path not in paths:
            paths.append(ref.path)
    for extra in state.checksum_files:
        path = PurePosixPath(extra)
        if path not in paths:
            paths.append(path)
    # The companion files the rollout writes: their live digests tell the plan which changed.
    for companion in state.companions:
        if companion.path not in paths:
            paths.append(companion.path)
    return tuple(paths)


def _ca_watcher(on_ca: Callable[[bytes | None], None]) -> Callable[[bytes], None]:
    """A stdout consumer that calls ``on_ca`` once the CA section is complete."""
    seen = bytearray()
    done = False

    def feed(chunk: bytes) -> None:
        nonlocal done
        if done:
            return
        seen.extend(chunk)
        complete, ca_pem = early_ca(bytes(seen))
        if complete:
            done = True
            on_ca(ca_pem)

    return feed


def observe_host(
    transport: Transport,
    state: DesiredState,
    *,
    on_ca: Callable[[bytes | None], None] | None = None,
    expected: bytes | None = None,
) -> HostObservation:
    """Run the observation command and parse it; file facts carry host paths.

    ``on_ca`` is called once with the cluster CA as soon as it has arrived (the script prints
    it first), while the rest still runs, when the transport streams (plan starts ``/readyz``
    with it); it runs in the transport's reading thread and must return quickly. ``expected``
    is the manifest the caller would write: a live one with its digest is not sent.

    Raises:
        TransportError: the command could not run or printed something unparsable.
    """
    files = watched_files(state)
    addressed = {str(state.on_host(p)): str(p) for p in files}
    argv = observe_argv(
        state.on_host(state.manifest_path),
        state.crictl,
        state.on_host(state.cluster_ca_file),
        state.kubelet_check,
        tuple(state.on_host(p) for p in files),
        expected,
    )
    if on_ca is not None and isinstance(transport, StreamingTransport):
        result = transport.run_streaming(
            argv, _ca_watcher(on_ca), sudo=state.become, timeout_s=60.0
        )
    else:
        result = transport.run(argv, sudo=state.become, timeout_s=60.0)
    try:
        observation = parse_observation(result.stdout, tuple(addressed), expected)
    except ParseError as exc:
        raise TransportError(f"could not observe the host: {exc}", host=state.host.name) from exc
    return dataclasses.replace(
        observation,
        files=tuple(
            dataclasses.replace(f, path=addressed.get(f.path, f.path)) for f in observation.files
        ),
    )
