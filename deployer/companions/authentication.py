"""``AuthenticationConfiguration``: the checks of ``--authentication-config`` at startup.

Follows k8s.io/apiserver ``pkg/apis/apiserver/validation/validation.go``
(``ValidateAuthenticationConfiguration`` and the ``validateJWTAuthenticator`` family) from
v0.29.0 (v1alpha1 only, exactly one JWT authenticator) to v0.37.0-beta.0; the texts that changed
in v0.34.0 come from ``loaders.json``. CEL expressions are not compiled here (that needs the CEL
environment of the binary): an expression is checked for presence and duplicates only, and the
``claims.email`` / ``claims.email_verified`` rule is applied to the expression's text (the
claim checks live in :mod:`deployer.companions.jwt_claims`).
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Sequence

from cryptography import x509

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
from deployer.companions.jwt_claims import (
    claim_mapping_errors,
    claim_rule_errors,
    user_rule_errors,
)
from deployer.schema.gostrconv import go_quote

__all__ = ["validate_authentication"]

_GATE = "StructuredAuthenticationConfiguration"
_PEM = re.compile(
    r"-----BEGIN ([A-Z0-9 ]+)-----\r?\n((?:[A-Za-z0-9+/=]+\r?\n|[^\r\n:]+: [^\r\n]*\r?\n)*)"
    r"-----END \1-----"
)


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
        errs += claim_rule_errors(
            jwt.nodes("claimValidationRules"), path.child("claimValidationRules"), ctx
        )
        errs += claim_mapping_errors(jwt, path.child("claimMappings"), ctx)
        errs += user_rule_errors(
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
