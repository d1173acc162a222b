#!/usr/bin/env python3
"""Turn the kube-apiserver reference facts into deployer's packaged flag schema, one file per minor.

Usage::

    tools/make_flag_schema.py SOURCE_JSON OUT_DIR [--deltas DELTAS]

``SOURCE_JSON`` is the shared reference (``kube-apiserver-flags.json``, 1.28-1.33); ``OUT_DIR`` is
normally ``deployer/schema/data``. ``DELTAS`` is the reference for later minors
(``kube-apiserver-1.34-and-later.md``): its last fenced JSON block lists, per minor, the version it
``inherits`` and the flags added or changed (full entries), removed, and the admission plugins;
each minor is built by overlaying its delta on the one it inherits, oldest first.
The output is deterministic (sorted keys, no timestamps) so a re-run without a change in the
facts leaves ``git diff`` empty. Adding a Kubernetes version means adding it to the facts, running
this again, and adding its row to ``deployer/schema/data/versions.json`` (deployer.versions).

Why a generator and not a runtime read of the facts: deployer must never read the shared
reference at run time; the facts become the project's own, reviewed, committed data.
"""

from __future__ import annotations

import argparse
import copy
import json
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

#: Flags that kube-apiserver hoists from Go's standard ``flag`` package (reference note: "Types of
#: flags coming from Go's flag package (default-*-toleration-seconds, cloud-provider-gce-*)").
#: Their ``Set`` wraps strconv errors as ``parse error`` / ``value out of range``.
GO_FLAG_PACKAGE = frozenset(
    {
        "default-not-ready-toleration-seconds",
        "default-unreachable-toleration-seconds",
        "cloud-provider-gce-lb-src-cidrs",
        "cloud-provider-gce-l7lb-src-cidrs",
    }
)

#: ``mapStringString`` is two different Go values in kube-apiserver (reference ``parsing``):
#: ``--runtime-config`` is cliflag.ConfigurationMap (never fails), the others are
#: cliflag.MapStringString without splitting (one key=value per occurrence).
MAP_STRING_STRING_PARSERS = {"runtime-config": "configurationMap"}

SCHEMA_FORMAT = 1


def _parser_for(name: str, ftype: str) -> str:
    """Return the value parser deployer must use for a flag (the pflag type, refined)."""
    if ftype == "mapStringString":
        return MAP_STRING_STRING_PARSERS.get(name, "mapStringStringNoSplit")
    if name in GO_FLAG_PACKAGE and ftype in {"int", "int64", "uint", "uint64", "float64"}:
        return f"goflag.{ftype}"
    return ftype


def _minor_key(minor: str) -> tuple[int, int]:
    major, _, rest = minor.partition(".")
    return int(major), int(rest)


def _flag(name: str, spec: Mapping[str, Any]) -> dict[str, Any]:
    ftype = str(spec["type"])
    return {
        "type": ftype,
        "parser": _parser_for(name, ftype),
        "default": str(spec.get("default", "")),
        "deprecated": bool(spec.get("deprecated", False)),
        "deprecation_message": str(spec.get("deprecation_message", "")),
        "hidden": bool(spec.get("hidden", False)),
        # pflag gives every bool flag NoOptDefVal "true"; the later deltas leave it implicit.
        "no_opt_default": str(spec.get("no_opt_default", "true" if ftype == "bool" else "")),
        "shorthand": str(spec.get("shorthand", "")),
    }


def _removed_for(minor: str, removed: list[Mapping[str, Any]]) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for item in removed:
        when = str(item["removed_in"])
        if when != "n/a" and _minor_key(when) > _minor_key(minor):
            continue
        out[str(item["flag"])] = {"removed_in": when, "note": str(item.get("note", ""))}
    return out


def build_version(minor: str, facts: Mapping[str, Any]) -> dict[str, Any]:
    """Return the packaged schema document for one minor version."""
    version = facts["versions"][minor]
    flags = {name: _flag(name, spec) for name, spec in sorted(version["flags"].items())}
    removed = {k: v for k, v in _removed_for(minor, facts["removed"]).items() if k not in flags}
    plugins = version.get("admission_plugins", {})
    gates = version.get("feature_gates_listed", {})
    return {
        "format": SCHEMA_FORMAT,
        "version": minor,
        "confidence": str(version.get("confidence", "")),
        "basis": str(version.get("basis", "")),
        "flags": flags,
        "admission_plugins": sorted(plugins.get("all", [])),
        "admission_plugins_enabled_by_default": list(plugins.get("enabled_by_default", [])),
        "feature_gates": {
            name: {"stage": str(g["stage"]), "default": bool(g["default"])}
            for name, g in sorted(gates.items())
        },
        # The reference lists only non-GA, non-deprecated gates: an unknown name may be valid.
        "feature_gates_complete": False,
        "removed": dict(sorted(removed.items())),
    }


_JSON_BLOCK_RE = re.compile(r"```json\n(.*?)\n```", re.DOTALL)


def read_deltas(path: Path) -> dict[str, Any]:
    """Return the deltas document: a JSON file, or the last ``json`` block of a Markdown file."""
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".md":
        blocks = _JSON_BLOCK_RE.findall(text)
        if not blocks:
            raise SystemExit(f"{path}: no ```json block found")
        text = blocks[-1]
    doc: dict[str, Any] = json.loads(text)
    return doc


def apply_deltas(facts: dict[str, Any], deltas: Mapping[str, Any]) -> dict[str, Any]:
    """Return ``facts`` with every delta minor added as a full version entry.

    A delta entry names the minor it ``inherits``; ``flags`` replace or add whole entries,
    ``flags_removed`` delete names (and record them as removed in that minor, so using one is
    refused naming the release), ``admission_plugins.all`` replaces the plugin list.
    ``default_enabled_added`` extends the default-enabled list only where the base has one (a
    list of one plugin would claim the others are off).
    """
    out = copy.deepcopy(facts)
    versions: dict[str, Any] = out["versions"]
    for minor in sorted(deltas["versions"], key=_minor_key):
        delta = deltas["versions"][minor]
        base = copy.deepcopy(versions[str(delta["inherits"])])
        base["flags"].update(copy.deepcopy(delta.get("flags", {})))
        for name in delta.get("flags_removed", []):
            base["flags"].pop(name, None)
            note = f"removed in {minor} (reference delta)"
            out["removed"].append({"flag": name, "removed_in": minor, "note": note})
        plugins = dict(base.get("admission_plugins", {}))
        new_plugins = delta.get("admission_plugins", {})
        if "all" in new_plugins:
            plugins["all"] = list(new_plugins["all"])
        if plugins.get("enabled_by_default"):
            added = list(new_plugins.get("default_enabled_added", []))
            plugins["enabled_by_default"] = list(plugins["enabled_by_default"]) + [
                p for p in added if p not in plugins["enabled_by_default"]
            ]
        base["admission_plugins"] = plugins
        base["confidence"] = str(delta.get("confidence", ""))
        base["basis"] = str(delta.get("basis", ""))
        base["flag_count"] = delta.get("flag_count", len(base["flags"]))
        if len(base["flags"]) != base["flag_count"]:
            raise SystemExit(
                f"{minor}: {len(base['flags'])} flags after the delta, the reference counts "
                f"{base['flag_count']}"
            )
        versions[minor] = base
    return out


def main(argv: list[str] | None = None) -> int:
    """Write ``OUT_DIR/<minor>.json`` for every version in the facts; return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("source", type=Path, help="kube-apiserver-flags.json (reference facts)")
    parser.add_argument("out_dir", type=Path, help="output folder, e.g. deployer/schema/data")
    parser.add_argument(
        "--deltas", type=Path, help="kube-apiserver-1.34-and-later.md (later minors as deltas)"
    )
    args = parser.parse_args(argv)
    facts = json.loads(args.source.read_text(encoding="utf-8"))
    if args.deltas is not None:
        facts = apply_deltas(facts, read_deltas(args.deltas))
    args.out_dir.mkdir(parents=True, exist_ok=True)
    for minor in sorted(facts["versions"], key=_minor_key):
        doc = build_version(minor, facts)
        text = json.dumps(doc, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
        (args.out_dir / f"{minor}.json").write_text(text, encoding="utf-8")
        sys.stdout.write(f"{minor}: {len(doc['flags'])} flags -> {args.out_dir}/{minor}.json\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
