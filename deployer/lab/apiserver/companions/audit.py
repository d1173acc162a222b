"""Load ``--audit-policy-file`` as kube-apiserver does, failing with its messages.

Sources (k8s.io/apiserver, identical in v0.28.0..v0.37.0-beta.0):
- ``pkg/server/options/audit.go`` ``newPolicyRuleEvaluator``: ``loading audit policy file: %v``
  (the policy is read whether or not a log or webhook backend is configured);
- ``pkg/audit/policy/reader.go`` ``LoadPolicyFromFile``/``LoadPolicyFromBytes``: ``failed to
  read file path %q: %+v``; ``failed decoding: %w`` then ``: from file <path>``; strict decoding
  first and, when only strictness failed, a lenient decode with the warning ``Audit policy
  contains errors, falling back to lenient decoding: ...``; the group version must be
  ``audit.k8s.io/v1`` (``unknown group version field %v in policy``, where a missing
  apiVersion was defaulted to the internal version by the decoder); ``loaded illegal policy
  with 0 rules``;
- ``pkg/apis/audit/validation/validation.go`` ``ValidatePolicy``: levels, omitStages,
  nonResourceURLs, resources (group names, resourceNames without resources), and a rule on both
  resources and non-resource URLs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from deployer.lab.apiserver.companions import fielderr
from deployer.lab.apiserver.companions.decode import (
    DecodeError,
    FieldTree,
    parse,
    scheme_name,
    strict_error,
    unknown_fields,
)
from deployer.lab.apiserver.companions.fielderr import FieldError

__all__ = ["AuditPolicy", "load_policy", "policy_error"]

LEVELS = ("None", "Metadata", "Request", "RequestResponse")
STAGES = ("RequestReceived", "ResponseStarted", "ResponseComplete", "Panic")
_GROUP = "audit.k8s.io"

_RESOURCES: FieldTree = {"group": None, "resources": None, "resourceNames": None}
_RULE: FieldTree = {
    "level": None,
    "users": None,
    "userGroups": None,
    "verbs": None,
    "resources": (_RESOURCES,),
    "namespaces": None,
    "nonResourceURLs": None,
    "omitStages": None,
    "omitManagedFields": None,
}
#: ``k8s.io/apiserver/pkg/apis/audit/v1/types.go`` ``Policy``; ``metadata`` is an ObjectMeta.
POLICY_FIELDS: FieldTree = {
    "apiVersion": None,
    "kind": None,
    "metadata": None,
    "rules": (_RULE,),
    "omitStages": None,
    "omitManagedFields": None,
}

#: DNS-1123 subdomain (``validation.NameIsDNSSubdomain`` without prefix).
_DNS1123_SUBDOMAIN = re.compile(
    r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
)
_DNS1123_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used "
    "for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)


@dataclass(frozen=True, slots=True)
class AuditPolicy:
    """A loaded policy: its rules as the file gives them, and the decoder's warning if any."""

    rules: tuple[Mapping[str, object], ...]
    omit_stages: tuple[str, ...]
    warning: str | None


def policy_error(
    path: str, data: bytes | None, minor: int
) -> tuple[str | None, AuditPolicy | None]:
    """Return ``(error, policy)`` for the file at container ``path`` (``data`` None: missing).

    The error is the full text kube-apiserver fails with, wrapper included.
    """
    if data is None:
        return (
            f'loading audit policy file: failed to read file path "{path}": '
            f"open {path}: no such file or directory",
            None,
        )
    try:
        policy = load_policy(data, minor)
    except DecodeError as exc:
        return f"loading audit policy file: {exc}: from file {path}", None
    except _Invalid as exc:
        return f"loading audit policy file: {exc}", None
    return None, policy


class _Invalid(Exception):
    """Decoded but refused (the message carries no ``from file`` suffix, as upstream)."""


def load_policy(data: bytes, minor: int) -> AuditPolicy:
    """``LoadPolicyFromBytes``.

    Raises:
        DecodeError: ``failed decoding: ...`` (the caller adds the file).
        _Invalid: wrong group version, validation errors, no rules.
    """
    try:
        doc = parse(data)
    except DecodeError as exc:
        raise DecodeError(f"failed decoding: {exc}") from exc
    group, version = _split(doc.api_version)
    kind = doc.kind or "Policy"  # the decoder defaults the kind from the target type
    if not group and not version:
        group, version = _GROUP, "__internal"
    if kind != "Policy" or (group, version) not in ((_GROUP, "v1"), (_GROUP, "__internal")):
        if version == "__internal":
            message = (
                f'no kind "{kind}" is registered for the internal version of group "{group}" '
                f'in scheme "{scheme_name("audit", minor)}"'
            )
        else:
            gv = f"{group}/{version}" if group else version
            message = (
                f'no kind "{kind}" is registered for version "{gv}" '
                f'in scheme "{scheme_name("audit", minor)}"'
            )
        raise DecodeError(f"failed decoding: {message}")
    problems = unknown_fields(doc.body, POLICY_FIELDS)
    warning = None
    if problems:
        warning = "Audit policy contains errors, falling back to lenient decoding: " + strict_error(
            problems
        )
    if version != "v1":
        raise _Invalid(f"unknown group version field {group}/{version}, Kind={kind} in policy")
    body = doc.body if isinstance(doc.body, dict) else {}
    rules = tuple(r if isinstance(r, dict) else {} for r in _list(body.get("rules")))
    errors = validate_policy(body, rules)
    if errors:
        raise _Invalid(fielderr.aggregate(errors, minor))
    if not rules:
        raise _Invalid("loaded illegal policy with 0 rules")
    omit = tuple(str(s) for s in _list(body.get("omitStages")))
    return AuditPolicy(rules, omit, warning)


def validate_policy(
    body: Mapping[str, object], rules: tuple[Mapping[str, object], ...]
) -> list[FieldError]:
    """``ValidatePolicy``: the policy's omitStages, then each rule in order."""
    errors = _omit_stages(body.get("omitStages"), "omitStages")
    for index, rule in enumerate(rules):
        errors += _rule(rule, f"rules[{index}]")
    return errors


def _rule(rule: Mapping[str, object], path: str) -> list[FieldError]:
    errors: list[FieldError] = []
    level = rule.get("level")
    level_text = "" if level is None else str(level)
    if level_text == "":
        errors.append(fielderr.required(f"{path}.level"))
    elif level_text not in LEVELS:
        errors.append(fielderr.not_supported(f"{path}.level", level_text, LEVELS))
    urls = [str(u) for u in _list(rule.get("nonResourceURLs"))]
    for index, url in enumerate(urls):
        if url == "*":
            continue
        where = f"{path}.nonResourceURLs[{index}]"
        if not url.startswith("/"):
            errors.append(
                fielderr.invalid(
                    where, url, "non-resource URL rules must begin with a '/' character"
                )
            )
        if url and "*" in url[:-1]:
            errors.append(
                fielderr.invalid(
                    where,
                    url,
                    "non-resource URL wildcards '*' must be the final character of the rule",
                )
            )
    resources = [r if isinstance(r, dict) else {} for r in _list(rule.get("resources"))]
    for resource in resources:
        group = str(resource.get("group") or "")
        if group and group != "*" and not _is_dns_subdomain(group):
            errors.append(fielderr.invalid(f"{path}.resources.group", group, _DNS1123_MSG))
        names = tuple(str(n) for n in _list(resource.get("resourceNames")))
        if names and not _list(resource.get("resources")):
            errors.append(
                fielderr.invalid(
                    f"{path}.resources.resourceNames",
                    names,
                    "using resourceNames requires at least one resource",
                )
            )
    errors += _omit_stages(rule.get("omitStages"), f"{path}.omitStages")
    if urls and (resources or _list(rule.get("namespaces"))):
        errors.append(
            fielderr.invalid(
                f"{path}.nonResourceURLs",
                tuple(urls),
                "rules cannot apply to both regular resources and non-resource URLs",
            )
        )
    return errors


def _omit_stages(value: object, path: str) -> list[FieldError]:
    return [
        fielderr.invalid(f"{path}[{index}]", str(stage), "allowed stages are " + ",".join(STAGES))
        for index, stage in enumerate(_list(value))
        if str(stage) not in STAGES
    ]


def _is_dns_subdomain(name: str) -> bool:
    return len(name) <= 253 and _DNS1123_SUBDOMAIN.match(name) is not None


def _split(api_version: str) -> tuple[str, str]:
    """``schema.ParseGroupVersion`` as the JSON meta interpreter uses it (bad text: empty)."""
    if not api_version:
        return "", ""
    parts = api_version.split("/")
    if len(parts) == 1:
        return "", parts[0]
    if len(parts) == 2:
        return parts[0], parts[1]
    return "", ""


def _list(value: object) -> list[object]:
    return value if isinstance(value, list) else []
