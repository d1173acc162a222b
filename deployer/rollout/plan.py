"""Decide, per host, what apply would do: pure functions over an observation.

Why pure: the plan is what an operator approves; the same inputs must always give the same
plan, and every case (absent file, cosmetic edit, drifted pod, stray file) is tested from data.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from deployer.desired import DesiredState
from deployer.facts.observe import HostObservation
from deployer.model.manifest import Manifest
from deployer.model.plan import ChangeKind, HostPlan
from deployer.podspec.compare import (
    apiserver_command,
    apiserver_image,
    cosmetic_paths,
    flag_changes,
    image_change,
    load_pod,
    pod_paths,
    same_pod,
    unified_diff,
)
from deployer.render.paths import referenced_files

__all__ = ["file_drift", "observation_notes", "plan_host", "pod_drift"]

#: Files kube-apiserver re-reads by itself while running: a change there is not drift.
_RELOADED_FLAGS = frozenset(
    {
        "tls-cert-file",
        "tls-private-key-file",
        "client-ca-file",
        "requestheader-client-ca-file",
        "tls-sni-cert-key",
    }
)


def pod_drift(observed: HostObservation) -> str | None:
    """How the running container differs from the manifest on disk, or None."""
    live_command = apiserver_command(load_pod(observed.manifest)) if observed.manifest else None
    if observed.containers is None or live_command is None:
        return None
    if observed.running is None:
        last = next(iter(observed.containers), None)
        state_text = f" (newest: {last.state}, restarts {last.restart_count})" if last else ""
        return f"no running kube-apiserver container{state_text}"
    if observed.running_args is not None and tuple(observed.running_args) != tuple(live_command):
        drift = ", ".join(str(c) for c in flag_changes(observed.running_args, live_command))
        return (
            "the running container does not match the manifest on disk "
            f"(kubelet has not applied it, or it crash-loops): {drift or 'order differs'}"
        )
    return None


def file_drift(state: DesiredState, observed: HostObservation) -> list[str]:
    """Referenced files changed after the running apiserver started.

    kubelet restarts nothing when such a file changes, and kube-apiserver reads most of them
    only at start (audit policy, encryption and admission configs, service-account keys), so
    the host runs something other than what its files say. Certificates it reloads itself are
    left out.
    """
    running = observed.running
    if running is None or not running.created_at_ns:
        return []
    started_s = running.created_at_ns // 1_000_000_000
    by_path = {str(r.path): r.flag for r in referenced_files(state.flags)}
    drift = []
    for fact in observed.files:
        flag = by_path.get(fact.path)
        if flag in _RELOADED_FLAGS or fact.mtime is None or fact.mtime <= started_s:
            continue
        named = f"--{flag}" if flag else "checksummed file"
        drift.append(
            f"{fact.path} ({named}) changed after the running apiserver started; it still "
            "uses the old content (set apiserver_checksum_files to roll the pod on a change)"
        )
    return drift


def observation_notes(state: DesiredState, observed: HostObservation) -> list[str]:
    """Facts about the host an operator must see, whatever the plan is."""
    notes: list[str] = []
    strays = observed.stray_files(state.manifest_path.name)
    if strays:
        notes.append(
            "stray files in the manifests folder (kubelet runs each as a pod): " + ", ".join(strays)
        )
    if observed.listing is None:
        notes.append(f"the manifests folder {state.manifest_dir} does not exist")
    if observed.kubelet_rc not in (None, 0):
        notes.append(f"kubelet is not running (check exited {observed.kubelet_rc})")
    notes.extend(observed.errors)
    live_command = apiserver_command(load_pod(observed.manifest)) if observed.manifest else None
    if observed.manifest is not None and live_command is None:
        notes.append("the live manifest has no kube-apiserver container (or is not valid YAML)")
    if observed.containers is not None and observed.running is None and live_command is None:
        notes.append("no running kube-apiserver container")
    pod = pod_drift(observed)
    if pod is not None:
        notes.append(pod)
    notes.extend(file_drift(state, observed))
    return notes


def plan_host(
    state: DesiredState,
    desired: Manifest,
    observed: HostObservation | None,
    *,
    unreachable: str | None = None,
) -> HostPlan:
    """Compare the desired manifest with what the host runs and decide the change kind."""
    plan = _decide(state, desired, observed, unreachable=unreachable)
    if observed is None:
        return plan
    return dataclasses.replace(
        plan, pod_drift=pod_drift(observed), file_drift=tuple(file_drift(state, observed))
    )


def _decide(
    state: DesiredState,
    desired: Manifest,
    observed: HostObservation | None,
    *,
    unreachable: str | None = None,
) -> HostPlan:
    if observed is None:
        return HostPlan(
            state=state,
            desired=desired,
            observed=None,
            kind=ChangeKind.NONE,
            unreachable=unreachable or "not observed",
        )
    notes = observation_notes(state, observed)
    path = str(state.manifest_path)
    if observed.manifest is None:
        return HostPlan(
            state=state,
            desired=desired,
            observed=observed,
            kind=ChangeKind.CREATE,
            diff=unified_diff(None, desired.content, path=path),
            flag_changes=flag_changes(None, apiserver_command(load_pod(desired.content))),
            notes=tuple(notes),
        )
    if observed.manifest == desired.content:
        return HostPlan(
            state=state,
            desired=desired,
            observed=observed,
            kind=ChangeKind.NONE,
            notes=tuple(notes),
        )
    live_pod = load_pod(observed.manifest)
    desired_pod = load_pod(desired.content)
    diff = unified_diff(observed.manifest, desired.content, path=path)
    if live_pod is not None and same_pod(observed.manifest, desired.content):
        written = cosmetic_paths(live_pod, desired_pod)
        what = (
            "written differently: " + ", ".join(written)
            if written
            else "formatting only (quoting, key order, comments, nulls)"
        )
        notes.append(
            "cosmetic: the same pod after the API's defaults, kubelet restarts nothing; " + what
        )
        return HostPlan(
            state=state,
            desired=desired,
            observed=observed,
            kind=ChangeKind.COSMETIC,
            diff=diff,
            field_paths=written,
            notes=tuple(notes),
        )
    changes = flag_changes(apiserver_command(live_pod), apiserver_command(desired_pod))
    image = image_change(apiserver_image(live_pod), apiserver_image(desired_pod))
    paths = pod_paths(live_pod, desired_pod)
    if paths:
        notes.append("pod fields differ (after the API's defaults): " + ", ".join(paths))
    elif not changes and image is None:
        notes.append(
            "the live manifest is not a kube-apiserver pod kubelet can read (see the diff)"
        )
    return HostPlan(
        state=state,
        desired=desired,
        observed=observed,
        kind=ChangeKind.UPDATE,
        diff=diff,
        flag_changes=changes,
        image_change=image,
        field_paths=paths,
        notes=tuple(notes),
    )


def summarize(plans: Sequence[HostPlan]) -> dict[str, int]:
    """Count hosts per change kind (and unreachable), for the recap line."""
    counts: dict[str, int] = {}
    for plan in plans:
        key = "unreachable" if plan.unreachable else plan.kind.value
        counts[key] = counts.get(key, 0) + 1
    return counts
