"""Load ``--authentication-config`` as kube-apiserver does, failing with its messages.

Sources:
- k8s.io/kubernetes ``pkg/kubeapiserver/options/authentication.go``: ``ToAuthenticationConfig``
  (called from ``Authentication.ApplyTo`` while the server config is built, after the
  encryption configuration) wraps a load error as ``failed to load authentication configuration
  from file %q: %w`` and a validation error as ``invalid authentication configuration: %w``;
  ``loadAuthenticationConfig`` returns the read error as is, ``loadAuthenticationConfigFromData``
  refuses an empty file (``empty config data``), decodes strictly with the group's scheme and
  refuses another kind (``expected AuthenticationConfiguration, got %T``). The file is then
  watched and reloaded (see :mod:`.reload`).
- k8s.io/apiserver ``pkg/apis/apiserver/validation/validation.go``
  ``ValidateAuthenticationConfiguration`` (from v0.30): per JWT authenticator the issuer URL
  (required; ``URL is required`` up to v0.33, no detail from v0.34; https; no user info, query
  or fragment), the audiences (at least one, none empty up to v0.33's ``audience can't be
  empty``, no duplicates, ``audienceMatchPolicy`` MatchAny for several), and duplicate issuer
  URLs.

Left out: the line of the scheme's name in a ``no kind ... is registered`` error (the file is
k8s.io/kubernetes' own, whose line per minor was not read), claim mappings and validation rules
(CEL), discovery URLs, certificate authorities, the anonymous block, and the service account
issuers check (at startup upstream validates before it has filled them in).
"""

from __future__ import annotations

from collections.abc import Mapping
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
from deployer.lab.apiserver.companions.kinds import registered

__all__ = ["authentication_error", "validate"]

#: The top level is checked; a JWT authenticator's fields differ by minor and are not.
FIELDS: FieldTree = {"apiVersion": None, "kind": None, "jwt": None, "anonymous": None}


def load_problem(data: bytes, minor: int) -> str | None:
    """``loadAuthenticationConfigFromData``'s error, or ``None``."""
    if not data:
        return "empty config data"
    text = data.decode("utf-8", errors="replace")
    try:
        doc = parse(data)
        check_registered(doc, text, "authentication", minor, registered(minor))
    except DecodeError as exc:
        return str(exc)
    if doc.kind != "AuthenticationConfiguration":
        return f"expected AuthenticationConfiguration, got *apiserver.{doc.kind}"
    problems = unknown_fields(doc.body, FIELDS)
    return strict_error(problems) if problems else None


def authentication_error(path: str, data: bytes | None, minor: int) -> str | None:
    """Return the startup error for the file at container ``path`` (``data`` None: missing)."""
    wrap = f'failed to load authentication configuration from file "{path}": '
    if data is None:
        return wrap + f"open {path}: no such file or directory"
    problem = load_problem(data, minor)
    if problem:
        return wrap + problem
    errors = validate(parse(data).body, minor)
    if errors:
        return "invalid authentication configuration: " + fielderr.aggregate(errors, minor)
    return None


def validate(body: object, minor: int) -> list[FieldError]:
    """The JWT issuer and audience checks of ``ValidateAuthenticationConfiguration``."""
    if minor < 30 or not isinstance(body, dict):
        return []
    raw = body.get("jwt")
    items = [j if isinstance(j, dict) else {} for j in raw] if isinstance(raw, list) else []
    errors: list[FieldError] = []
    seen: set[str] = set()
    for i, jwt in enumerate(items):
        path = f"jwt[{i}].issuer"
        raw_issuer = jwt.get("issuer")
        issuer: Mapping[str, object] = raw_issuer if isinstance(raw_issuer, dict) else {}
        url = str(issuer.get("url") or "")
        errors += _issuer_url(url, f"{path}.url", minor)
        errors += _audiences(issuer, path, minor)
        if url in seen:
            errors.append(fielderr.duplicate(f"{path}.url", url))
        seen.add(url)
    return errors


def _issuer_url(url: str, path: str, minor: int) -> list[FieldError]:
    if not url:
        return [fielderr.required(path, "URL is required" if minor < 34 else "")]
    parts = urlsplit(url)
    errors = []
    if parts.scheme != "https":
        errors.append(fielderr.invalid(path, url, "URL scheme must be https"))
    if "@" in parts.netloc:
        errors.append(fielderr.invalid(path, url, "URL must not contain a username or password"))
    if parts.query:
        errors.append(fielderr.invalid(path, url, "URL must not contain a query"))
    if parts.fragment:
        errors.append(fielderr.invalid(path, url, "URL must not contain a fragment"))
    return errors


def _audiences(issuer: Mapping[str, object], path: str, minor: int) -> list[FieldError]:
    where = f"{path}.audiences"
    raw = issuer.get("audiences")
    audiences = [str(a) for a in raw] if isinstance(raw, list) else []
    if not audiences:
        return [fielderr.required(where, f"at least one {where} is required")]
    errors: list[FieldError] = []
    seen: set[str] = set()
    for i, audience in enumerate(audiences):
        if not audience:
            errors.append(
                fielderr.required(f"{where}[{i}]", "audience can't be empty" if minor < 34 else "")
            )
        if audience in seen:
            errors.append(fielderr.duplicate(f"{where}[{i}]", audience))
        seen.add(audience)
    policy = str(issuer.get("audienceMatchPolicy") or "")
    policy_path = f"{path}.audienceMatchPolicy"
    if len(audiences) > 1 and policy != "MatchAny":
        errors.append(
            fielderr.invalid(
                policy_path, policy, "audienceMatchPolicy must be MatchAny for multiple audiences"
            )
        )
    if len(audiences) == 1 and policy and policy != "MatchAny":
        errors.append(
            fielderr.invalid(
                policy_path,
                policy,
                "audienceMatchPolicy must be empty or MatchAny for single audience",
            )
        )
    return errors
