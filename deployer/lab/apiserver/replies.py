"""HTTP answers and the headers kube-apiserver puts on every one of them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from deployer.lab.apiserver import documents

__all__ = ["JSON", "TEXT", "Reply", "headers", "json_reply", "not_found_text"]

TEXT = "text/plain; charset=utf-8"
JSON = "application/json"


@dataclass(frozen=True, slots=True)
class Reply:
    """An HTTP answer."""

    status: int
    body: bytes
    headers: tuple[tuple[str, str], ...] = ()

    def header(self, name: str) -> str | None:
        """Return the first header called ``name``, if any."""
        return next((value for key, value in self.headers if key == name), None)


def headers(content_type: str) -> tuple[tuple[str, str], ...]:
    """Headers on every answer: an audit id, kube-apiserver's cache policy, the content type."""
    return (
        ("Audit-Id", str(uuid.uuid4())),
        ("Cache-Control", "no-cache, private"),
        ("Content-Type", content_type),
        ("X-Content-Type-Options", "nosniff"),
    )


def json_reply(status: int, document: object, extra: tuple[tuple[str, str], ...] = ()) -> Reply:
    """Answer with an API object serialized as the apiserver does."""
    return Reply(status, documents.encode(document), headers(JSON) + extra)


def not_found_text() -> Reply:
    """Answer an unknown non-API path (Go's ``http.NotFound``)."""
    return Reply(404, b"404 page not found\n", headers(TEXT))
