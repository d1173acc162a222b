"""Time formats of the CRI world: Go's RFC3339Nano and kubelet's fixed-width variant.

The lab's node clock is UTC, so every time ends in ``Z``.
"""

from __future__ import annotations

import time

__all__ = ["ZERO_TIME", "rfc3339_fixed", "rfc3339_nano", "rfc3339_seconds"]

#: Go's zero ``time.Time`` as crictl prints it for "not applicable".
ZERO_TIME = "0001-01-01T00:00:00Z"


def _base(ns: int) -> tuple[str, int]:
    seconds, fraction = divmod(ns, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)), fraction


def rfc3339_nano(ns: int) -> str:
    """Format like Go's ``time.RFC3339Nano``: trailing zeros of the fraction dropped.

    >>> rfc3339_nano(1724148931007688120)
    '2024-08-20T10:15:31.00768812Z'
    """
    base, fraction = _base(ns)
    digits = f"{fraction:09d}".rstrip("0")
    return f"{base}.{digits}Z" if digits else f"{base}Z"


def rfc3339_fixed(ns: int) -> str:
    """Format with always nine fraction digits (kubelet's ``RFC3339NanoFixed``).

    >>> rfc3339_fixed(1724148931000000000)
    '2024-08-20T10:15:31.000000000Z'
    """
    base, fraction = _base(ns)
    return f"{base}.{fraction:09d}Z"


def rfc3339_seconds(ns: int) -> str:
    """Format as the Kubernetes API does (``metav1.Time``): UTC, whole seconds."""
    return _base(ns)[0] + "Z"
