"""The parts of Go's ``net/url.Parse`` that companion-file validation depends on.

Why not ``urllib.parse``: it accepts what Go rejects (a control character, ``:8x`` as a port, a
first path segment with a colon) and splits schemes differently, so an issuer URL or a KMS endpoint
that kube-apiserver refuses would pass. This follows Go 1.22+ ``net/url/url.go`` (``getScheme``,
``parse``, ``parseAuthority``, ``parseHost``, ``validOptionalPort``) for the error texts the
validators quote (``parse "x": missing protocol scheme``).
"""

from __future__ import annotations

from dataclasses import dataclass

from deployer.schema.gostrconv import go_quote

__all__ = ["GoURL", "GoURLError", "parse_url"]


class GoURLError(ValueError):
    """``*url.Error`` for ``Parse``: ``parse "<url>": <reason>``."""


@dataclass(frozen=True, slots=True)
class GoURL:
    """The fields of ``url.URL`` the validators read."""

    scheme: str
    has_user: bool
    host: str
    path: str
    raw_query: str
    fragment: str


def _fail(raw: str, reason: str) -> GoURLError:
    return GoURLError(f"parse {go_quote(raw)}: {reason}")


def _scheme(raw: str) -> tuple[str, str, str | None]:
    """Return (scheme, rest, error) as Go's ``getScheme``."""
    for i, c in enumerate(raw):
        if c.isascii() and c.isalpha():
            continue
        if c.isascii() and (c.isdigit() or c in "+-."):
            if i == 0:
                return "", raw, None
            continue
        if c == ":":
            if i == 0:
                return "", "", "missing protocol scheme"
            return raw[:i], raw[i + 1 :], None
        return "", raw, None
    return "", raw, None


def _valid_port(port: str) -> bool:
    return port == "" or (port.startswith(":") and port[1:].isdigit()) or port == ":"


def _host(raw: str, host: str) -> str:
    if host.startswith("["):
        end = host.rfind("]")
        if end < 0:
            raise _fail(raw, "missing ']' in host")
        port = host[end + 1 :]
        if not _valid_port(port):
            raise _fail(raw, f"invalid port {go_quote(port)} after host")
        return host
    colon = host.rfind(":")
    if colon >= 0 and not _valid_port(host[colon:]):
        raise _fail(raw, f"invalid port {go_quote(host[colon:])} after host")
    return host


def parse_url(raw: str) -> GoURL:
    """Parse like ``url.Parse``; raise :class:`GoURLError` with Go's text."""
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in raw):
        raise _fail(raw, "net/url: invalid control character in URL")
    rest, _, fragment = raw.partition("#")
    if rest == "" and fragment == "" and raw == "":
        raise _fail(raw, "empty url")
    scheme, rest, error = _scheme(rest)
    if error:
        raise _fail(raw, error)
    scheme = scheme.lower()
    rest, _, query = rest.partition("?") if "?" in rest else (rest, "", "")
    has_user = False
    host = ""
    if not rest.startswith("/") and scheme == "" and ":" in rest.split("/", 1)[0]:
        raise _fail(raw, "first path segment in URL cannot contain colon")
    if (scheme or not rest.startswith("///")) and rest.startswith("//"):
        authority, slash, path = rest[2:].partition("/")
        rest = slash + path
        at = authority.rfind("@")
        if at >= 0:
            has_user = True
            authority = authority[at + 1 :]
        host = _host(raw, authority)
    return GoURL(scheme, has_user, host, rest, query, fragment)
