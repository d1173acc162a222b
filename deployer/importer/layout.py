"""Lay imported hosts out as an inventory folder an operator would have written.

Why this shape: what every host shares goes to ``group_vars/<group>.yml`` once, what differs
(advertise address, per-host etcd endpoints ...) to ``host_vars/<host>.yml``, and the hosts
with their connection variables to ``hosts.yml``; ``apiserver_flags`` merge key by key across
levels, so they split per flag, every other variable as a whole. Comments name the host(s)
and file each value came from. Nothing here depends on time or on the order hosts answered,
so importing the same cluster twice writes the same bytes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from deployer.importer.companions import export_lines
from deployer.importer.extract import HostImport

__all__ = ["IMPORTED_VARS", "ImportedHost", "carried_vars", "inventory_files", "write_inventory"]

#: Variables import computes from the live pod: never carried over from the source inventory.
IMPORTED_VARS = frozenset(
    {
        "kubernetes_version",
        "apiserver_image",
        "apiserver_flags",
        "apiserver_extra_volumes",
        "apiserver_extra_env",
        "apiserver_resources_cpu",
        "apiserver_default_volumes",
        "apiserver_volume_order",
        "apiserver_flag_order",
        "apiserver_bare_flags",
        "apiserver_pod_fields",
        "apiserver_container_fields",
        "apiserver_pod_labels",
        "apiserver_pod_annotations",
        "apiserver_files",
    }
)
#: What a value's comment says it came from.
_FROM_IMAGE = "kubernetes_version"


@dataclass(frozen=True, slots=True)
class ImportedHost:
    """One host: its source-inventory variables kept as they were, and what was imported."""

    name: str
    carried: Mapping[str, Any]
    imported: HostImport


def carried_vars(variables: Mapping[str, Any]) -> dict[str, Any]:
    """The host's own variables to keep (connection, paths, timeouts); never a password."""
    return {
        k: v for k, v in variables.items() if k not in IMPORTED_VARS and "pass" not in k.lower()
    }


def _dump(value: Any) -> str:
    return yaml.safe_dump(value, sort_keys=True, default_flow_style=False, width=100)


def _block(key: str, value: Any, comment: str) -> str:
    text = _dump({key: value})
    return f"# {comment}\n{text}"


def _hosts_phrase(names: Sequence[str], all_names: Sequence[str]) -> str:
    return "every host" if list(names) == list(all_names) else ", ".join(names)


def _split(
    hosts: Sequence[ImportedHost],
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """(common, per-host) imported variables."""
    common: dict[str, Any] = {}
    per_host: dict[str, dict[str, Any]] = {h.name: {} for h in hosts}
    keys = sorted({k for h in hosts for k in h.imported.vars})
    for key in keys:
        values = [h.imported.vars.get(key, _MISSING) for h in hosts]
        if key == "apiserver_flags":
            flags_common, flags_host = _split_flags(hosts)
            if flags_common:
                common[key] = flags_common
            for name, flags in flags_host.items():
                if flags:
                    per_host[name][key] = flags
        elif all(v == values[0] for v in values) and values[0] is not _MISSING:
            common[key] = values[0]
        else:
            for host, value in zip(hosts, values, strict=True):
                if value is not _MISSING:
                    per_host[host.name][key] = value
    return common, per_host


_MISSING: Any = object()


def _split_flags(hosts: Sequence[ImportedHost]) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    all_flags = [h.imported.vars.get("apiserver_flags", {}) for h in hosts]
    names = sorted({n for flags in all_flags for n in flags})
    common = {
        n: all_flags[0][n]
        for n in names
        if all(n in f for f in all_flags) and all(f[n] == all_flags[0][n] for f in all_flags)
    }
    per_host = {
        h.name: {n: v for n, v in f.items() if n not in common}
        for h, f in zip(hosts, all_flags, strict=True)
    }
    return common, per_host


def _comment(key: str, hosts: Sequence[ImportedHost], all_names: Sequence[str]) -> str:
    names = [h.name for h in hosts]
    where = _hosts_phrase(names, all_names)
    source = hosts[0].imported.source
    if key == _FROM_IMAGE:
        image = hosts[0].imported.vars.get("apiserver_image") or "registry.k8s.io/kube-apiserver"
        return f"{key}: the exact version of the image kubelet runs ({image}) on {where}"
    return f"{key}: read from {where} ({source})"


def _vars_file(
    title: str,
    variables: Mapping[str, Any],
    hosts: Sequence[ImportedHost],
    all_names: Sequence[str],
    trailer: Sequence[str] = (),
) -> str:
    parts = [f"# {title}\n# Written by `deployer import`; edit freely.\n"]
    for key in sorted(variables):
        comment = _comment(key, hosts, all_names)
        if key == "apiserver_files":
            exports = export_lines(variables[key])
            if exports:
                comment += "\n# Secrets are not copied: export before plan or apply\n# "
                comment += "\n# ".join(exports)
        parts.append(_block(key, variables[key], comment))
    parts.extend(f"# {line}\n" for line in trailer)
    return "\n".join(parts)


def inventory_files(hosts: Sequence[ImportedHost], group: str) -> dict[str, str]:
    """Relative path -> text of every file of the imported inventory."""
    all_names = [h.name for h in hosts]
    common, per_host = _split(hosts)
    files: dict[str, str] = {}
    carried_keys = sorted({k for h in hosts for k in h.carried})
    shared = {
        k: hosts[0].carried[k]
        for k in carried_keys
        if all(k in h.carried and h.carried[k] == hosts[0].carried[k] for h in hosts)
    }
    document: dict[str, Any] = {
        "all": {
            "children": {
                group: {
                    "hosts": {
                        h.name: {k: v for k, v in h.carried.items() if k not in shared} or None
                        for h in hosts
                    },
                    **({"vars": shared} if shared else {}),
                }
            }
        }
    }
    files["hosts.yml"] = (
        f"# The hosts of group {group}, as the source inventory named them (connection and\n"
        "# path variables kept; no key material, only paths). Written by `deployer import`.\n"
        + _dump(document)
    )
    files[f"group_vars/{group}.yml"] = _vars_file(
        f"What every host of {group} runs, read from its live kube-apiserver manifest.",
        common,
        hosts,
        all_names,
    )
    for host in hosts:
        trailer: list[str] = []
        if host.imported.not_reproduced:
            trailer.append(
                "NOT REPRODUCED (the first apply restarts this host for these fields): "
                + ", ".join(host.imported.not_reproduced)
            )
        trailer.extend(f"note: {n}" for n in host.imported.notes)
        if per_host[host.name] or trailer:
            files[f"host_vars/{host.name}.yml"] = _vars_file(
                f"What {host.name} runs differently from the rest of {group}.",
                per_host[host.name],
                [host],
                all_names,
                trailer,
            )
    return files


def write_inventory(out: Path, files: Mapping[str, str]) -> list[Path]:
    """Write ``files`` under ``out`` (folders made); return the paths written."""
    written: list[Path] = []
    for relative, text in sorted(files.items()):
        path = out / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
