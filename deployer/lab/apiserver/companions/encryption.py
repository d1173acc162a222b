"""Load ``--encryption-provider-config`` as kube-apiserver does, failing with its messages.

Sources (k8s.io/apiserver):
- ``pkg/server/options/etcd.go`` ``ApplyWithStorageFactoryTo``: the error is returned as is;
- ``pkg/server/options/encryptionconfig/config.go`` ``LoadEncryptionConfig`` (``error while
  parsing file: %w``, ``error while building transformers: %w``), ``loadConfig`` (``error while
  loading file: %w`` from v0.29.0; ``error decoding encryption provider configuration file %q:
  %w``; ``got unexpected config type: %v``), ``loadDataAndHash`` (``error opening ...`` up to
  v0.29.x, ``error reading encryption provider configuration file %q: %w`` from v0.30.0;
  ``encryption provider configuration file %q is empty``), the strict decoder from v0.31.0
  (``serializer.EnableStrict``), ``getTransformerOverridesAndKMSPluginProbes`` (``resource %q is
  masked by earlier rule %q``), ``kmsPrefixTransformer`` (the KMSv1 gate), and
  ``computeEncryptionConfigHash`` (``%x`` up to v0.29, ``k8s:enc:unstable:1:%x`` v0.30..v0.33,
  ``sha256:%x`` from v0.34, the form the ``last_config_info`` metric shows);
- ``pkg/apis/apiserver/validation/validation_encryption.go`` ``ValidateEncryptionConfiguration``
  (``pkg/apis/config/validation`` in v0.28, same texts): resources lists, overlaps and names,
  one provider per element (the element printed as upstream prints it), key names, base64 and
  lengths (AES 16/24/32 bytes, secretbox 32), KMS name/endpoint/apiVersion.

Upstream does not refuse ``identity`` anywhere in the list (it is also the usual last entry of a
rotation), so neither does the lab.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from deployer.lab.apiserver.companions import fielderr
from deployer.lab.apiserver.companions.decode import (
    DecodeError,
    FieldTree,
    check_registered,
    parse,
    strict_error,
    unknown_fields,
)
from deployer.lab.apiserver.companions.fielderr import FieldError
from deployer.lab.apiserver.companions.kinds import GROUP, registered

__all__ = ["EncryptionConfig", "config_hash", "load_encryption"]

_KEYS: FieldTree = {"keys": ({"name": None, "secret": None},)}
_PROVIDER: FieldTree = {
    "aesgcm": _KEYS,
    "aescbc": _KEYS,
    "secretbox": _KEYS,
    "identity": {},
    "kms": {"apiVersion": None, "name": None, "cachesize": None, "endpoint": None, "timeout": None},
}
#: ``k8s.io/apiserver/pkg/apis/apiserver/v1/types_encryption.go`` (JSON names).
FIELDS: FieldTree = {
    "apiVersion": None,
    "kind": None,
    "resources": ({"resources": None, "providers": (_PROVIDER,)},),
}
_LEGACY = {"v1": frozenset({"EncryptionConfig"})}
_PROVIDERS = ("aesgcm", "aescbc", "secretbox", "identity", "kms")
_AES_SIZES = (16, 24, 32)
_SECRETBOX_SIZES = (32,)
_ATLEAST = "at least one {} is required"
_NON_REST = ("apiserveripinfo", "serviceipallocations", "servicenodeportallocations")


@dataclass(frozen=True, slots=True)
class EncryptionConfig:
    """A loaded configuration: its content hash and the providers per resource list."""

    hash: str
    resources: tuple[Mapping[str, object], ...]


def _registered(minor: int) -> dict[str, frozenset[str]]:
    """The encryption scheme: the group's v1 kinds from v0.30, its own type before."""
    if minor >= 30:
        return {**registered(minor, ("v1",)), **_LEGACY}
    return {f"{GROUP}/v1": frozenset({"EncryptionConfiguration"}), **_LEGACY}


def config_hash(data: bytes, minor: int) -> str:
    """``computeEncryptionConfigHash`` of the minor."""
    digest = hashlib.sha256(data).hexdigest()
    if minor >= 34:
        return f"sha256:{digest}"
    if minor >= 30:
        return f"k8s:enc:unstable:1:{digest}"
    return digest


def load_encryption(
    path: str, data: bytes | None, minor: int, *, reload: bool, kms_v1: bool
) -> tuple[str | None, EncryptionConfig | None]:
    """``LoadEncryptionConfig``: return ``(error, config)`` for the file at container ``path``.

    Args:
        path: the file's path in the container (as the flag names it).
        data: the file's bytes, ``None`` when the container does not see it.
        minor: the Kubernetes minor.
        reload: ``--encryption-provider-config-automatic-reload``.
        kms_v1: the ``KMSv1`` feature gate.
    """
    loading = "error while loading file: " if minor >= 29 else ""
    if data is None:
        verb = "reading" if minor >= 30 else "opening"
        return (
            f"error while parsing file: {loading}error {verb} encryption provider configuration "
            f'file "{path}": open {path}: no such file or directory',
            None,
        )
    if not data:
        return (
            f"error while parsing file: {loading}encryption provider configuration file "
            f'"{path}" is empty',
            None,
        )
    text = data.decode("utf-8", errors="replace")
    try:
        doc = parse(data)
        check_registered(doc, text, "encryption", minor, _registered(minor))
    except DecodeError as exc:
        return (
            "error while parsing file: error decoding encryption provider configuration file "
            f'"{path}": {exc}',
            None,
        )
    if doc.kind not in ("EncryptionConfiguration", "EncryptionConfig"):
        return (
            f"error while parsing file: got unexpected config type: {GROUP}/v1, Kind={doc.kind}",
            None,
        )
    problems = unknown_fields(doc.body, FIELDS) if minor >= 31 else []
    if problems:
        return (
            "error while parsing file: error decoding encryption provider configuration file "
            f'"{path}": {strict_error(problems)}',
            None,
        )
    body = doc.body if isinstance(doc.body, dict) else {}
    entries = tuple(e if isinstance(e, dict) else {} for e in _list(body.get("resources")))
    errors = validate(entries, reload, minor)
    if errors:
        return "error while parsing file: " + fielderr.aggregate(errors, minor), None
    problem = _transformer_error(entries, minor, kms_v1)
    if problem:
        return f"error while building transformers: {problem}", None
    return None, EncryptionConfig(config_hash(data, minor), entries)


def validate(
    entries: tuple[Mapping[str, object], ...], reload: bool, minor: int
) -> list[FieldError]:
    """``ValidateEncryptionConfiguration``."""
    if not entries:
        return [fielderr.required("resources", _ATLEAST.format("resources"))]
    errors: list[FieldError] = []
    kms_names: set[str] = set()
    for i, entry in enumerate(entries):
        r, p = f"resources[{i}].resources", f"resources[{i}].providers"
        resources = tuple(str(x) for x in _list(entry.get("resources")))
        if not resources:
            errors.append(fielderr.required(r, _ATLEAST.format(r)))
        errors += _overlap(resources, r)
        errors += _names(resources, r)
        providers = [x if isinstance(x, dict) else {} for x in _list(entry.get("providers"))]
        if not providers:
            errors.append(fielderr.required(p, _ATLEAST.format(p)))
        for j, provider in enumerate(providers):
            path = f"{p}[{j}]"
            present = [name for name in _PROVIDERS if provider.get(name) is not None]
            if len(present) != 1:
                detail = _NO_PROVIDER if not present else _SEVERAL_PROVIDERS
                errors.append(fielderr.invalid(path, _provider_literal(provider, minor), detail))
                continue
            name = present[0]
            config = provider[name] if isinstance(provider[name], dict) else {}
            if name == "kms":
                errors += _kms(config, f"{path}.kms", kms_names, reload)
                kms_names.add(str(config.get("name") or ""))
            elif name != "identity":
                sizes = _SECRETBOX_SIZES if name == "secretbox" else _AES_SIZES
                errors += _keys(config.get("keys"), f"{path}.{name}.keys", sizes)
    return errors


_NO_PROVIDER = (
    "provider does not contain any of the expected providers: KMS, AESGCM, AESCBC, Secretbox, "
    "Identity"
)
_SEVERAL_PROVIDERS = (
    "more than one provider specified in a single element, should split into different list "
    "elements"
)
#: ``ProviderConfiguration``'s Go fields, in order, with their pointer types.
_GO_FIELDS = (
    ("AESGCM", "aesgcm", "AESConfiguration"),
    ("AESCBC", "aescbc", "AESConfiguration"),
    ("Secretbox", "secretbox", "SecretboxConfiguration"),
    ("Identity", "identity", "IdentityConfiguration"),
    ("KMS", "kms", "KMSConfiguration"),
)


def _provider_literal(provider: Mapping[str, object], minor: int) -> fielderr.GoLiteral:
    """The internal ``ProviderConfiguration`` as the bad value of a provider element.

    From v0.34 ``json.Marshal`` of the untagged internal struct (Go field names; keys shown in
    clear, as upstream does); before, ``%#v``, where a set pointer is a heap address that
    changes on every run (the lab prints a fixed one). The internal package is ``config`` up to
    v0.29 and ``apiserver`` from v0.30.
    """
    package = "apiserver" if minor >= 30 else "config"
    parts = []
    marshalled: dict[str, object] = {}
    for go_name, key, type_name in _GO_FIELDS:
        value = provider.get(key)
        pointer = "nil" if value is None else "0xc000012345"
        parts.append(f"{go_name}:(*{package}.{type_name})({pointer})")
        marshalled[go_name] = None if value is None else _internal_json(key, value)
    return fielderr.GoLiteral(
        f"{package}.ProviderConfiguration{{{', '.join(parts)}}}",
        json.dumps(marshalled, separators=(",", ":"), ensure_ascii=False),
    )


def _internal_json(key: str, value: object) -> object:
    """One provider's internal struct as ``json.Marshal`` writes it (defaults applied)."""
    config = value if isinstance(value, dict) else {}
    if key == "identity":
        return {}
    if key == "kms":
        version = str(config.get("apiVersion") or "v1")
        cache = config.get("cachesize", 1000 if version == "v1" else None)
        return {
            "APIVersion": version,
            "Name": str(config.get("name") or ""),
            "CacheSize": cache,
            "Endpoint": str(config.get("endpoint") or ""),
            "Timeout": str(config.get("timeout") or "3s"),
        }
    keys = config.get("keys")
    items = [k if isinstance(k, dict) else {} for k in keys] if isinstance(keys, list) else []
    return {
        "Keys": [
            {"Name": str(k.get("name") or ""), "Secret": str(k.get("secret") or "")} for k in items
        ]
        if isinstance(keys, list)
        else None
    }


def _parse_gr(resource: str) -> tuple[str, str]:
    """``schema.ParseGroupResource``: (group, resource)."""
    head, dot, tail = resource.partition(".")
    return (tail, head) if dot else ("", resource)


def _overlap(resources: tuple[str, ...], path: str) -> list[FieldError]:
    if len(resources) < 2:
        return []
    parsed = [_parse_gr(r) for r in resources]
    duplicate = overlap = False
    for i, (g1, r1) in enumerate(parsed):
        for j, (g2, r2) in enumerate(parsed):
            if i == j:
                continue
            if (g1, r1) == (g2, r2) and not duplicate:
                duplicate = True
                continue
            if overlap:
                continue
            if (g1, r1) == ("*", "*") or (g1 == g2 and "*" in (r1, r2)):
                overlap = True
    out = []
    if duplicate:
        out.append(
            fielderr.invalid(
                path, resources, "the same resource cannot be specified multiple times"
            )
        )
    if overlap:
        out.append(
            fielderr.invalid(
                path,
                resources,
                "using overlapping resources such as 'secrets' and '*.' in the same resource list "
                "is not allowed as they will be masked",
            )
        )
    return out


def _names(resources: tuple[str, ...], path: str) -> list[FieldError]:
    out = []
    for j, res in enumerate(resources):
        where = f"{path}[{j}]"
        group, resource = _parse_gr(res)
        if res.lower() != res:
            detail = "resource name should not contain capital letters"
        elif res == "*":
            detail = (
                "use '*.' to encrypt all the resources from core API group or *.* to encrypt all "
                "resources"
            )
        elif res in _NON_REST:
            detail = "resources which do not have REST API/s cannot be encrypted"
        elif group == "events.k8s.io":
            detail = (
                "'*.events.k8s.io' objects are stored using the 'events' API group in etcd. Use "
                "'events' instead in the config file"
            )
        elif group == "extensions":
            detail = "'extensions' group has been removed and cannot be used for encryption"
        elif group == "*" and resource != "*":
            detail = "encrypting the same resource across groups is not supported"
        else:
            continue
        out.append(fielderr.invalid(where, res, detail))
    return out


def _keys(keys: object, path: str, sizes: tuple[int, ...]) -> list[FieldError]:
    items = [k if isinstance(k, dict) else {} for k in _list(keys)]
    if not items:
        return [fielderr.required(path, _ATLEAST.format("keys"))]
    out: list[FieldError] = []
    shown = "[" + " ".join(str(s) for s in sizes) + "]"
    for i, key in enumerate(items):
        where = f"{path}[{i}]"
        if not key.get("name"):
            out.append(fielderr.required(f"{where}.name", "name is a mandatory field for a key"))
        secret = str(key.get("secret") or "")
        if not secret:
            out.append(
                fielderr.required(f"{where}.secret", "secret is a mandatory field for a key")
            )
            continue
        try:
            raw = base64.b64decode(secret, validate=True)
        except (binascii.Error, ValueError):
            out.append(
                fielderr.invalid(f"{where}.secret", "REDACTED", "secrets must be base64 encoded")
            )
            continue
        if len(raw) not in sizes:
            out.append(
                fielderr.invalid(
                    f"{where}.secret",
                    "REDACTED",
                    f"secret is not of the expected length, got {len(raw)}, "
                    f"expected one of {shown}",
                )
            )
    return out


def _kms(config: Mapping[str, object], path: str, seen: set[str], reload: bool) -> list[FieldError]:
    out: list[FieldError] = []
    name = str(config.get("name") or "")
    version = str(config.get("apiVersion") or "v1")  # SetDefaults_KMSConfiguration
    if not name:
        out.append(fielderr.required(f"{path}.name", "name is a mandatory field for a provider"))
    if version != "v1" and ":" in name:
        detail = f"invalid KMS provider name {name}, must not contain ':'"
        out.append(fielderr.invalid(f"{path}.name", name, detail))
    if (reload or version != "v1") and name in seen:
        detail = f"duplicate KMS provider name {name}, names must be unique"
        out.append(fielderr.invalid(f"{path}.name", name, detail))
    endpoint = str(config.get("endpoint") or "")
    if not endpoint:
        detail = "endpoint is a mandatory field for a kms"
        out.append(fielderr.invalid(f"{path}.endpoint", "", detail))
    else:
        scheme = urlsplit(endpoint).scheme
        if scheme != "unix":
            detail = f'unsupported scheme "{scheme}" for KMS provider, only unix is supported'
            out.append(fielderr.invalid(f"{path}.endpoint", endpoint, detail))
    if version not in ("v1", "v2"):
        detail = "unsupported apiVersion apiVersion for KMS provider, only v1 and v2 are supported"
        out.append(fielderr.invalid(f"{path}.apiVersion", version, detail))
    return out


def _transformer_error(entries: tuple[Mapping[str, object], ...], minor: int, kms_v1: bool) -> str:
    """The first error building the transformers: masked resources, then a KMSv1 provider."""
    seen: set[tuple[str, str]] = set()
    for entry in entries:
        for provider in _list(entry.get("providers")):
            kms = provider.get("kms") if isinstance(provider, dict) else None
            version = str(kms.get("apiVersion") or "v1") if isinstance(kms, dict) else ""
            if version == "v1" and minor >= 29 and not kms_v1:
                return (
                    "KMSv1 is deprecated and will only receive security updates going forward. "
                    "Use KMSv2 instead.  Set --feature-gates=KMSv1=true to use the deprecated "
                    "KMSv1 feature."
                )
        for resource in _list(entry.get("resources")):
            group, name = _parse_gr(str(resource))
            for mask in ((group, "*"), ("*", "*")):
                if mask in seen:
                    masked, rule = _gr_text(group, name), _gr_text(*mask)
                    return f'resource "{masked}" is masked by earlier rule "{rule}"'
            seen.add((group, name))
    return ""


def _gr_text(group: str, resource: str) -> str:
    """``grYAMLString``."""
    if not group and resource == "*":
        return "*."
    return f"{resource}.{group}" if group else resource


def _list(value: object) -> list[object]:
    return value if isinstance(value, list) else []
