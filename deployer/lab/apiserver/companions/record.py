"""One answered request as the audit backend sees it (kept apart so the server imports little)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from deployer.lab.apiserver.auth import Identity, Request

__all__ = ["RequestRecord"]


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """One authenticated, answered request."""

    method: str
    uri: str
    request: Request
    identity: Identity
    status: int
    user_agent: str
    source_ip: str
    received: datetime.datetime
