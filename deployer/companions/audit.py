"""Audit ``Policy`` (``audit.k8s.io/v1``): the checks of ``--audit-policy-file`` at startup.

Follows k8s.io/apiserver ``pkg/apis/audit/validation/validation.go`` (``ValidatePolicy``) and
``pkg/audit/policy/reader.go`` (``LoadPolicyFromBytes``: zero rules is fatal). Identical from
v0.28.0 to v0.37.0-beta.0 except that v0.36.0 accepts ``group: "*"`` in a rule's resources.
The group check is apimachinery's ``NameIsDNSSubdomain`` (``IsDNS1123Subdomain``).
"""

from __future__ import annotations

import re

from deployer.companions.document import Context, Node
from deployer.companions.fielderrors import (
    FieldError,
    FieldPath,
    invalid,
    not_supported,
    required,
)

__all__ = ["LEVELS", "STAGES", "dns1123_subdomain_errors", "validate_policy"]

#: ``audit.Level`` values, in the order upstream lists them.
LEVELS = ("None", "Metadata", "Request", "RequestResponse")
#: ``audit.Stage`` values accepted in ``omitStages``.
STAGES = ("RequestReceived", "ResponseStarted", "ResponseComplete", "Panic")

# k8s.io/apimachinery pkg/util/validation/validation.go
_DNS1123_LABEL = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_SUBDOMAIN = _DNS1123_LABEL + "(\\." + _DNS1123_LABEL + ")*"
_SUBDOMAIN_RE = re.compile(_DNS1123_SUBDOMAIN)
_SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
    "'.', and must start and end with an alphanumeric character"
)


def dns1123_subdomain_errors(value: str) -> list[str]:
    """Return apimachinery's ``IsDNS1123Subdomain`` messages for ``value``."""
    errs = []
    if len(value) > 253:
        errs.append("must be no more than 253 characters")
    if not _SUBDOMAIN_RE.fullmatch(value):
        errs.append(
            f"{_SUBDOMAIN_MSG} (e.g. 'example.com', regex used for validation is "
            f"'{_DNS1123_SUBDOMAIN}')"
        )
    return errs


def _omit_stages(stages: list[str], path: FieldPath) -> list[FieldError]:
    return [
        invalid(path.index(i), stage, "allowed stages are " + ",".join(STAGES))
        for i, stage in enumerate(stages)
        if stage not in STAGES
    ]


def _level(level: str, path: FieldPath) -> list[FieldError]:
    if level in LEVELS:
        return []
    if level == "":
        return [required(path)]
    return [not_supported(path, level, LEVELS)]


def _non_resource_urls(urls: list[str], path: FieldPath) -> list[FieldError]:
    errs = []
    for i, url in enumerate(urls):
        if url == "*":
            continue
        if not url.startswith("/"):
            errs.append(
                invalid(
                    path.index(i), url, "non-resource URL rules must begin with a '/' character"
                )
            )
        if url and "*" in url[:-1]:
            errs.append(
                invalid(
                    path.index(i),
                    url,
                    "non-resource URL wildcards '*' must be the final character of the rule",
                )
            )
    return errs


def _resources(rule: Node, path: FieldPath, ctx: Context) -> list[FieldError]:
    errs = []
    wildcard_ok = ctx.since("audit_group_wildcard")
    for group_resources in rule.nodes("resources"):
        group = group_resources.text("group")
        if group and not (wildcard_ok and group == "*"):
            msgs = dns1123_subdomain_errors(group)
            if msgs:
                errs.append(invalid(path.child("group"), group, ",".join(msgs)))
        names = group_resources.strs("resourceNames")
        if names and not group_resources.strs("resources"):
            errs.append(
                invalid(
                    path.child("resourceNames"),
                    names,
                    "using resourceNames requires at least one resource",
                )
            )
    return errs


def _rule(rule: Node, path: FieldPath, ctx: Context) -> list[FieldError]:
    errs = _level(rule.text("level"), path.child("level"))
    urls = rule.strs("nonResourceURLs")
    errs += _non_resource_urls(urls, path.child("nonResourceURLs"))
    # Upstream passes the rule's resources path (not indexed) to validateResources.
    errs += _resources(rule, path.child("resources"), ctx)
    errs += _omit_stages(rule.strs("omitStages"), path.child("omitStages"))
    if urls and (rule.count("resources") or rule.count("namespaces")):
        errs.append(
            invalid(
                path.child("nonResourceURLs"),
                urls,
                "rules cannot apply to both regular resources and non-resource URLs",
            )
        )
    return errs


def validate_policy(doc: Node, ctx: Context) -> tuple[list[FieldError], list[str]]:
    """Return the field errors of ``ValidatePolicy`` and the loader's own errors."""
    errs = _omit_stages(doc.strs("omitStages"), FieldPath(("omitStages",)))
    rules = FieldPath(("rules",))
    for i, rule in enumerate(doc.nodes("rules")):
        errs += _rule(rule, rules.index(i), ctx)
    loader = [] if errs or doc.count("rules") else ["loaded illegal policy with 0 rules"]
    return errs, loader
