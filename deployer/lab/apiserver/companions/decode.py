"""Decode a companion file as apimachinery's universal decoder does, with its error texts.

Why: kube-apiserver reads every configuration file through a ``serializer.CodecFactory``; a
file that is not YAML, has no ``kind``, or names a kind or version the binary does not register
fails with apimachinery's message inside the loader's wrapper, and the lab must print the same.

Sources (k8s.io/apimachinery unless named):
- ``pkg/runtime/serializer/recognizer/recognizer.go`` ``decoder.Decode``: JSON when the first
  non-space byte is ``{`` (``yaml.IsJSONBuffer``), otherwise YAML through ``sigs.k8s.io/yaml``
  ``YAMLToJSON``, whose parser is go-yaml v2 (a port of libyaml, so libyaml's problem texts);
- go-yaml v2 ``decode.go`` ``parser.fail``: ``yaml: line N: <problem>``, N being the problem's
  0-based line for a parser error and that line + 1 for a scanner error, and no ``line`` part
  when it is 0;
- ``pkg/runtime/serializer/json/json.go`` ``Serializer.Decode`` and ``pkg/runtime/error.go``:
  ``Object 'Kind' is missing in '<file text>'``, ``Object 'apiVersion' is missing in ...``,
  ``no kind "K" is registered for version "G/V" in scheme "<file:line>"``;
- ``pkg/runtime/error.go`` ``strictDecodingError``: ``strict decoding error: unknown field
  "a.b[0].c", ...`` (paths as ``sigs.k8s.io/json`` reports them, in the JSON's key order: for
  YAML that is ``json.Marshal``'s sorted order after ``YAMLToJSON``). Duplicate keys, which the
  strict path also reports (``YAMLToJSONStrict``), are not detected: the last value wins.

The scheme name is ``naming.GetNameFromCallsite``: the file and line that called
``runtime.NewScheme()``, as a vendored path; :data:`SCHEMES` holds them per minor, read from the
k8s.io/apiserver tags v0.28.0..v0.36.0 and v0.37.0-beta.0.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

import yaml

__all__ = [
    "SCHEMES",
    "DecodeError",
    "Document",
    "FieldTree",
    "check_registered",
    "not_registered",
    "parse",
    "scheme_name",
    "strict_error",
    "unknown_fields",
]


class DecodeError(Exception):
    """The file could not be decoded; ``str()`` is apimachinery's text."""


@dataclass(frozen=True, slots=True)
class Document:
    """A decoded object with the group/version and kind its text names (``""`` when absent)."""

    body: object
    api_version: str
    kind: str


#: (file, line per first minor) of each loader's ``runtime.NewScheme()`` call.
SCHEMES: Mapping[str, tuple[str, tuple[tuple[int, int], ...]]] = {
    "audit": ("pkg/audit/scheme.go", ((28, 30),)),
    "encryption": (
        "pkg/server/options/encryptionconfig/config.go",
        ((28, 478), (29, 131), (30, 130), (32, 142)),
    ),
    "tracing": ("pkg/server/options/tracing.go", ((28, 47), (32, 49), (37, 48))),
    "authorization": ("pkg/apis/apiserver/load/load.go", ((29, 32),)),
    "egress": ("pkg/server/egressselector/config.go", ((28, 34), (32, 33))),
    "admission": ("pkg/server/options/admission.go", ((28, 45), (30, 49), (32, 50), (35, 51))),
}


def scheme_name(loader: str, minor: int) -> str:
    """Return the scheme name apimachinery prints for ``loader``'s scheme at ``minor``."""
    if loader == "authentication":
        # k8s.io/kubernetes' own package: trimmed at "/pkg/"; its line per minor was not read.
        return "pkg/kubeapiserver/options/authentication.go"
    path, lines = SCHEMES[loader]
    line = lines[0][1]
    for first, value in lines:
        if minor >= first:
            line = value
    return f"k8s.io/apiserver/{path}:{line}"


class _GoYamlLoader(yaml.CSafeLoader):
    """libyaml with go-yaml v2's typing for ``interface{}``: timestamps stay strings."""


def _timestamp_as_text(loader: yaml.SafeLoader, node: yaml.Node) -> object:
    return loader.construct_yaml_str(node)


_GoYamlLoader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp_as_text)


def _go_yaml_error(exc: yaml.YAMLError) -> str:
    if not isinstance(exc, yaml.MarkedYAMLError):
        return f"yaml: {exc}"
    problem = exc.problem or "unknown problem parsing YAML content"
    line = 0
    if exc.problem_mark is not None and exc.problem_mark.line != 0:
        line = exc.problem_mark.line
        if isinstance(exc, yaml.scanner.ScannerError):
            line += 1
    elif exc.context_mark is not None:
        line = exc.context_mark.line
    where = f"line {line}: " if line else ""
    return f"yaml: {where}{problem}"


def _as_go_json(value: object) -> object:
    """What ``YAMLToJSON`` hands the JSON decoder: string keys, in ``json.Marshal``'s sorted order.

    So strict-decoding errors come in the order upstream reports them for a YAML file.
    """
    if isinstance(value, dict):
        items = {_key_text(k): _as_go_json(v) for k, v in value.items()}
        return {k: items[k] for k in sorted(items)}
    if isinstance(value, list):
        return [_as_go_json(v) for v in value]
    return value


def _key_text(key: object) -> str:
    if isinstance(key, bool):
        return "true" if key else "false"
    return "null" if key is None else str(key)


def parse(data: bytes) -> Document:
    """Decode ``data`` (JSON or the first YAML document) into a mapping with its kind.

    An empty document decodes to an empty mapping, as ``YAMLToJSON`` turns it into ``null``.

    Raises:
        DecodeError: the text is not an object, with the decoder's message.
    """
    text = data.decode("utf-8", errors="replace")
    if text.lstrip(" \t\r\n").startswith("{"):
        try:
            body: object = json.loads(text)
        except json.JSONDecodeError as exc:
            # encoding/json's text for a truncated document is exact; other syntax errors keep
            # Python's wording (a known gap: Go says "invalid character ...").
            if exc.pos >= len(text.rstrip()):
                raise DecodeError("unexpected end of JSON input") from exc
            raise DecodeError(f"invalid JSON: {exc.msg} (offset {exc.pos})") from exc
    else:
        try:
            documents = yaml.load_all(text, Loader=_GoYamlLoader)
            body = _as_go_json(next(iter(documents), None))
        except yaml.YAMLError as exc:
            raise DecodeError(_go_yaml_error(exc)) from exc
    if body is None:
        return Document({}, "", "")  # YAML ``null``: no kind; the loader decides what that means
    if not isinstance(body, dict):
        shape = "string" if isinstance(body, str) else "array" if isinstance(body, list) else ""
        raise DecodeError(
            f"json: cannot unmarshal {shape or 'number'} into Go value of type struct "
            '{ APIVersion string "json:\\"apiVersion,omitempty\\""; '
            'Kind string "json:\\"kind,omitempty\\"" }'
        )
    api_version = body.get("apiVersion")
    kind = body.get("kind")
    return Document(
        body,
        api_version if isinstance(api_version, str) else "",
        kind if isinstance(kind, str) else "",
    )


def not_registered(doc: Document, loader: str, minor: int) -> str:
    """Return apimachinery's ``notRegisteredErr`` text for ``doc``'s kind and version."""
    return (
        f'no kind "{doc.kind}" is registered for version "{doc.api_version}" '
        f'in scheme "{scheme_name(loader, minor)}"'
    )


def check_registered(
    doc: Document, text: str, loader: str, minor: int, registered: Mapping[str, frozenset[str]]
) -> None:
    """Refuse a document without kind/apiVersion or whose kind the scheme does not know.

    Raises:
        DecodeError: with ``Serializer.Decode``'s text.
    """
    if not doc.kind:
        raise DecodeError(f"Object 'Kind' is missing in '{text}'")
    if not doc.api_version:
        raise DecodeError(f"Object 'apiVersion' is missing in '{text}'")
    if doc.kind not in registered.get(doc.api_version, frozenset()):
        raise DecodeError(not_registered(doc, loader, minor))


#: A field tree: a key maps to its subtree; ``None`` marks a leaf or a subtree left unchecked;
#: a one-element tuple marks a list of that tree.
FieldTree = Mapping[str, object]


def unknown_fields(body: object, tree: FieldTree, prefix: str = "") -> list[str]:
    """Return ``unknown field "path"`` for every key ``tree`` does not declare, in file order."""
    found: list[str] = []
    if not isinstance(body, dict):
        return found
    for key, value in body.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if key not in tree:
            found.append(f'unknown field "{path}"')
            continue
        sub = tree[key]
        if isinstance(sub, tuple) and isinstance(value, list):
            for index, item in enumerate(value):
                found += unknown_fields(item, sub[0], f"{path}[{index}]")
        elif isinstance(sub, Mapping):
            found += unknown_fields(value, sub, path)
    return found


def strict_error(problems: list[str]) -> str:
    """Return ``strictDecodingError.Error()``."""
    return "strict decoding error: " + ", ".join(problems)
