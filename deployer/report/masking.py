"""Remove secrets from text before it reaches a report, a log line, a diff or the terminal.

Why a text filter rather than typed secrets only: diffs, command output and error details are
free text that may quote a kubeconfig, a private key or a static token file (DESIGN.md rule 9).
Masking errs on the side of hiding: a false positive costs readability, a false negative leaks
a credential. Values that are clearly not secret (file paths, booleans, numbers and durations)
are kept, because a diff that hides ``--token-auth-file=/etc/kubernetes/tokens.csv`` or
``--service-account-max-token-expiration=48h`` would hide the change the operator must review.

>>> mask_secrets("--oidc-client-secret=s3cr3t --token-auth-file=/etc/kubernetes/tokens.csv")
'--oidc-client-secret=*** --token-auth-file=/etc/kubernetes/tokens.csv'
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = [
    "MASK",
    "add_secret_values",
    "is_secret_name",
    "mask_secrets",
    "mask_token_auth_file",
    "mask_value",
]

#: What a masked value is replaced with.
MASK = "***"

# Names that mark a value as secret, in flags, YAML keys and JSON keys.
_SECRET_WORDS = r"(?:token|password|passwd|secret|key-data|key_data|private-key|private_key)"  # noqa: S105

_PEM_PRIVATE = re.compile(
    r"-----BEGIN (?P<kind>[A-Z0-9 ]*?)PRIVATE KEY-----.*?(?:-----END (?P=kind)PRIVATE KEY-----|\Z)",
    re.DOTALL,
)
# ``"client-key-data": "LS0t..."`` anywhere (kubeconfig or credentials as JSON).
_JSON_PAIR = re.compile(
    rf'(?P<key>"[\w.-]*{_SECRET_WORDS}[\w.-]*"\s*:\s*)"(?P<value>(?:[^"\\\n]|\\.)*)"',
    re.IGNORECASE,
)
# ``client-key-data: LS0t...`` / ``token: abc`` at the start of a YAML line, also inside a
# unified diff (leading ``+``/``-``/space) or a list item (``- token: abc``).
_YAML_PAIR = re.compile(
    rf"^(?P<key>[+\- ]?[ \t]*(?:-[ \t]+)?(?:[A-Za-z][\w.-]*)?{_SECRET_WORDS}[\w.-]*[ \t]*:[ \t]+)"
    r"(?P<value>[^\s#][^\n]*?)[ \t]*$",
    re.IGNORECASE | re.MULTILINE,
)
# Command-line flags: ``--oidc-client-secret=x``, ``--token x``, ``-password=x``.
_FLAG_EQ = re.compile(
    rf"(?P<key>(?<![\w-])--?(?:[A-Za-z0-9][\w-]*)?{_SECRET_WORDS}[\w-]*=)"
    r"(?P<value>\"[^\"\n]*\"|'[^'\n]*'|[^\s\"',]+)",
    re.IGNORECASE,
)
_FLAG_SPACE = re.compile(
    rf"(?P<key>(?<![\w-])--?(?:[A-Za-z0-9][\w-]*)?{_SECRET_WORDS}[\w-]*[ \t]+)"
    r"(?P<value>[^\s\-\"'][^\s\"']{3,})",
    re.IGNORECASE,
)
_BEARER = re.compile(r"\b(?P<key>Bearer[ \t]+)(?P<value>[A-Za-z0-9\-._~+/]+=*)", re.IGNORECASE)
_AUTH_HEADER = re.compile(
    r"(?P<key>\bAuthorization[ \t]*:[ \t]*(?!Bearer\b)[A-Za-z]+[ \t]+)(?P<value>[^\s\"']+)",
    re.IGNORECASE,
)
_URL_PASSWORD = re.compile(r"(?P<key>://[^/\s:@]+:)(?P<value>[^@\s/]+)(?=@)")
# One line of a kube-apiserver static token file: ``token,user,uid[,"group1,group2"]``.
# A token must contain a digit, so a plain comma-separated list of names is not taken for one.
_TOKEN_CSV_LINE = re.compile(
    r"^(?P<key>[+\- ]?)(?P<value>(?=[^,\s]*\d)[A-Za-z0-9._~+/=:-]{6,})"
    r'(?P<rest>,[^,\s"]+,[^,\s"]+(?:,"[^"\n]*"|,[^,\s"]*)?[ \t]*)$',
    re.MULTILINE,
)
_SAFE_VALUE = re.compile(
    r"""^(?:
        (?:/|\./|\.\./|~/)\S*                    # a file path: keep it, it is not the secret
      | true|false|yes|no|on|off|null|none|~     # booleans and empties
      | \d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h|d)*    # numbers and durations (token lifetimes)
      | \*+                                      # already masked
      | ""|''
    )$""",
    re.IGNORECASE | re.VERBOSE,
)


def _is_safe(value: str) -> bool:
    """Return True for values that cannot be a credential (paths, booleans, durations)."""
    return bool(_SAFE_VALUE.match(value.strip().strip("\"'").rstrip(",")) or not value.strip())


_SECRET_NAME = re.compile(_SECRET_WORDS, re.IGNORECASE)


#: Values known to be secret whatever surrounds them (decrypted vault values), longest first.
_KNOWN_VALUES: list[str] = []


def add_secret_values(values: Iterable[str]) -> None:
    """Mask these exact values everywhere from now on (a decrypted vault value, for one)."""
    known = set(_KNOWN_VALUES)
    known.update(v for v in values if len(v) >= 4)  # shorter would mask ordinary words
    _KNOWN_VALUES[:] = sorted(known, key=len, reverse=True)


def is_secret_name(name: str) -> bool:
    """Return True when a key or flag name says its value is a credential (``client-secret``)."""
    return bool(_SECRET_NAME.search(name.replace("_", "-")) or _SECRET_NAME.search(name))


def mask_value(name: str, value: str) -> str:
    """Return ``value`` masked when ``name`` marks it secret, else with :func:`mask_secrets`.

    For structured data (a mapping's key and its string value), where the text filter cannot
    see the key.
    """
    if is_secret_name(name) and not _is_safe(value):
        return MASK
    return mask_secrets(value)


def _keep_safe(match: re.Match[str]) -> str:
    value = match.group("value")
    if _is_safe(value):
        return match.group(0)
    quote = value[0] if value[:1] in {'"', "'"} and value[-1:] == value[:1] else ""
    return f"{match.group('key')}{quote}{MASK}{quote}"


def _always(match: re.Match[str]) -> str:
    return f"{match.group('key')}{MASK}"


def _pem(match: re.Match[str]) -> str:
    kind = match.group("kind")
    return f"-----BEGIN {kind}PRIVATE KEY-----{MASK}-----END {kind}PRIVATE KEY-----"


def _json_pair(match: re.Match[str]) -> str:
    if _is_safe(match.group("value")):
        return match.group(0)
    return f'{match.group("key")}"{MASK}"'


def mask_secrets(text: str) -> str:
    """Return ``text`` with every credential it quotes replaced by ``***``.

    Masks private-key PEM blocks (certificates are public and kept), kubeconfig-style
    ``client-key-data:``/``token:``/``password:`` values (YAML or JSON), values of flags whose
    names contain ``token``, ``password`` or ``secret``, bearer and other ``Authorization``
    credentials, passwords in URLs, and lines shaped like a ``--token-auth-file`` (the first
    field of ``token,user,uid[,groups]``).

    >>> mask_secrets("Authorization: Bearer abc.def")
    'Authorization: Bearer ***'
    >>> mask_secrets("  client-key-data: LS0tLS1CRUdJTg==")
    '  client-key-data: ***'
    """
    for value in _KNOWN_VALUES:
        text = text.replace(value, MASK)
    text = _PEM_PRIVATE.sub(_pem, text)
    text = _JSON_PAIR.sub(_json_pair, text)
    text = _YAML_PAIR.sub(_keep_safe, text)
    text = _FLAG_EQ.sub(_keep_safe, text)
    text = _FLAG_SPACE.sub(_keep_safe, text)
    text = _BEARER.sub(_always, text)
    text = _AUTH_HEADER.sub(_always, text)
    text = _URL_PASSWORD.sub(_always, text)
    return _TOKEN_CSV_LINE.sub(lambda m: f"{m.group('key')}{MASK}{m.group('rest')}", text)


def mask_token_auth_file(content: str) -> str:
    """Mask the token column of a ``--token-auth-file`` the caller knows it is showing.

    Why separate from :func:`mask_secrets`: when the file is known, every line's first field
    is a credential, whatever it looks like; the generic filter has to guess.

    >>> mask_token_auth_file('abc,admin,1,"system:masters"')
    '***,admin,1,"system:masters"'
    """
    lines = []
    for line in content.splitlines(keepends=True):
        head, sep, rest = line.partition(",")
        lines.append(f"{MASK}{sep}{rest}" if sep and head.strip() else line)
    return "".join(lines)
