"""Typed values of kube-apiserver flags that have no plain Python equivalent.

Why small frozen classes: a port range, a duration or a named certificate pair keep their Go
``String()`` form (what ``FLAG: --x="..."`` prints and what errors quote) next to the parsed
parts, and cannot be changed by a caller after parsing.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from decimal import Decimal

from deployer.schema.gostrconv import GoValueError, go_quote, go_trim_space
from deployer.schema.gotime import format_duration

__all__ = [
    "Duration",
    "IPAddress",
    "IPNetwork",
    "NamedCertKey",
    "PortRange",
    "Quantity",
    "VModuleItem",
    "parse_cidr_sloppy",
    "parse_ip",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True, slots=True)
class Duration:
    """A Go ``time.Duration``: integer nanoseconds."""

    ns: int

    def __str__(self) -> str:
        return format_duration(self.ns)

    @property
    def seconds(self) -> float:
        """The duration in seconds (for comparisons in validation rules)."""
        return self.ns / 1e9


@dataclass(frozen=True, slots=True)
class PortRange:
    """apimachinery's ``utilnet.PortRange``: ``base`` and ``size`` (0 = unset)."""

    base: int
    size: int

    def __str__(self) -> str:
        if self.size == 0:
            return ""
        return f"{self.base}-{self.base + self.size - 1}"

    def contains(self, port: int) -> bool:
        """Return whether ``port`` is inside the range (Go's ``PortRange.Contains``)."""
        return port >= self.base and (port - self.base) < self.size


@dataclass(frozen=True, slots=True)
class NamedCertKey:
    """One ``--tls-sni-cert-key`` value: certificate, key and optional SNI names."""

    cert_file: str
    key_file: str
    names: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class VModuleItem:
    """One ``pattern=N`` item of ``--vmodule``."""

    pattern: str
    level: int


@dataclass(frozen=True, slots=True)
class Quantity:
    """A Kubernetes ``resource.Quantity`` as written, with its numeric value."""

    text: str
    value: Decimal

    def __str__(self) -> str:
        return self.text

    @property
    def is_zero(self) -> bool:
        """True when the quantity is 0 (the logging buffer checks only care about that)."""
        return self.value == 0


def _go_ip(text: str) -> IPAddress | None:
    """net.ParseIP: dotted IPv4 without leading zeros, or IPv6 without a zone."""
    if not text or "%" in text or not text.isascii():
        return None
    try:
        if ":" in text:
            return ipaddress.IPv6Address(text)
        return ipaddress.IPv4Address(text)
    except ValueError:
        return None


def parse_ip(text: str) -> IPAddress:
    """Parse an ``ip`` flag value as pflag does (``net.ParseIP`` after ``TrimSpace``).

    Raises:
        GoValueError: ``failed to parse IP: "x"`` (the untrimmed text, Go-quoted).
    """
    ip = _go_ip(go_trim_space(text))
    if ip is None:
        raise GoValueError(f"failed to parse IP: {go_quote(text)}")
    return ip


def _sloppy_v4(addr: str) -> str:
    parts = addr.split(".")
    if len(parts) == 4 and all(p.isdigit() and p.isascii() for p in parts):
        return ".".join(str(int(p)) if len(p) <= 3 else p for p in parts)
    return addr


def parse_cidr_sloppy(text: str) -> IPNetwork:
    """Parse a CIDR like k8s.io/utils/net ``ParseCIDRSloppy`` (IPv4 leading zeros allowed).

    Returns the masked network (``10.96.0.1/12`` -> ``10.96.0.0/12``), as Go's ``ParseCIDR``.

    Raises:
        GoValueError: ``invalid CIDR address: x``.
    """
    error = GoValueError(f"invalid CIDR address: {text}")
    addr, slash, prefix = text.partition("/")
    if not slash or not prefix.isdigit() or not prefix.isascii() or len(prefix) > 3:
        raise error
    ip = _go_ip(_sloppy_v4(addr))
    if ip is None:
        raise error
    bits = int(prefix)
    if bits > ip.max_prefixlen:
        raise error
    if isinstance(ip, ipaddress.IPv4Address):
        return ipaddress.IPv4Network((int(ip), bits), strict=False)
    return ipaddress.IPv6Network((int(ip), bits), strict=False)
