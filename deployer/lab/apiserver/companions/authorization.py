"""Load ``--authorization-config`` as kube-apiserver's ``Validate()`` does, with its messages.

Sources:
- k8s.io/kubernetes ``pkg/kubeapiserver/options/authorization.go`` ``Validate``: the file is
  loaded and validated while the options are validated, so its error joins the ``Validate()``
  aggregate (before any port is opened);
- ``pkg/kubeapiserver/authorizer/config.go`` ``LoadAndValidateFile``/``LoadAndValidateData``:
  from 1.30 a read error is returned as is (``open <path>: no such file or directory``; 1.29
  read inside the load wrapper), a decode error as ``failed to load AuthorizationConfiguration
  from file: %w``, validation errors as their aggregate, then kube-apiserver's own checks: a
  non-webhook authorizer must be named after its type in lower case (``expected name %s for
  authorizer %s instead of %s``) and, on reload, keep every non-webhook type it started with
  (``missing required types: %v``);
- k8s.io/apiserver ``pkg/apis/apiserver/load/load.go`` ``LoadFromData``: strict codecs of a
  scheme with v1alpha1 (v0.29), v1beta1 (v0.30), v1 (v0.32);
- k8s.io/apiserver ``pkg/apis/apiserver/validation/validation.go``
  ``ValidateAuthorizationConfiguration`` and ``ValidateWebhookConfiguration`` (unchanged
  v0.29..v0.37 apart from the CEL compiler argument): authorizer types (the kube-apiserver
  modes), names, the webhook's timeout, SubjectAccessReview versions, failurePolicy and
  connectionInfo. The webhook's fields are reported under ``authorizers[i]`` itself, as upstream
  passes the authorizer's path down. ``authorizedTTL``/``unauthorizedTTL`` are defaulted (5m,
  30s) before validation, as ``SetDefaults_WebhookConfiguration`` does.

Left out: match condition CEL compilation, and the kube-level checks after validation.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Callable, Mapping

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
from deployer.lab.apiserver.companions.kinds import registered
from deployer.lab.apiserver.flags import go_duration, parse_go_duration
from deployer.lab.apiserver.klog import go_quote

__all__ = ["authorization_error", "load_and_validate", "non_webhook_types"]

#: ``authzmodes.AuthorizationModeChoices``, sorted as ``sets.List`` prints them.
MODES = ("ABAC", "AlwaysAllow", "AlwaysDeny", "Node", "RBAC", "Webhook")
_REPEATABLE = frozenset({"Webhook"})
#: The authorizer level is checked; a webhook's own fields differ by minor and are not.
FIELDS: FieldTree = {
    "apiVersion": None,
    "kind": None,
    "authorizers": ({"type": None, "name": None, "webhook": None},),
}
_DNS1123 = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_DNS1123_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used "
    "for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)


def authorization_error(
    path: str,
    data: bytes | None,
    minor: int,
    is_file: Callable[[str], bool],
    required: frozenset[str] = frozenset(),
) -> str | None:
    """Return ``LoadAndValidateFile``'s error for the file at container ``path``, or ``None``.

    Args:
        path: the file's path in the container (as the flag names it).
        data: the file's bytes, ``None`` when the container does not see it.
        minor: the Kubernetes minor.
        is_file: whether a container path is a regular file (a webhook's kubeConfigFile).
        required: the non-webhook authorizer types a reload must keep (empty at startup).
    """
    if data is None:
        missing = f"open {path}: no such file or directory"
        # 1.29 read through load.LoadFromFile, inside the wrapper; 1.30+ reads first.
        return f"{_LOAD_WRAP}{missing}" if minor < 30 else missing
    return load_and_validate(data, minor, is_file, required)


_LOAD_WRAP = "failed to load AuthorizationConfiguration from file: "


def load_and_validate(
    data: bytes, minor: int, is_file: Callable[[str], bool], required: frozenset[str]
) -> str | None:
    """``LoadAndValidateData``: decode, validate, then kube-apiserver's own two checks."""
    text = data.decode("utf-8", errors="replace")
    body: Mapping[str, object] = {}
    if data:  # an empty file is the default configuration, without authorizers (LoadFromData)
        try:
            doc = parse(data)
            check_registered(doc, text, "authorization", minor, registered(minor))
        except DecodeError as exc:
            return f"{_LOAD_WRAP}{exc}"
        if doc.kind != "AuthorizationConfiguration":
            return f"{_LOAD_WRAP}expected AuthorizationConfiguration, got *apiserver.{doc.kind}"
        problems = unknown_fields(doc.body, FIELDS)
        if problems:
            return f"{_LOAD_WRAP}{strict_error(problems)}"
        body = doc.body if isinstance(doc.body, dict) else {}
    errors = validate(body, is_file)
    if errors:
        return fielderr.aggregate(errors, minor)
    messages = []
    seen: set[str] = set()
    for authorizer in _authorizers(body):
        kind = str(authorizer.get("type") or "")
        if kind == "Webhook":
            continue
        seen.add(kind)
        name = str(authorizer.get("name") or "")
        if name != kind.lower():
            messages.append(f"expected name {kind.lower()} for authorizer {kind} instead of {name}")
    missing = sorted(required - seen)
    if missing:
        messages.append(f"missing required types: [{' '.join(missing)}]")
    if not messages:
        return None
    return messages[0] if len(messages) == 1 else "[" + ", ".join(messages) + "]"


def non_webhook_types(data: bytes) -> frozenset[str]:
    """The authorizer types (Webhook aside) a reload must keep (``requireNonWebhookTypes``)."""
    try:
        body = parse(data).body
    except DecodeError:
        return frozenset()
    types = {str(a.get("type") or "") for a in _authorizers(body if isinstance(body, dict) else {})}
    return frozenset(types - {"Webhook", ""})


def _authorizers(body: Mapping[str, object]) -> list[dict[str, object]]:
    raw = body.get("authorizers")
    return [a if isinstance(a, dict) else {} for a in raw] if isinstance(raw, list) else []


def validate(body: Mapping[str, object], is_file: Callable[[str], bool]) -> list[FieldError]:
    """``ValidateAuthorizationConfiguration`` with kube-apiserver's known and repeatable types."""
    authorizers = body.get("authorizers")
    items = (
        [a if isinstance(a, dict) else {} for a in authorizers]
        if isinstance(authorizers, list)
        else []
    )
    if not items:
        return [fielderr.required("authorizers", "at least one authorization mode must be defined")]
    errors: list[FieldError] = []
    types: set[str] = set()
    names: set[str] = set()
    for i, authorizer in enumerate(items):
        path = f"authorizers[{i}]"
        kind = str(authorizer.get("type") or "")
        if not kind:
            errors.append(fielderr.required(f"{path}.type"))
            continue
        if kind not in MODES:
            errors.append(fielderr.not_supported(f"{path}.type", kind, MODES))
            continue
        if kind in types and kind not in _REPEATABLE:
            errors.append(fielderr.duplicate(f"{path}.type", kind))
            continue
        types.add(kind)
        name = str(authorizer.get("name") or "")
        if not name:
            errors.append(fielderr.required(f"{path}.name"))
        elif name in names:
            errors.append(fielderr.duplicate(f"{path}.name", name))
        elif len(name) > 253 or not _DNS1123.match(name):
            detail = "authorizer name is invalid: " + (
                "must be no more than 253 characters" if len(name) > 253 else _DNS1123_MSG
            )
            errors.append(fielderr.invalid(f"{path}.name", name, detail))
        names.add(name)
        webhook = authorizer.get("webhook")
        if kind == "Webhook":
            if not isinstance(webhook, dict):
                errors.append(fielderr.required(f"{path}.webhook", "required when type=Webhook"))
                continue
            errors += _webhook(webhook, path, is_file)
        elif webhook is not None:
            errors.append(
                fielderr.invalid(
                    f"{path}.webhook", "non-null", "may only be specified when type=Webhook"
                )
            )
    return errors


def _seconds(value: object) -> float:
    return parse_go_duration(str(value)) if value not in (None, "") else 0.0


def _webhook(
    c: Mapping[str, object], path: str, is_file: Callable[[str], bool]
) -> list[FieldError]:
    errors: list[FieldError] = []
    timeout = _seconds(c.get("timeout"))
    if timeout == 0:
        errors.append(fielderr.required(f"{path}.timeout"))
    elif timeout > 30 or timeout < 0:
        errors.append(
            fielderr.invalid(f"{path}.timeout", go_duration(timeout), "must be > 0s and <= 30s")
        )
    for field in ("authorizedTTL", "unauthorizedTTL"):
        if _seconds(c.get(field)) < 0:
            shown = go_duration(_seconds(c.get(field)))
            errors.append(fielderr.invalid(f"{path}.{field}", shown, "must be > 0s"))
    sar = str(c.get("subjectAccessReviewVersion") or "")
    if not sar:
        errors.append(fielderr.required(f"{path}.subjectAccessReviewVersion"))
    elif sar not in ("v1", "v1beta1"):
        errors.append(
            fielderr.not_supported(f"{path}.subjectAccessReviewVersion", sar, ("v1", "v1beta1"))
        )
    match_sar = str(c.get("matchConditionSubjectAccessReviewVersion") or "")
    conditions = c.get("matchConditions")
    if not match_sar and isinstance(conditions, list) and conditions:
        errors.append(
            fielderr.required(
                f"{path}.matchConditionSubjectAccessReviewVersion",
                "required if match conditions are specified",
            )
        )
    elif match_sar and match_sar != "v1":
        errors.append(
            fielderr.not_supported(
                f"{path}.matchConditionSubjectAccessReviewVersion", match_sar, ("v1",)
            )
        )
    policy = str(c.get("failurePolicy") or "")
    if not policy:
        errors.append(fielderr.required(f"{path}.failurePolicy"))
    elif policy not in ("NoOpinion", "Deny"):
        errors.append(
            fielderr.not_supported(f"{path}.failurePolicy", policy, ("NoOpinion", "Deny"))
        )
    errors += _connection(c.get("connectionInfo"), path, is_file)
    return errors


def _connection(info: object, path: str, is_file: Callable[[str], bool]) -> list[FieldError]:
    info = info if isinstance(info, dict) else {}
    kind = str(info.get("type") or "")
    kubeconfig = info.get("kubeConfigFile")
    where = f"{path}.connectionInfo.kubeConfigFile"
    if not kind:
        return [fielderr.required(f"{path}.connectionInfo.type")]
    if kind == "InClusterConfig":
        if kubeconfig is not None:
            return [
                fielderr.invalid(where, str(kubeconfig), "can only be set when type=KubeConfigFile")
            ]
        return []
    if kind == "KubeConfigFile":
        file = str(kubeconfig or "")
        if not file:
            return [fielderr.required(where)]
        if not posixpath.isabs(file):
            return [fielderr.invalid(where, file, "must be an absolute path")]
        if not is_file(file):
            detail = f"error loading file: stat {file}: no such file or directory"
            return [fielderr.invalid(where, file, detail)]
        return []
    # The bad value is the whole WebhookConnectionInfo struct. Up to v0.33 Go prints a set
    # kubeConfigFile as a heap address, which differs on every run; the lab prints a fixed one.
    pointer = "(*string)(nil)" if kubeconfig is None else "(*string)(0xc000012345)"
    literal = fielderr.GoLiteral(
        f"apiserver.WebhookConnectionInfo{{Type:{go_quote(kind)}, KubeConfigFile:{pointer}}}",
        json.dumps(
            {"Type": kind, "KubeConfigFile": None if kubeconfig is None else str(kubeconfig)},
            separators=(",", ":"),
        ),
    )
    return [
        fielderr.not_supported(
            f"{path}.connectionInfo.type", literal, ("InClusterConfig", "KubeConfigFile")
        )
    ]
