"""Plan a host's companion files: which differ from the desired ones, with diffs that mask.

Why two steps: the observation already brings each watched file's SHA-256 (one round trip for
every host), so the content of a file is fetched only when its digest differs, and only to show
the diff. :func:`companion_changes` is pure over whatever is known of each file (its
:class:`~deployer.facts.observe.FileFact`, or its bytes once fetched); :func:`plan_companions`
is the thin part that reads the differing files through the transport.

A secret file's diff never shows a secret: the document is compared with the real values and a
changed key prints as ``***  # key changed`` (:func:`deployer.companions.diff.masked_diff`);
every other line goes through the text filter and the known secret values.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from pathlib import PurePosixPath

import yaml

from deployer.desired import DesiredState
from deployer.errors import DeployerError
from deployer.facts.observe import FileFact, HostObservation
from deployer.model.files import CompanionChange, CompanionFile
from deployer.model.host import Secret
from deployer.model.manifest import sha256_hex
from deployer.report.masking import MASK, mask_secrets
from deployer.transport.base import Transport

__all__ = [
    "Live",
    "change_lines",
    "change_report",
    "changed_paths",
    "companion_changes",
    "companion_paths",
    "live_facts",
    "plan_companions",
]

#: What is known of the host's copy: its observed fact, its bytes, or None (absent).
Live = FileFact | bytes | None

#: Diff lines shown per file at most (a 10,000-line policy is not read in a terminal).
MAX_DIFF_LINES = 400


def companion_paths(state: DesiredState) -> tuple[PurePosixPath, ...]:
    """The host paths the observation must report a digest for (one per companion)."""
    return tuple(c.path for c in state.companions)


def live_facts(observed: HostObservation) -> dict[PurePosixPath, FileFact]:
    """The observation's file facts by host path."""
    return {PurePosixPath(f.path): f for f in observed.files}


def _digest(live: Live) -> str | None:
    if live is None:
        return None
    if isinstance(live, bytes):
        return sha256_hex(live)
    return live.sha256


def changed_paths(
    state: DesiredState, live: Mapping[PurePosixPath, Live]
) -> tuple[PurePosixPath, ...]:
    """Companions whose host digest differs from the desired one (absent files included)."""
    return tuple(c.path for c in state.companions if _digest(live.get(c.path)) != c.sha256)


def _replace_values(text: str, values: Sequence[str]) -> str:
    for value in sorted(values, key=len, reverse=True):
        if value:
            text = text.replace(value, MASK)
    return text


def _hide(text: str, values: Sequence[str]) -> str:
    return mask_secrets(_replace_values(text, values))


def _text_diff(file: CompanionFile, old: bytes | None) -> str:
    old_lines = [] if old is None else old.decode("utf-8", "replace").splitlines(keepends=True)
    new_lines = file.content.decode("utf-8", "replace").splitlines(keepends=True)
    lines = difflib.unified_diff(
        old_lines, new_lines, fromfile=f"{file.path} (host)", tofile=f"{file.path} (desired)"
    )
    return "".join(_hide(line, file.secret_values) for line in lines)


def _wrap(value: object, secrets: frozenset[str]) -> object:
    """The document with every known secret value as a :class:`Secret`."""
    if isinstance(value, str) and value in secrets:
        return Secret(value)
    if isinstance(value, Mapping):
        return {k: _wrap(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [_wrap(v, secrets) for v in value]
    return value


def _wrap_like(old: object, new: object) -> object:
    """``old`` with a :class:`Secret` wherever ``new`` holds one at the same place."""
    if isinstance(new, Secret) and isinstance(old, str):
        return Secret(old)
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        return {k: _wrap_like(v, new.get(k)) for k, v in old.items()}
    if isinstance(old, list) and isinstance(new, list):
        return [_wrap_like(v, new[i] if i < len(new) else None) for i, v in enumerate(old)]
    return old


def _secret_diff(file: CompanionFile, old: bytes | None) -> str:
    try:
        new_doc = _wrap(yaml.safe_load(file.content), frozenset(file.secret_values))
        old_doc = None if old is None else yaml.safe_load(old)
    except yaml.YAMLError:
        return f"--- {file.path} (host)\n+++ {file.path} (desired)\n# secret file changed\n"
    old_doc = None if old_doc is None and old is None else _wrap_like(old_doc, new_doc)
    from deployer.companions.diff import masked_diff  # only for a file that differs

    diff = masked_diff(old_doc, new_doc, name=str(file.path), kind=file.kind)
    # masked_diff already ran the text filter (which would eat the "# key changed" comment).
    return (
        _replace_values(diff, file.secret_values)
        if diff
        else "# key changed (same text once masked)\n"
    )


def _bounded(diff: str) -> str:
    lines = diff.splitlines(keepends=True)
    if len(lines) <= MAX_DIFF_LINES:
        return diff
    rest = len(lines) - MAX_DIFF_LINES
    return "".join(lines[:MAX_DIFF_LINES]) + f"# ... {rest} more diff lines\n"


def companion_changes(
    state: DesiredState, live: Mapping[PurePosixPath, Live]
) -> tuple[CompanionChange, ...]:
    """Return a change for every companion whose host copy differs, sorted by path.

    ``live`` maps host paths to what is known of the host's copy: a FileFact (digest only: the
    change carries no diff), the bytes (the diff is computed), or None / missing (absent).
    """
    changes = []
    for file in sorted(state.companions, key=lambda c: c.path):
        known = live.get(file.path)
        digest = _digest(known)
        if digest == file.sha256:
            continue
        diff = ""
        if known is None or isinstance(known, bytes):
            diff = (_secret_diff if file.is_secret else _text_diff)(file, known)
        changes.append(CompanionChange(file=file, live_sha256=digest, diff=_bounded(diff)))
    return tuple(changes)


def plan_companions(
    transport: Transport, state: DesiredState, observed: HostObservation
) -> tuple[CompanionChange, ...]:
    """Plan ``state``'s companions from the observation, reading only the files that differ."""
    if not state.companions:
        return ()
    live: dict[PurePosixPath, Live] = dict(live_facts(observed))
    for path in changed_paths(state, live):
        fact = live.get(path)
        if isinstance(fact, FileFact) and fact.sha256 is None:
            live[path] = None  # absent: nothing to read
            continue
        try:
            live[path] = transport.read(state.on_host(path), sudo=state.become)
        except DeployerError:
            continue  # the digest still says it differs; the change just has no diff
    return companion_changes(state, live)


def change_lines(change: CompanionChange) -> str:
    """One line for the plan: ``+ /etc/kubernetes/audit/policy.yaml (Policy, restart)``."""
    file = change.file
    sign = "+" if change.live_sha256 is None else "~"
    what = ", ".join(
        p for p in (file.kind, file.apply.value, "secret" if file.is_secret else "") if p
    )
    return f"{sign} {file.path} ({what})"


def change_report(changes: Sequence[CompanionChange]) -> list[dict[str, object]]:
    """The changes as JSON-ready data for the run report (diffs masked, no content)."""
    return [
        {
            "path": str(c.file.path),
            "kind": c.file.kind,
            "apply": c.file.apply.value,
            "mode": f"{c.file.mode:04o}",
            "owner": c.file.owner,
            "sha256": c.file.sha256,
            "live_sha256": c.live_sha256,
            "secret": c.file.is_secret,
            "diff": c.diff,
        }
        for c in changes
    ]
