"""The claim checks of a JWT authenticator: validation rules, claim mappings, user rules.

Split from :mod:`deployer.companions.authentication` (same sources: k8s.io/apiserver
``pkg/apis/apiserver/validation/validation.go`` ``validateClaimValidationRules``,
``validateClaimMappings``, ``validatePrefixClaimOrExpression``, ``validateUserValidationRules``,
v0.29.0..v0.37.0-beta.0). CEL expressions are checked for presence and duplicates, not compiled;
the ``claims.email``/``claims.email_verified`` rule reads the expressions' text.
"""

from __future__ import annotations

import re

from deployer.companions.audit import dns1123_subdomain_errors
from deployer.companions.document import Context, Node
from deployer.companions.fielderrors import (
    FieldError,
    FieldPath,
    duplicate,
    invalid,
    required,
)

__all__ = ["claim_mapping_errors", "claim_rule_errors", "user_rule_errors"]

_GATE = "StructuredAuthenticationConfiguration"
# ``claims.email`` or the optional select ``claims.?email`` (hasSelectExp handles OptSelect).
_EMAIL = re.compile(r"\bclaims\s*\.\??\s*email\b")
_EMAIL_VERIFIED = re.compile(r"\bclaims\s*\.\??\s*email_verified\b")
# k8s.io/apimachinery pkg/util/validation/validation.go httpPathFmt
_HTTP_PATH = re.compile(r"[A-Za-z0-9/\-._~%!$&'()*+,;=:]+")


def claim_rule_errors(rules: list[Node], path: FieldPath, ctx: Context) -> list[FieldError]:
    """``validateClaimValidationRules``: claim xor expression, no duplicates."""
    errs = []
    claims: set[str] = set()
    exprs: set[str] = set()
    for i, rule in enumerate(rules):
        rpath = path.index(i)
        claim, expr = rule.text("claim"), rule.text("expression")
        if expr and not ctx.gate(_GATE):
            errs.append(invalid(rpath.child("expression"), expr, ctx.message("cel_gate_off")))
        if claim and expr:
            errs.append(invalid(rpath, claim, "claim and expression can't both be set"))
        elif not claim and not expr:
            errs.append(required(rpath, "claim or expression is required"))
        elif claim:
            if rule.text("message"):
                errs.append(
                    invalid(
                        rpath.child("message"),
                        rule.text("message"),
                        ctx.message("claim_message_set"),
                    )
                )
            if claim in claims:
                errs.append(duplicate(rpath.child("claim"), claim))
            claims.add(claim)
        else:
            if rule.text("requiredValue"):
                errs.append(
                    invalid(
                        rpath.child("requiredValue"),
                        rule.text("requiredValue"),
                        ctx.message("expression_required_value_set"),
                    )
                )
            if expr in exprs:
                errs.append(duplicate(rpath.child("expression"), expr))
            exprs.add(expr)
    return errs


def _prefixed(mapping: Node, path: FieldPath, ctx: Context, needed: bool) -> list[FieldError]:
    claim, expr = mapping.text("claim"), mapping.text("expression")
    if claim and expr:
        return [invalid(path, "", "claim and expression can't both be set")]
    if not claim and not expr and needed:
        return [required(path, "claim or expression is required")]
    if expr and mapping.has("prefix"):
        return [
            invalid(
                path.child("prefix"), mapping.text("prefix"), ctx.message("prefix_with_expression")
            )
        ]
    if claim and not mapping.has("prefix"):
        return [
            required(
                path.child("prefix"),
                "prefix is required when claim is set. It can be set to an empty string to "
                "disable prefixing",
            )
        ]
    return []


def _extra(extra: list[Node], path: FieldPath, ctx: Context) -> list[FieldError]:
    errs = []
    seen: set[str] = set()
    for i, mapping in enumerate(extra):
        kpath = path.child("extra").index(i).child("key")
        key = mapping.text("key")
        errs += _domain_prefixed_path(kpath, key)
        if key != key.lower():
            errs.append(invalid(kpath, key, ctx.message("extra_key_lowercase")))
        domain = key.split("/", 1)[0] if "/" in key else ""
        reserved = domain in ("kubernetes.io", "k8s.io") or domain.endswith(
            (".kubernetes.io", ".k8s.io")
        )
        if reserved and ctx.since("authn_extra_reserved"):
            errs.append(
                invalid(
                    kpath,
                    key,
                    "k8s.io, kubernetes.io and their subdomains are reserved for Kubernetes use",
                )
            )
        if key in seen:
            errs.append(duplicate(kpath, key))
            continue
        seen.add(key)
        if not mapping.text("valueExpression"):
            errs.append(
                required(
                    path.child("extra").index(i).child("valueExpression"),
                    ctx.message("value_expression_required"),
                )
            )
    return errs


def _domain_prefixed_path(path: FieldPath, value: str) -> list[FieldError]:
    """Apimachinery ``IsDomainPrefixedPath``."""
    if not value:
        return [required(path)]
    host, slash, rest = value.partition("/")
    if not slash or not host or not rest:
        return [invalid(path, value, 'must be a domain-prefixed path (such as "acme.io/foo")')]
    errs = [invalid(path, host, msg) for msg in dns1123_subdomain_errors(host)]
    if not _HTTP_PATH.fullmatch(rest):
        detail = "Invalid path (regex used for validation is '[-A-Za-z0-9/._~%!$&'()*+,;=:]+')"
        return [*errs, invalid(path, rest, detail)]
    return errs


def claim_mapping_errors(jwt: Node, path: FieldPath, ctx: Context) -> list[FieldError]:
    """``validateClaimMappings`` for one JWT authenticator (``jwt`` is the authenticator)."""
    m = jwt.node("claimMappings")
    errs = []
    if not ctx.gate(_GATE):
        for name in ("username", "groups"):
            if m.node(name).text("expression"):
                errs.append(
                    invalid(
                        path.child(name, "expression"),
                        m.node(name).text("expression"),
                        ctx.message("cel_gate_off"),
                    )
                )
        if m.node("uid").text("claim") or m.node("uid").text("expression"):
            errs.append(invalid(path.child("uid"), "", ctx.message("uid_gate_off")))
        if m.count("extra"):
            errs.append(invalid(path.child("extra"), "", ctx.message("extra_gate_off")))
    errs += _prefixed(m.node("username"), path.child("username"), ctx, True)
    errs += _prefixed(m.node("groups"), path.child("groups"), ctx, False)
    uid = m.node("uid")
    if uid.text("claim") and uid.text("expression"):
        errs.append(invalid(path.child("uid"), "", "claim and expression can't both be set"))
    errs += _extra(m.nodes("extra"), path, ctx)
    username_expr = m.node("username").text("expression")
    others = [e.text("valueExpression") for e in m.nodes("extra")]
    others += [r.text("expression") for r in jwt.nodes("claimValidationRules")]
    verified = any(_EMAIL_VERIFIED.search(e) for e in [username_expr, *others])
    if (
        ctx.since("authn_email_verified")
        and ctx.gate(_GATE)
        and _EMAIL.search(username_expr)
        and not verified
    ):
        errs.append(
            invalid(
                path.child("username", "expression"),
                username_expr,
                "claims.email_verified must be used in claimMappings.username.expression or "
                "claimMappings.extra[*].valueExpression or claimValidationRules[*].expression "
                "when claims.email is used in claimMappings.username.expression",
            )
        )
    return errs


def user_rule_errors(rules: list[Node], path: FieldPath, ctx: Context) -> list[FieldError]:
    """``validateUserValidationRules``: an expression each, no duplicates."""
    errs = []
    if rules and not ctx.gate(_GATE):
        errs.append(
            invalid(
                path,
                "",
                "user validation rules are not supported when "
                "StructuredAuthenticationConfiguration feature gate is disabled",
            )
        )
    seen: set[str] = set()
    for i, rule in enumerate(rules):
        expr = rule.text("expression")
        epath = path.index(i).child("expression")
        if not expr:
            errs.append(required(epath, ctx.message("user_rule_expression_required")))
        elif expr in seen:
            errs.append(duplicate(epath, expr))
        seen.add(expr)
    return errs
