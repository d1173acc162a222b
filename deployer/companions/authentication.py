"""``AuthenticationConfiguration``: the checks of ``--authentication-config`` at startup.

Follows k8s.io/apiserver ``pkg/apis/apiserver/validation/validation.go``
(``ValidateAuthenticationConfiguration`` and the ``validateJWTAuthenticator`` family) from
v0.29.0 (v1alpha1 only, exactly one JWT authenticator) to v0.37.0-beta.0; the texts that changed
in v0.34.0 come from ``loaders.json``. CEL expressions are not compiled here (that needs the CEL
environment of the binary): an expression is checked for presence and duplicates only, and the
``claims.email`` / ``claims.email_verified`` rule is applied to the expression's text.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Sequence

from cryptography import x509

from deployer.companions.audit import dns1123_subdomain_errors
from deployer.companions.document import Context, Node
from deployer.companions.fielderrors import (
    FieldError,
    FieldPath,
    Literal,
    duplicate,
    forbidden,
    invalid,
    required,
    too_many,
)
from deployer.companions.gourl import GoURLError, parse_url
from deployer.schema.gostrconv import go_quote

__all__ = ["validate_authentication"]

_GATE = "StructuredAuthenticationConfiguration"
_PEM = re.compile(
    r"-----BEGIN ([A-Z0-9 ]+)-----\r?\n((?:[A-Za-z0-9+/=]+\r?\n|[^\r\n:]+: [^\r\n]*\r?\n)*)"
    r"-----END \1-----"
)
# ``claims.email`` or the optional select ``claims.?email`` (hasSelectExp handles OptSelect).
_EMAIL = re.compile(r"\bclaims\s*\.\??\s*email\b")
_EMAIL_VERIFIED = re.compile(r"\bclaims\s*\.\??\s*email_verified\b")
# k8s.io/apimachinery pkg/util/validation/validation.go httpPathFmt
_HTTP_PATH = re.compile(r"[A-Za-z0-9/\-._~%!$&'()*+,;=:]+")


def _ca_error(pem: str) -> str | None:
    """client-go ``cert.NewPoolFromBytes``: CERTIFICATE blocks without headers, all parseable."""
    found = False
    for match in _PEM.finditer(pem):
        if match.group(1) != "CERTIFICATE" or ": " in match.group(2):
            continue
        try:
            x509.load_der_x509_certificate(base64.b64decode("".join(match.group(2).split())))
        except ValueError:
            return "x509: malformed certificate"
        found = True
    return None if found else "data does not contain any valid RSA or ECDSA certificates"


def _url(value: str, path: FieldPath, disallowed: Sequence[str]) -> list[FieldError]:
    errs = []
    if value in disallowed:
        listed = "[" + " ".join(sorted(set(disallowed))) + "]"
        errs.append(invalid(path, value, f"URL must not overlap with disallowed issuers: {listed}"))
    try:
        url = parse_url(value)
    except GoURLError as exc:
        return [*errs, invalid(path, value, str(exc))]
    if url.scheme != "https":
        errs.append(invalid(path, value, "URL scheme must be https"))
    if url.has_user:
        errs.append(invalid(path, value, "URL must not contain a username or password"))
    if url.raw_query:
        errs.append(invalid(path, value, "URL must not contain a query"))
    if url.fragment:
        errs.append(invalid(path, value, "URL must not contain a fragment"))
    return errs


def _audiences(issuer: Node, path: FieldPath, ctx: Context) -> list[FieldError]:
    auds = issuer.strs("audiences")
    apath = path.child("audiences")
    if not auds:
        return [required(apath, f"at least one {apath} is required")]
    if len(auds) > 1 and not ctx.since("authn_multiple_audiences"):
        return [too_many(apath, len(auds), 1, plural_fix=ctx.json_values)]
    errs = []
    if len(auds) > 1 and ctx.since("authn_gate_messages_132") and not ctx.gate(_GATE):
        errs.append(
            invalid(
                apath,
                auds,
                "multiple audiences are not supported when "
                "StructuredAuthenticationConfiguration feature gate is disabled",
            )
        )
    seen: set[str] = set()
    for i, aud in enumerate(auds):
        if aud == "":
            errs.append(required(apath.index(i), ctx.message("audience_empty")))
        if aud in seen and ctx.since("authn_multiple_audiences"):
            errs.append(duplicate(apath.index(i), aud))
        seen.add(aud)
    if ctx.since("authn_multiple_audiences"):
        policy = issuer.text("audienceMatchPolicy")
        ppath = path.child("audienceMatchPolicy")
        if len(auds) > 1 and policy != "MatchAny":
            errs.append(
                invalid(
                    ppath, policy, "audienceMatchPolicy must be MatchAny for multiple audiences"
                )
            )
        if len(auds) == 1 and policy not in ("", "MatchAny"):
            errs.append(
                invalid(
                    ppath,
                    policy,
                    "audienceMatchPolicy must be empty or MatchAny for single audience",
                )
            )
    return errs


def _issuer(
    issuer: Node, path: FieldPath, ctx: Context, disallowed: Sequence[str]
) -> list[FieldError]:
    url = issuer.text("url")
    upath = path.child("url")
    errs = [required(upath, ctx.message("issuer_url_required"))] if not url else []
    errs += _url(url, upath, disallowed) if url else []
    discovery = issuer.text("discoveryURL")
    if discovery and ctx.since("authn_multiple_audiences"):
        dpath = path.child("discoveryURL")
        if ctx.since("authn_gate_messages_132") and not ctx.gate(_GATE):
            errs.append(
                invalid(
                    dpath,
                    discovery,
                    "discoveryURL is not supported when StructuredAuthenticationConfiguration "
                    "feature gate is disabled",
                )
            )
        if url and url.rstrip("/") == discovery.rstrip("/"):
            errs.append(invalid(dpath, discovery, "discoveryURL must be different from URL"))
        errs += _url(discovery, dpath, ())
    errs += _audiences(issuer, path, ctx)
    ca = issuer.text("certificateAuthority")
    problem = _ca_error(ca) if ca else None
    if problem:
        errs.append(invalid(path.child("certificateAuthority"), "<omitted>", problem))
    selector = issuer.text("egressSelectorType")
    if selector:
        spath = path.child("egressSelectorType")
        for gate in (_GATE, "StructuredAuthenticationConfigurationEgressSelector"):
            if not ctx.gate(gate):
                errs.append(
                    invalid(
                        spath,
                        selector,
                        f"egress selector is not supported when {gate} feature gate is disabled",
                    )
                )
        if selector not in ("controlplane", "cluster"):
            errs.append(
                invalid(spath, selector, "egress selector must be either controlplane or cluster")
            )
    return errs


def _claim_rules(rules: list[Node], path: FieldPath, ctx: Context) -> list[FieldError]:
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


def _claim_mappings(jwt: Node, path: FieldPath, ctx: Context) -> list[FieldError]:
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


def _user_rules(rules: list[Node], path: FieldPath, ctx: Context) -> list[FieldError]:
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


def validate_authentication(
    doc: Node, ctx: Context, *, disallowed_issuers: Sequence[str] = ()
) -> list[FieldError]:
    """Return ``ValidateAuthenticationConfiguration``'s errors for ``ctx.minor``.

    ``disallowed_issuers`` are the ``--service-account-issuer`` values (an OIDC issuer must not
    overlap them, 1.30+).
    """
    root = FieldPath(("jwt",))
    jwts = doc.nodes("jwt")
    errs: list[FieldError] = []
    if not ctx.since("authn_many_jwt"):
        if not jwts:
            return [required(root, f"at least one {root} is required")]
        if len(jwts) > 1:
            return [too_many(root, len(jwts), 1, plural_fix=ctx.json_values)]
    elif len(jwts) > 64:
        return [too_many(root, len(jwts), 64, plural_fix=ctx.json_values)]
    issuers: set[str] = set()
    discoveries: set[str] = set()
    for i, jwt in enumerate(jwts):
        path = root.index(i)
        issuer = jwt.node("issuer")
        # Disallowed issuers (the service-account issuers) are checked from 1.30 on.
        disallowed = disallowed_issuers if ctx.since("authn_many_jwt") else ()
        errs += _issuer(issuer, path.child("issuer"), ctx, disallowed)
        errs += _claim_rules(
            jwt.nodes("claimValidationRules"), path.child("claimValidationRules"), ctx
        )
        errs += _claim_mappings(jwt, path.child("claimMappings"), ctx)
        errs += _user_rules(
            jwt.nodes("userValidationRules"), path.child("userValidationRules"), ctx
        )
        url, discovery = issuer.text("url"), issuer.text("discoveryURL")
        if url in issuers:
            errs.append(duplicate(path.child("issuer", "url"), url))
        issuers.add(url)
        if discovery:
            if discovery in discoveries:
                errs.append(duplicate(path.child("issuer", "discoveryURL"), discovery))
            discoveries.add(discovery)
    if doc.has("anonymous"):
        anonymous = doc.node("anonymous")
        if not ctx.gate("AnonymousAuthConfigurableEndpoints"):
            errs.append(forbidden(FieldPath(("anonymous",)), ctx.message("anonymous_gate_off")))
        if not anonymous.flag("enabled") and anonymous.count("conditions"):
            paths = [c.text("path") for c in anonymous.nodes("conditions")]
            shown = Literal(
                "[]apiserver.AnonymousAuthCondition{"
                + ", ".join(
                    f"apiserver.AnonymousAuthCondition{{Path:{go_quote(p)}}}" for p in paths
                )
                + "}",
                "[" + ",".join(f'{{"path":{json.dumps(p)}}}' for p in paths) + "]",
            )
            errs.append(
                invalid(
                    FieldPath(("anonymous", "conditions")),
                    shown,
                    "enabled should be set to true when conditions are defined",
                )
            )
    return errs
