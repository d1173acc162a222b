"""Whether a host's kube-apiserver reloads a companion file by itself, and how to tell it did.

Why it matters: kubelet restarts the pod only when the manifest changes, so a file the apiserver
reads at startup only must change the manifest (its digest goes into an annotation), while a
file the apiserver watches must not (a restart would be needless downtime) and verify must wait
for the reload's evidence on ``/metrics`` instead. Which is which depends on the minor and, for
the encryption configuration, on ``--encryption-provider-config-automatic-reload``: the facts
are in ``data/reload.json``, with the upstream sources cited per kind.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from importlib import resources
from types import MappingProxyType
from typing import Any, cast

from deployer.model.files import ApplyMode, ReloadEvidence

__all__ = ["apply_mode", "reload_table"]


@functools.cache
def reload_table() -> Mapping[str, Any]:
    """Return ``data/reload.json`` (parsed once per process)."""
    text = resources.files("deployer.companions.data").joinpath("reload.json").read_text("utf-8")
    return cast(Mapping[str, Any], json.loads(text))


def _flag_holds(condition: str | None, flags: Mapping[str, str]) -> bool:
    """``name=value`` must be what the pod's flags say (None: no condition)."""
    if condition is None:
        return True
    name, _, value = condition.partition("=")
    return flags.get(name, "").strip().lower() == value


def apply_mode(
    kind: str | None, minor: str, flags: Mapping[str, str]
) -> tuple[ApplyMode, ReloadEvidence | None]:
    """Return how ``minor``'s apiserver picks up a new version of a file of ``kind``.

    RESTART for every file but those the minor reloads itself (under the flag the table names),
    which get RELOAD and the counter (with its labels) and ``..._last_config_info`` gauge that
    show a successful reload. A minor newer than the table is treated as RESTART (safe).
    """
    row = reload_table()["versions"].get(minor, {}).get(kind or "")
    if row is None or row["apply"] != "reload" or not _flag_holds(row["when_flag"], flags):
        return ApplyMode.RESTART, None
    evidence = ReloadEvidence(
        counter=str(row["counter"]),
        labels=MappingProxyType({str(k): str(v) for k, v in row["labels"].items()}),
        info_metric=row["info_metric"],
    )
    return ApplyMode.RELOAD, evidence
