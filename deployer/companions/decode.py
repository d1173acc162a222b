"""The decoding step: what kube-apiserver's codec says about a document before any validation.

Why a step of its own: every loader first decodes the file into the version's Go type, and most
startup failures of hand-written files happen here (a misspelt field under strict decoding, a
string where a list is expected, an ``apiVersion`` the minor does not know). Which of these fail
depends on the loader and the minor (``LoaderFacts.decoding``): strict loaders fail on unknown
fields, the audit policy loader falls back to lenient decoding with a warning, and the loaders
that became strict later (encryption in 1.31, admission, egress selector and tracing in 1.32)
dropped them silently before (so a misspelt ``aescbc`` was reported as a provider with no
provider, which confuses operators: we warn with the field's name). Type errors fail in every
mode.

The texts follow apimachinery's: ``strict decoding error: unknown field "jwt[0].isuer"``,
``no kind "AuthorizationConfiguration" is registered for version ...``. Go's ``json`` type
errors are paraphrased (``cannot unmarshal string into a list``) with the field path, because the
Go text names internal Go types an operator cannot act on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from deployer.companions.facts import Gvk, LoaderFacts, field_tree
from deployer.companions.fielderrors import FieldPath
from deployer.model.host import Secret
from deployer.schema.gostrconv import GoValueError
from deployer.schema.gotime import parse_duration

__all__ = ["DecodeResult", "decode"]

_KIND = FieldPath(("kind",))
_API_VERSION = FieldPath(("apiVersion",))
_JSON_NAMES = {bool: "bool", int: "number", float: "number", str: "string"}


@dataclass(slots=True)
class DecodeResult:
    """What decoding found: errors stop the file, warnings do not."""

    gvk: Gvk | None = None
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    #: The field each message is about, where it is about one (for the file's line).
    where: dict[str, FieldPath] = field(default_factory=dict)

    def error(self, path: FieldPath, text: str) -> None:
        """Record an error about the field at ``path``."""
        self.errors.append(text)
        self.where.setdefault(text, path)


def _json_type(value: object) -> str:
    if isinstance(value, Secret):
        return "string"
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, list | tuple):
        return "array"
    return _JSON_NAMES.get(type(value), type(value).__name__)


def _walk(value: object, tree: Mapping[str, Any], path: FieldPath, out: DecodeResult) -> None:
    """Compare ``value`` with the field ``tree``: unknown fields and type errors."""
    if value is None:
        return  # JSON null leaves Go's zero value
    kind = tree["type"]
    got = _json_type(value)
    if kind == "any":
        return
    if kind == "object":
        if not isinstance(value, Mapping):
            out.error(path, f"{path or '<root>'}: json: cannot unmarshal {got} into an object")
            return
        fields: Mapping[str, Any] = tree.get("fields", {})
        for key, item in value.items():
            name = str(key)
            if name not in fields:
                text = f'unknown field "{path.child(name)}"'
                out.warnings.append(text)
                out.where.setdefault(text, path.child(name))
                continue
            _walk(item, fields[name], path.child(name), out)
        return
    if kind == "list":
        if not isinstance(value, list | tuple):
            out.error(path, f"{path}: json: cannot unmarshal {got} into a list")
            return
        for i, item in enumerate(value):
            _walk(item, tree["items"], path.index(i), out)
        return
    if kind == "map":
        if not isinstance(value, Mapping):
            out.error(path, f"{path}: json: cannot unmarshal {got} into a map")
            return
        for key, item in value.items():
            _walk(item, tree["values"], path.key(str(key)), out)
        return
    _scalar(value, kind, got, path, out)


def _scalar(value: object, kind: str, got: str, path: FieldPath, out: DecodeResult) -> None:
    if kind == "duration":
        if not isinstance(value, str):
            out.error(path, f"{path}: json: cannot unmarshal {got} into a duration string")
            return
        try:
            parse_duration(value)
        except GoValueError as exc:
            out.error(path, f"{path}: {exc}")
        return
    wanted = {"string": "string", "bool": "bool", "int": "number", "number": "number"}[kind]
    if got != wanted:
        out.error(path, f"{path}: json: cannot unmarshal {got} into a field of type {kind}")
    elif kind == "int" and isinstance(value, float) and not value.is_integer():
        out.error(path, f"{path}: json: cannot unmarshal number {value} into an integer")


def _in_scheme(gvk: Gvk, facts: LoaderFacts) -> bool:
    """Whether the loader's scheme registers ``gvk``'s group.

    The audit loader's scheme has only audit.k8s.io; the others install k8s.io/apiserver
    ``pkg/apis/apiserver/install``.
    """
    group = gvk.api_version.rpartition("/")[0]
    if facts.kind == "Policy":
        return group == "audit.k8s.io"
    return group in ("apiserver.config.k8s.io", "apiserver.k8s.io", "")


def _header(document: Mapping[str, object], facts: LoaderFacts, out: DecodeResult) -> None:
    api_version = document.get("apiVersion")
    kind = document.get("kind")
    if facts.decoding == "kind-only":
        # 1.28-1.31 egress selector loader: yaml.Unmarshal into v1beta1, kind compared only.
        if kind != "EgressSelectorConfiguration":
            out.error(_KIND, f'invalid service configuration object "{kind or ""}"')
            return
        out.gvk = Gvk(str(api_version or "apiserver.k8s.io/v1beta1"), str(kind))
        return
    if not kind:
        out.errors.append("Object 'Kind' is missing")
        return
    if not api_version:
        out.errors.append("Object 'apiVersion' is missing")
        return
    gvk = Gvk(str(api_version), str(kind))
    if gvk in facts.accepted:
        out.gvk = gvk
        return
    in_scheme = _in_scheme(gvk, facts) and field_tree(gvk, facts.minor) is not None
    if in_scheme and facts.other_kind:
        # Another kind the loader's scheme knows: decoding succeeds, the type check fails.
        text = facts.other_kind.replace("{gvk}", str(gvk)).replace("{kind}", gvk.kind)
        out.error(_KIND, text)
    elif in_scheme:
        out.error(_KIND, f"got unexpected config type: {gvk}")
    else:
        out.error(
            _API_VERSION, f'no kind "{gvk.kind}" is registered for version "{gvk.api_version}"'
        )


def decode(document: object, facts: LoaderFacts) -> DecodeResult:
    """Decode ``document`` as kube-apiserver ``facts.minor`` would for ``facts.kind``."""
    out = DecodeResult()
    if not facts.accepted:
        out.errors.append(
            f"kube-apiserver {facts.minor} has no --{facts.flag}: it reads no {facts.kind} file"
        )
        return out
    if not isinstance(document, Mapping):
        out.errors.append(f"couldn't get version/kind: the document is a {_json_type(document)}")
        return out
    _header(document, facts, out)
    if out.gvk is None:
        return out
    tree = field_tree(out.gvk, facts.minor) or field_tree(
        Gvk("apiserver.k8s.io/v1beta1", facts.kind), facts.minor
    )
    if tree is None:  # the data files disagree: a packaging bug, not the operator's
        out.errors.append(f"no field data for {out.gvk} in {facts.minor}")
        return out
    _walk(document, tree, FieldPath(), out)
    # Strict decoding reports every unknown field in one error, comma-separated (sigs.k8s.io/json).
    unknown = ", ".join(out.warnings)
    first = out.where.get(out.warnings[0]) if out.warnings else None
    if facts.decoding == "strict" and unknown and first is not None:
        out.error(first, f"strict decoding error: {unknown}")
        out.warnings.clear()
    elif facts.decoding == "strict-then-lenient" and unknown:
        # pkg/audit/policy/reader.go logs this with klog.Warningf and goes on.
        text = (
            "Audit policy contains errors, falling back to lenient decoding: "
            f"strict decoding error: {unknown}"
        )
        out.warnings[:] = [text]
        if first is not None:
            out.where[text] = first
    else:
        for w in out.warnings:
            out.where[f"{w}: kube-apiserver ignores it"] = out.where[w]
        out.warnings[:] = [f"{w}: kube-apiserver ignores it" for w in out.warnings]
    return out


def strings(value: object) -> Sequence[str]:
    """Return a decoded list of strings (decoding already checked the types)."""
    if not isinstance(value, list | tuple):
        return ()
    return [v.value if isinstance(v, Secret) else str(v) for v in value]
