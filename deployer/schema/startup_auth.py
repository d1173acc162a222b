"""``Validate()`` rules for authentication, authorization, admission and feature gates.

Also API enablement and the token request API (``kube-apiserver-validation.md`` sections 3, 5,
7, 8 and 9), in the binary's order.
"""

from __future__ import annotations

from types import MappingProxyType

from deployer.schema.gofmt import go_url_error
from deployer.schema.gostrconv import go_quote
from deployer.schema.startup_model import CheckContext, Stage, StartupError
from deployer.schema.startup_recent import runtime_config_only_all_false

__all__ = [
    "admission_errors",
    "api_enablement_errors",
    "authentication_errors",
    "authorization_errors",
    "gate_dependency_errors",
    "token_request_errors",
]

_V = Stage.VALIDATE
_MODES = ("AlwaysAllow", "AlwaysDeny", "ABAC", "Webhook", "RBAC", "Node")
_OIDC_DEFAULTS = MappingProxyType(
    {
        "oidc-issuer-url": "",
        "oidc-client-id": "",
        "oidc-ca-file": "",
        "oidc-username-claim": "sub",
        "oidc-username-prefix": "",
        "oidc-groups-claim": "",
        "oidc-groups-prefix": "",
    }
)


def _err(message: str, flag: str | None) -> StartupError:
    return StartupError(message, flag, _V)


_OIDC_FLAGS = frozenset({*_OIDC_DEFAULTS, "oidc-required-claim", "oidc-signing-algs"})
_AUTHZ_FLAGS = frozenset(
    {
        "authorization-mode",
        "authorization-config",
        "authorization-policy-file",
        "authorization-webhook-config-file",
    }
)
_ADMISSION_FLAGS = frozenset(
    {"admission-control", "enable-admission-plugins", "disable-admission-plugins"}
)
_GATE_FLAGS = frozenset(
    {"feature-gates", "peer-ca-file", "peer-advertise-ip", "peer-advertise-port"}
)


def _oidc_configured(c: CheckContext) -> bool:
    """OIDCAuthenticationOptions.FlagsSet: any ``--oidc-*`` flag given, whatever its value."""
    return c.parsed.any_set(_OIDC_FLAGS)


def _oidc_errors(c: CheckContext) -> list[StartupError]:
    p = c.parsed
    if not p.text("authentication-config"):
        issuer, client = p.text("oidc-issuer-url"), p.text("oidc-client-id")
        if _oidc_configured(c) and (not issuer or not client):
            return [
                _err(
                    "oidc-issuer-url and oidc-client-id must be specified together when any "
                    "oidc-* flags are set",
                    "oidc-issuer-url" if not issuer else "oidc-client-id",
                )
            ]
        return []
    errors: list[StartupError] = []
    if not c.gates.enabled("StructuredAuthenticationConfiguration"):
        errors.append(
            _err(
                "set --feature-gates=StructuredAuthenticationConfiguration=true to use "
                "authentication-config file",
                "authentication-config",
            )
        )
    if _oidc_configured(c):
        errors.append(
            _err(
                "authentication-config file and oidc-* flags are mutually exclusive",
                "authentication-config",
            )
        )
    return errors


def authentication_errors(c: CheckContext) -> list[StartupError]:
    """BuiltInAuthenticationOptions.Validate (key files are filled in by Complete)."""
    p = c.parsed
    errors = _oidc_errors(c)
    issuers = p.strings("service-account-issuer")
    seen: set[str] = set()
    for issuer in issuers:
        if ":" in issuer:
            url_error = go_url_error(issuer)
            if url_error:
                errors.append(
                    _err(
                        f"service-account-issuer {go_quote(issuer)} contained a ':' but was not "
                        f"a valid URL: {url_error}",
                        "service-account-issuer",
                    )
                )
                continue
        if issuer == "":
            errors.append(
                _err(
                    "service-account-issuer should not be an empty string", "service-account-issuer"
                )
            )
            continue
        if issuer in seen:
            errors.append(
                _err(
                    f"service-account-issuer {go_quote(issuer)} is already specified",
                    "service-account-issuer",
                )
            )
        seen.add(issuer)
    if not issuers:
        errors.append(_err("service-account-issuer is a required flag", "service-account-issuer"))
    jwks = p.text("service-account-jwks-uri")
    if jwks:
        url_error = go_url_error(jwks)
        if url_error:
            errors.append(
                _err(
                    f"service-account-jwks-uri must be a valid URL: {url_error}",
                    "service-account-jwks-uri",
                )
            )
        elif not jwks.lower().startswith("https:"):
            errors.append(
                _err(
                    f"service-account-jwks-uri requires https scheme, parsed as: {jwks}",
                    "service-account-jwks-uri",
                )
            )
    return errors


def _legacy_authz_flags_set(c: CheckContext) -> bool:
    names = (
        "authorization-mode",
        "authorization-webhook-config-file",
        "authorization-webhook-version",
        "authorization-webhook-cache-authorized-ttl",
        "authorization-webhook-cache-unauthorized-ttl",
    )
    return any(c.parsed.is_set(n) for n in names)


def authorization_errors(c: CheckContext) -> list[StartupError]:
    """BuiltInAuthorizationOptions.Validate (structured config file or the legacy flags)."""
    p = c.parsed
    if not p.any_set(_AUTHZ_FLAGS):
        return []  # AlwaysAllow (the 1.28 default, Complete()'s from 1.29) is valid
    if p.text("authorization-config"):
        if not c.gates.enabled("StructuredAuthorizationConfiguration"):
            return [
                _err(
                    "--authorization-config cannot be used without enabling "
                    "StructuredAuthorizationConfiguration feature flag",
                    "authorization-config",
                )
            ]
        if _legacy_authz_flags_set(c):
            return [
                _err(
                    "--authorization-config can not be specified when --authorization-mode or "
                    "--authorization-webhook-* flags are defined",
                    "authorization-config",
                )
            ]
        return []
    modes = p.strings("authorization-mode")
    if not modes and c.minor >= 29:
        modes = ("AlwaysAllow",)  # Complete() defaults an empty list from 1.29 on
    errors: list[StartupError] = []
    if not modes:
        errors.append(_err("at least one authorization-mode must be passed", "authorization-mode"))
    for mode in modes:
        if mode not in _MODES:
            errors.append(
                _err(
                    f"authorization-mode {go_quote(mode)} is not a valid mode", "authorization-mode"
                )
            )
        if mode == "ABAC" and not p.text("authorization-policy-file"):
            errors.append(
                _err(
                    "authorization-mode ABAC's authorization policy file not passed",
                    "authorization-policy-file",
                )
            )
        if mode == "Webhook" and not p.text("authorization-webhook-config-file"):
            errors.append(
                _err(
                    "authorization-mode Webhook's authorization config file not passed",
                    "authorization-webhook-config-file",
                )
            )
    if p.text("authorization-policy-file") and "ABAC" not in modes:
        errors.append(
            _err(
                "cannot specify --authorization-policy-file without mode ABAC",
                "authorization-policy-file",
            )
        )
    if p.text("authorization-webhook-config-file") and "Webhook" not in modes:
        errors.append(
            _err(
                "cannot specify --authorization-webhook-config-file without mode Webhook",
                "authorization-webhook-config-file",
            )
        )
    if len(set(modes)) != len(modes):
        shown = "[" + " ".join(go_quote(m) for m in modes) + "]"
        errors.append(
            _err(
                f"authorization-mode {shown} has mode specified more than once",
                "authorization-mode",
            )
        )
    return errors


def admission_errors(c: CheckContext) -> list[StartupError]:
    """Run kube AdmissionOptions.Validate, then the generic one (names per version, overlap)."""
    p = c.parsed
    if not p.any_set(_ADMISSION_FLAGS):
        return []
    known = c.schema.admission_plugins
    errors: list[StartupError] = []
    legacy_set = p.is_set("admission-control")
    if legacy_set and (
        p.is_set("enable-admission-plugins") or p.is_set("disable-admission-plugins")
    ):
        errors.append(
            _err(
                "admission-control and enable-admission-plugins/disable-admission-plugins flags "
                "are mutually exclusive",
                "admission-control",
            )
        )
    for plugin in p.strings("admission-control"):
        if plugin not in known:
            errors.append(
                _err(f"admission-control plugin {go_quote(plugin)} is unknown", "admission-control")
            )
    enabled, disabled = (
        p.strings("enable-admission-plugins"),
        p.strings("disable-admission-plugins"),
    )
    for flag, names in (
        ("enable-admission-plugins", enabled),
        ("disable-admission-plugins", disabled),
    ):
        for plugin in names:
            if plugin not in known:
                errors.append(_err(f"{flag} plugin {go_quote(plugin)} is unknown", flag))
    overlap = sorted(set(enabled) & set(disabled))
    if overlap:
        errors.append(
            _err(
                f"[{' '.join(overlap)}] in enable-admission-plugins and disable-admission-plugins "
                "overlapped",
                "disable-admission-plugins",
            )
        )
    return errors


def api_enablement_errors(c: CheckContext) -> list[StartupError]:
    """APIEnablementOptions.Validate: ``api/all=false`` alone would serve nothing."""
    items = c.parsed.mapping("runtime-config")
    if len(items) == 1 and items.get("api/all") == "false":
        return [_err(runtime_config_only_all_false(c), "runtime-config")]
    return []


def token_request_errors(c: CheckContext) -> list[StartupError]:
    """validateTokenRequest: the TokenRequest API needs an issuer and a signing key."""
    p = c.parsed
    issuers = p.strings("service-account-issuer")
    has_issuer = bool(issuers) and issuers[0] != ""
    signing_key = p.text("service-account-signing-key-file")
    attempted = bool(signing_key) or has_issuer or bool(p.strings("api-audiences"))
    succeeded = bool(signing_key) and has_issuer  # Complete() builds the issuer from both
    if not attempted:
        return [
            _err(
                "--service-account-signing-key-file and --service-account-issuer are required "
                "flags",
                "service-account-signing-key-file",
            )
        ]
    if not succeeded:
        return [
            _err(
                "--service-account-signing-key-file, --service-account-issuer, and "
                "--api-audiences should be specified together",
                "service-account-signing-key-file" if not signing_key else "service-account-issuer",
            )
        ]
    return []


def gate_dependency_errors(c: CheckContext) -> list[StartupError]:
    """Gates that need other gates, and peer-proxy flags that need their gate."""
    g = c.gates
    errors: list[StartupError] = []
    if not c.parsed.any_set(_GATE_FLAGS):
        return errors  # every version's default gates are consistent
    uvip = g.enabled("UnknownVersionInteroperabilityProxy")
    if uvip and not g.enabled("StorageVersionAPI"):
        errors.append(
            _err(
                "UnknownVersionInteroperabilityProxy feature requires StorageVersionAPI feature "
                "flag to be enabled",
                "feature-gates",
            )
        )
    if not uvip:
        for flag in ("peer-ca-file", "peer-advertise-ip", "peer-advertise-port"):
            if c.parsed.text(flag):
                errors.append(
                    _err(
                        f"--{flag} requires UnknownVersionInteroperabilityProxy feature to be "
                        "turned on",
                        flag,
                    )
                )
    if (
        c.minor >= 31
        and g.enabled("AuthorizeNodeWithSelectors")
        and not g.enabled("AuthorizeWithSelectors")
    ):
        errors.append(
            _err(
                "AuthorizeNodeWithSelectors feature requires AuthorizeWithSelectors feature to be "
                "enabled",
                "feature-gates",
            )
        )
    if (
        c.minor == 31
        and g.enabled("DRAControlPlaneController")
        and not g.enabled("DynamicResourceAllocation")
    ):
        errors.append(
            _err(
                "DRAControlPlaneController feature requires DynamicResourceAllocation feature to "
                "be enabled",
                "feature-gates",
            )
        )
    return errors
