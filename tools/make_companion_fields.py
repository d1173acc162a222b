#!/usr/bin/env python3
"""Extract, per Kubernetes minor, the JSON field tree of each companion kind kube-apiserver reads.

Usage::

    tools/make_companion_fields.py APISERVER_GIT_DIR OUT_JSON

``APISERVER_GIT_DIR`` is a git directory of k8s.io/apiserver (the staging repository published as
github.com/kubernetes/apiserver) with its ``v0.<minor>.*`` tags; ``OUT_JSON`` is normally
``deployer/companions/data/fields.json``. The script reads ``pkg/apis/apiserver/{v1,v1beta1,
v1alpha1}/{types,register}.go``, ``pkg/apis/config/v1`` (the EncryptionConfiguration's home before
1.30) and ``pkg/apis/audit/v1`` at each tag with ``git show``, parses the Go struct declarations
(field name, type and ``json:`` tag) and writes, for each minor, which group/version/kind the
scheme registers and the field tree of each. Trees are deduplicated by content, so ten versions of
an unchanged kind cost one entry.

Why a generator and not hand-written field lists: strict decoding (``serializer.EnableStrict``)
rejects a misspelt field by its exact JSON name, and which fields exist changes from minor to
minor (``egressSelectorType`` arrived in 1.34, ``anonymous`` in 1.31); copying that by hand for
ten versions is where mistakes hide. The output is deterministic (sorted keys), so re-running it on
the same tags leaves ``git diff`` empty. The runtime never reads the Go sources: it reads only the
committed JSON.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

#: kube-apiserver minor -> k8s.io/apiserver tag whose types it vendors. 1.37 is read from the
#: newest pre-release tag the repository had when the data was generated.
TAGS = {
    "1.28": "v0.28.0",
    "1.29": "v0.29.0",
    "1.30": "v0.30.0",
    "1.31": "v0.31.0",
    "1.32": "v0.32.0",
    "1.33": "v0.33.0",
    "1.34": "v0.34.0",
    "1.35": "v0.35.0",
    "1.36": "v0.36.0",
    "1.37": "v0.37.0-beta.0",
}

PACKAGES = (
    "pkg/apis/apiserver/v1",
    "pkg/apis/apiserver/v1beta1",
    "pkg/apis/apiserver/v1alpha1",
    "pkg/apis/config/v1",
    "pkg/apis/audit/v1",
)

#: Types from other modules that companion kinds embed or use, by their JSON shape.
EXTERNAL: dict[str, Any] = {
    "metav1.TypeMeta": {"inline": {"apiVersion": {"type": "string"}, "kind": {"type": "string"}}},
    "metav1.ObjectMeta": {"type": "any"},
    "metav1.Duration": {"type": "duration"},
    "metav1.Time": {"type": "string"},
    "runtime.RawExtension": {"type": "any"},
    "runtime.Unknown": {"type": "any"},
    "types.UID": {"type": "string"},
    # k8s.io/component-base/tracing/api/v1.TracingConfiguration (endpoint *string,
    # samplingRatePerMillion *int32), embedded inline by every TracingConfiguration version.
    "tracingapi.TracingConfiguration": {
        "inline": {"endpoint": {"type": "string"}, "samplingRatePerMillion": {"type": "int"}}
    },
}

#: Registered kinds that are not files kube-apiserver reads.
NOT_FILES = frozenset({"Event", "EventList", "PolicyList"})

SCALARS = {
    "string": "string",
    "bool": "bool",
    "int": "int",
    "int32": "int",
    "int64": "int",
    "float64": "number",
    "[]byte": "string",
}

_STRUCT = re.compile(r"^type (\w+) struct \{\n(.*?)^\}", re.MULTILINE | re.DOTALL)
_EMPTY_STRUCT = re.compile(r"^type (\w+) struct ?\{\}", re.MULTILINE)
_ALIAS = re.compile(r"^type (\w+) (string|bool|int32|int64|int)\s*$", re.MULTILINE)
_FIELD = re.compile(r"^\s*(?:(\w+)\s+)?([\w.*\[\]]+)\s+`[^`]*json:\"([^\"]*)\"", re.MULTILINE)
_CONST = re.compile(r"^const (\w+) = \"([^\"]*)\"", re.MULTILINE)
_GV = re.compile(r"^var (\w+) = schema\.GroupVersion\{Group: (\w+), Version: \"(\w+)\"\}", re.M)
_KNOWN = re.compile(r"AddKnownTypes\((\w+),\s*(.*?)\)", re.DOTALL)


def git_show(git_dir: Path, tag: str, path: str) -> str | None:
    """Return the file at ``tag`` or None when the tag has no such file."""
    done = subprocess.run(
        ["git", f"--git-dir={git_dir}", "show", f"{tag}:{path}"],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout if done.returncode == 0 else None


def package_types(git_dir: Path, tag: str, package: str) -> str | None:
    """Return every ``types*.go`` of ``package`` at ``tag`` joined (the types span files)."""
    done = subprocess.run(
        ["git", f"--git-dir={git_dir}", "ls-tree", "--name-only", f"{tag}:{package}"],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        return None
    names = [n for n in done.stdout.split() if n.startswith("types") and n.endswith(".go")]
    parts = [git_show(git_dir, tag, f"{package}/{name}") or "" for name in sorted(names)]
    return "\n".join(parts) if parts else None


def strip_comments(source: str) -> str:
    """Drop ``//`` comment lines, which hold example struct fields in prose."""
    return "\n".join(line for line in source.splitlines() if not line.lstrip().startswith("//"))


class Package:
    """The structs and string aliases of one Go package's types.go."""

    def __init__(self, source: str) -> None:
        self.structs: dict[str, list[tuple[str | None, str, str]]] = {}
        for match in _STRUCT.finditer(source):
            self.structs[match.group(1)] = [
                (f.group(1), f.group(2), f.group(3)) for f in _FIELD.finditer(match.group(2))
            ]
        for name in _EMPTY_STRUCT.findall(source):
            self.structs.setdefault(name, [])
        self.aliases = {m.group(1): m.group(2) for m in _ALIAS.finditer(source)}

    def tree(self, go_type: str, seen: tuple[str, ...] = ()) -> dict[str, Any]:
        """Return the JSON shape of ``go_type``."""
        go_type = go_type.lstrip("*")
        if go_type.startswith("[]") and go_type != "[]byte":
            return {"type": "list", "items": self.tree(go_type[2:], seen)}
        if go_type.startswith("map[string]"):
            return {"type": "map", "values": self.tree(go_type[len("map[string]") :], seen)}
        if go_type in SCALARS:
            return {"type": SCALARS[go_type]}
        if go_type in self.aliases:
            return {"type": SCALARS[self.aliases[go_type]]}
        if go_type in EXTERNAL:
            shape = EXTERNAL[go_type]
            return {"type": "object", "fields": shape["inline"]} if "inline" in shape else shape
        if go_type in self.structs and go_type not in seen:
            return {"type": "object", "fields": self.fields(go_type, (*seen, go_type))}
        return {"type": "any"}

    def fields(self, struct: str, seen: tuple[str, ...]) -> dict[str, Any]:
        """Return the JSON fields of ``struct``, inlined embeddings included."""
        out: dict[str, Any] = {}
        for name, go_type, tag in self.structs[struct]:
            json_name = tag.split(",")[0]
            if json_name == "-":
                continue
            if ",inline" in tag or (name is None and not json_name):
                inner = self.tree(go_type, seen)
                out.update(inner.get("fields", {}))
                continue
            out[json_name] = self.tree(go_type, seen)
        return out


def registered(register_go: str) -> list[tuple[str, str, str]]:
    """Return (group, version, kind) for every ``AddKnownTypes`` entry of a register.go."""
    consts = dict(_CONST.findall(register_go))
    versions = {m.group(1): (consts[m.group(2)], m.group(3)) for m in _GV.finditer(register_go)}
    out = []
    for var, body in _KNOWN.findall(register_go):
        group, version = versions[var]
        out.extend((group, version, kind) for kind in re.findall(r"&(\w+)\{\}", body))
    if 'Kind: "EncryptionConfig"}' in register_go:
        out.append(("", "v1", "EncryptionConfig"))
    return out


def main(argv: list[str]) -> int:
    """Write the field trees of every tag in :data:`TAGS` to the output file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("git_dir", type=Path)
    parser.add_argument("out", type=Path)
    args = parser.parse_args(argv)
    schemas: dict[str, Any] = {}
    versions: dict[str, Any] = {}
    for minor, tag in TAGS.items():
        kinds: dict[str, str] = {}
        for package in PACKAGES:
            types_go = package_types(args.git_dir, tag, package)
            register_go = git_show(args.git_dir, tag, f"{package}/register.go")
            if types_go is None or register_go is None:
                continue
            pkg = Package(strip_comments(types_go))
            for group, version, kind in registered(strip_comments(register_go)):
                struct = "EncryptionConfiguration" if kind == "EncryptionConfig" else kind
                if struct not in pkg.structs or struct in NOT_FILES:
                    continue
                tree = pkg.tree(struct)
                # Every registered kind is a runtime.Object embedding metav1.TypeMeta, some
                # without a json tag (``metav1.TypeMeta`` alone on its line).
                tree["fields"].update(EXTERNAL["metav1.TypeMeta"]["inline"])
                text = json.dumps(tree, sort_keys=True)
                schema_id = f"{struct}@{hashlib.sha256(text.encode()).hexdigest()[:10]}"
                schemas[schema_id] = tree
                gv = f"{group}/{version}" if group else version
                kinds[f"{gv}/{kind}"] = schema_id
        versions[minor] = {"apiserver_tag": tag, "kinds": dict(sorted(kinds.items()))}
    out = {
        "comment": (
            "Generated by tools/make_companion_fields.py from k8s.io/apiserver "
            "(github.com/kubernetes/apiserver) pkg/apis/{apiserver,config,audit}/<version>/"
            "types.go and register.go at the tag named per minor. Do not edit by hand."
        ),
        "versions": versions,
        "schemas": dict(sorted(schemas.items())),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
