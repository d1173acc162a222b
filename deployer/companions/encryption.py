"""``EncryptionConfiguration``: the checks of ``--encryption-provider-config`` at startup.

Follows k8s.io/apiserver ``pkg/apis/apiserver/validation/validation_encryption.go`` (identical
from v0.28.0, where it lived in ``pkg/apis/config/validation``, to v0.37.0-beta.0), the defaults
of ``pkg/apis/apiserver/v1/defaults.go`` (KMS ``apiVersion: v1``, ``timeout: 3s``, ``cachesize:
1000`` for v1) applied before validation, and the two checks of
``pkg/server/options/encryptionconfig/config.go`` that come after it (a resource masked by an
earlier ``*.group`` / ``*.*`` rule; KMS v1 refused while the ``KMSv1`` gate is off, from 1.29).

Keys are never printed: upstream passes ``"REDACTED"`` as the bad value, and so do we.
"""

from __future__ import annotations

import base64
import binascii

from deployer.companions.document import Context, Node
from deployer.companions.fielderrors import (
    FieldError,
    FieldPath,
    Literal,
    invalid,
    required,
)
from deployer.companions.gourl import GoURLError, parse_url
from deployer.schema.gostrconv import go_quote
from deployer.schema.gotime import format_duration, parse_duration

__all__ = ["KEY_SIZES", "secret_key_paths", "validate_encryption"]

#: Decoded key lengths in bytes (crypto/aes NewCipher; nacl/secretbox).
KEY_SIZES = {"aescbc": (16, 24, 32), "aesgcm": (16, 24, 32), "secretbox": (32,)}
_PROVIDERS = ("kms", "aesgcm", "aescbc", "secretbox", "identity")

_AT_LEAST_ONE = "at least one {} is required"
_MANDATORY = "{} is a mandatory field for a {}"
_KMSV1_OFF = (
    "KMSv1 is deprecated and will only receive security updates going forward. Use KMSv2 "
    "instead.  Set --feature-gates=KMSv1=true to use the deprecated KMSv1 feature."
)


def _group_resource(text: str) -> tuple[str, str]:
    """``schema.ParseGroupResource``: (group, resource), split at the first dot."""
    resource, dot, group = text.partition(".")
    return (group, resource) if dot else ("", text)


def _gr_string(group: str, resource: str) -> str:
    """``grYAMLString``: ``*.`` for all core resources, else ``GroupResource.String()``."""
    if group == "" and resource == "*":
        return "*."
    return f"{resource}.{group}" if group else resource


def _overlap(resources: list[str], path: FieldPath) -> list[FieldError]:
    if len(resources) < 2:
        return []
    parsed = [_group_resource(r) for r in resources]
    has_overlap = has_duplicate = False
    for i, r1 in enumerate(parsed):
        for j, r2 in enumerate(parsed):
            if i == j:
                continue
            if r1 == r2 and not has_duplicate:
                has_duplicate = True
                continue
            if has_overlap:
                continue
            if r1 == ("*", "*"):
                has_overlap = True
                continue
            if r1[0] != r2[0]:
                continue
            if r1[1] == "*" or r2[1] == "*":
                has_overlap = True
    errs = []
    if has_duplicate:
        errs.append(
            invalid(path, resources, "the same resource cannot be specified multiple times")
        )
    if has_overlap:
        errs.append(
            invalid(
                path,
                resources,
                "using overlapping resources such as 'secrets' and '*.' in the same resource "
                "list is not allowed as they will be masked",
            )
        )
    return errs


def _resource_name(res: str) -> str | None:
    """Return the error detail for one entry of ``resources``, or None."""
    if res.lower() != res:
        return "resource name should not contain capital letters"
    if res == "*":
        return (
            "use '*.' to encrypt all the resources from core API group or *.* to encrypt all "
            "resources"
        )
    if res in ("apiserveripinfo", "serviceipallocations", "servicenodeportallocations"):
        return "resources which do not have REST API/s cannot be encrypted"
    group, resource = _group_resource(res)
    if group == "events.k8s.io":
        return (
            "'*.events.k8s.io' objects are stored using the 'events' API group in etcd. Use "
            "'events' instead in the config file"
        )
    if group == "extensions":
        return "'extensions' group has been removed and cannot be used for encryption"
    if group == "*" and resource != "*":
        return "encrypting the same resource across groups is not supported"
    return None


def _keys(keys: list[Node], path: FieldPath, sizes: tuple[int, ...]) -> list[FieldError]:
    if not keys:
        return [required(path, _AT_LEAST_ONE.format("keys"))]
    errs = []
    for i, key in enumerate(keys):
        kpath = path.index(i)
        if key.text("name") == "":
            errs.append(required(kpath.child("name"), _MANDATORY.format("name", "key")))
        secret = key.text("secret")
        if secret == "":
            errs.append(required(kpath.child("secret"), _MANDATORY.format("secret", "key")))
            continue
        try:
            # Go's base64.StdEncoding ignores CR and LF; padding is required.
            raw = base64.b64decode(secret.replace("\r", "").replace("\n", ""), validate=True)
        except (binascii.Error, ValueError):
            errs.append(
                invalid(kpath.child("secret"), "REDACTED", "secrets must be base64 encoded")
            )
            continue
        if len(raw) not in sizes:
            expected = "[" + " ".join(str(s) for s in sizes) + "]"
            detail = (
                f"secret is not of the expected length, got {len(raw)}, expected one of {expected}"
            )
            errs.append(invalid(kpath.child("secret"), "REDACTED", detail))
    return errs


def _kms(kms: Node, path: FieldPath, names: set[str], reload: bool) -> list[FieldError]:
    api_version = kms.text("apiVersion") or "v1"
    name = kms.text("name")
    errs = []
    if name == "":
        errs.append(required(path.child("name"), _MANDATORY.format("name", "provider")))
    if api_version != "v1" and ":" in name:
        errs.append(
            invalid(
                path.child("name"), name, f"invalid KMS provider name {name}, must not contain ':'"
            )
        )
    if (reload or api_version != "v1") and name in names:
        errs.append(
            invalid(
                path.child("name"),
                name,
                f"duplicate KMS provider name {name}, names must be unique",
            )
        )
    timeout = parse_duration(kms.text("timeout")) if kms.has("timeout") else 3_000_000_000
    if timeout <= 0:
        shown = Literal(f"v1.Duration{{Duration:{timeout}}}", go_quote(format_duration(timeout)))
        errs.append(invalid(path.child("timeout"), shown, "timeout should be a positive value"))
    errs += _kms_endpoint(kms.text("endpoint"), path.child("endpoint"))
    cache = kms.raw("cachesize")
    if api_version != "v1" and cache is not None:
        errs.append(invalid(path.child("cachesize"), cache, "cachesize is not supported in v2"))
    if api_version == "v1" and cache == 0:
        errs.append(
            invalid(
                path.child("cachesize"),
                0,
                "cachesize should be a positive value, or negative to disable",
            )
        )
    if api_version not in ("v1", "v2"):
        errs.append(
            invalid(
                path.child("apiVersion"),
                api_version,
                "unsupported apiVersion apiVersion for KMS provider, only v1 and v2 are supported",
            )
        )
    return errs


def _kms_endpoint(endpoint: str, path: FieldPath) -> list[FieldError]:
    if endpoint == "":
        return [invalid(path, "", _MANDATORY.format("endpoint", "kms"))]
    try:
        url = parse_url(endpoint)
    except GoURLError as exc:
        return [invalid(path, endpoint, f"invalid endpoint for kms provider, error: {exc}")]
    if url.scheme != "unix":
        return [
            invalid(
                path,
                endpoint,
                f"unsupported scheme {go_quote(url.scheme)} for KMS provider, only unix is "
                "supported",
            )
        ]
    return []


def _provider(provider: Node, path: FieldPath, names: set[str], reload: bool) -> list[FieldError]:
    # A null provider (``identity:`` with no value) is a nil pointer in Go: not present.
    present = [p for p in _PROVIDERS if provider.has(p)]
    # Upstream prints the whole struct, keys included; we print only which providers it has.
    shown = Literal(
        "apiserver.ProviderConfiguration{" + ", ".join(present) + "}",
        "{" + ",".join(f'"{p}":{{...}}' for p in present) + "}",
    )
    if not present:
        return [
            invalid(
                path,
                shown,
                "provider does not contain any of the expected providers: KMS, AESGCM, AESCBC, "
                "Secretbox, Identity",
            )
        ]
    if len(present) > 1:
        return [
            invalid(
                path,
                shown,
                "more than one provider specified in a single element, should split into "
                "different list elements",
            )
        ]
    kind = present[0]
    if kind == "kms":
        errs = _kms(provider.node("kms"), path.child("kms"), names, reload)
        names.add(provider.node("kms").text("name"))
        return errs
    if kind in KEY_SIZES:
        return _keys(provider.node(kind).nodes("keys"), path.child(kind, "keys"), KEY_SIZES[kind])
    return []


def _masked_by_earlier(doc: Node) -> list[str]:
    """``getTransformerOverridesAndKMSPluginHealthzCheckers``: a rule hidden by an earlier one."""
    seen: set[tuple[str, str]] = set()
    for conf in doc.nodes("resources"):
        for text in conf.strs("resources"):
            group, resource = _group_resource(text)
            for mask in ((group, "*"), ("*", "*")):
                if mask in seen:
                    return [
                        f"resource {go_quote(_gr_string(group, resource))} is masked by earlier "
                        f"rule {go_quote(_gr_string(*mask))}"
                    ]
            seen.add((group, resource))
    return []


def validate_encryption(
    doc: Node, ctx: Context, *, reload: bool = False
) -> tuple[list[FieldError], list[str], list[str]]:
    """Return ``ValidateEncryptionConfiguration``'s errors, the loader's errors, and warnings.

    ``reload`` is ``--encryption-provider-config-automatic-reload`` (KMS v1 names must then be
    unique too).
    """
    root = FieldPath(("resources",))
    confs = doc.nodes("resources")
    if not confs:
        return [required(root, _AT_LEAST_ONE.format("resources"))], [], []
    errs: list[FieldError] = []
    warnings: list[str] = []
    names: set[str] = set()
    for i, conf in enumerate(confs):
        rpath, ppath = root.index(i).child("resources"), root.index(i).child("providers")
        resources = conf.strs("resources")
        if not resources:
            errs.append(required(rpath, _AT_LEAST_ONE.format(rpath)))
        errs += _overlap(resources, rpath)
        for j, res in enumerate(resources):
            detail = _resource_name(res)
            if detail:
                errs.append(invalid(rpath.index(j), res, detail))
        providers = conf.nodes("providers")
        if not providers:
            errs.append(required(ppath, _AT_LEAST_ONE.format(ppath)))
        for j, provider in enumerate(providers):
            errs += _provider(provider, ppath.index(j), names, reload)
        first = [p for p in _PROVIDERS if providers[0].has(p)] if providers else []
        if len(providers) > 1 and first == ["identity"]:
            warnings.append(
                f"{ppath.index(0)}: identity is the first provider, so {', '.join(resources)} "
                "are written to etcd unencrypted (the other providers only decrypt)"
            )
    if errs:
        return errs, [], warnings
    loader = _masked_by_earlier(doc)
    kms_v1 = any(
        p.has("kms") and (p.node("kms").text("apiVersion") or "v1") == "v1"
        for conf in confs
        for p in conf.nodes("providers")
    )
    if not loader and kms_v1 and not ctx.gate("KMSv1"):
        loader = [_KMSV1_OFF]
    return errs, loader, warnings


def secret_key_paths(doc: Node) -> list[FieldPath]:
    """Return the paths of every key secret, for the clear-text check and masking."""
    out = []
    root = FieldPath(("resources",))
    for i, conf in enumerate(doc.nodes("resources")):
        for j, provider in enumerate(conf.nodes("providers")):
            for kind in KEY_SIZES:
                for k, _key in enumerate(provider.node(kind).nodes("keys")):
                    path = root.index(i).child("providers").index(j).child(kind, "keys")
                    out.append(path.index(k).child("secret"))
    return out
