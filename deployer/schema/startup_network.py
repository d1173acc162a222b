"""Service IP ranges, node ports, address family, ``--apiserver-count`` and the cloud provider.

Sources: ``kube-apiserver-validation.md`` sections 6 and 11 (``cmd/kube-apiserver/app/options``).

Why ranges appear twice: ``Complete()`` parses the CIDRs first (and stops at the first bad one),
``Validate()`` then checks sizes and families of what ``Complete()`` produced.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from deployer.schema.gostrconv import GoValueError
from deployer.schema.startup_model import CheckContext, Stage, StartupError
from deployer.schema.valuetypes import IPAddress, IPNetwork, parse_cidr_sloppy

__all__ = [
    "ServiceRanges",
    "cloud_provider_errors",
    "service_ranges",
    "service_validate_errors",
]

_DEFAULT_SERVICE_RANGE = ipaddress.ip_network("10.0.0.0/24")
_MAX_CIDR_BITS = 20
_IN_TREE_PROVIDERS = ("aws", "azure", "cinder", "gce", "openstack", "vsphere")


@dataclass(frozen=True, slots=True)
class ServiceRanges:
    """What ``Complete()`` made of ``--service-cluster-ip-range``."""

    primary: IPNetwork | None
    secondary: IPNetwork | None
    #: The first ``Complete()`` error, if any (it stops startup before ``Validate()``).
    error: StartupError | None


def _range_size(net: IPNetwork) -> int:
    """netutils.RangeSize: 0 for IPv4 /0-/1 and IPv6 /0-/1 (overflow guard), capped at 2^16."""
    host_bits = net.max_prefixlen - net.prefixlen
    if (net.max_prefixlen == 32 and host_bits >= 31) or (
        net.max_prefixlen == 128 and host_bits >= 127
    ):
        return 0
    return min(1 << host_bits, 1 << 16)


def _complete_error(message: str) -> StartupError:
    return StartupError(message, "service-cluster-ip-range", Stage.COMPLETE)


def service_ranges(c: CheckContext) -> ServiceRanges:
    """Port of getServiceIPAndRanges + ServiceIPRange (``Complete()``)."""
    text = c.parsed.text("service-cluster-ip-range")
    items = text.split(",") if text else []
    if not items:
        return ServiceRanges(_DEFAULT_SERVICE_RANGE, None, None)
    try:
        primary = parse_cidr_sloppy(items[0])
    except GoValueError:
        return ServiceRanges(
            None, None, _complete_error("service-cluster-ip-range[0] is not a valid cidr")
        )
    if _range_size(primary) < 8:
        return ServiceRanges(
            None,
            None,
            _complete_error(
                "error determining service IP ranges for primary service cidr: "
                "the service cluster IP range must be at least 8 IP addresses"
            ),
        )
    secondary = None
    if len(items) > 1:
        try:
            secondary = parse_cidr_sloppy(items[1])
        except GoValueError:
            return ServiceRanges(
                primary, None, _complete_error("service-cluster-ip-range[1] is not an ip net")
            )
    return ServiceRanges(primary, secondary, None)


def _too_large(net: IPNetwork, flag_text: str) -> StartupError | None:
    bits = net.max_prefixlen
    if bits - net.prefixlen > _MAX_CIDR_BITS:
        return StartupError(
            f"specified {flag_text} is too large; for {bits}-bit addresses, the mask must be "
            f">= {bits - _MAX_CIDR_BITS}",
            "service-cluster-ip-range",
            Stage.VALIDATE,
        )
    return None


def _public_address(c: CheckContext) -> IPAddress | None:
    """The advertise address Complete() would pick, when it does not depend on the host."""
    advertise = c.parsed.values.get("advertise-address")
    if (
        isinstance(advertise, ipaddress.IPv4Address | ipaddress.IPv6Address)
        and not advertise.is_unspecified
    ):
        return advertise
    bind = c.parsed.values.get("bind-address")
    if isinstance(bind, ipaddress.IPv4Address | ipaddress.IPv6Address) and not (
        bind.is_unspecified or bind.is_loopback
    ):
        return bind
    return None  # chosen from the host's interfaces at run time


def _is_v4(address: IPAddress | IPNetwork) -> bool:
    if isinstance(address, ipaddress.IPv6Address):
        return address.ipv4_mapped is not None
    if isinstance(address, ipaddress.IPv6Network):
        return address.network_address.ipv4_mapped is not None
    return True


def service_validate_errors(c: CheckContext, ranges: ServiceRanges) -> list[StartupError]:
    """validateClusterIPFlags, validateServiceNodePort, the family check, apiserver count."""
    p = c.parsed
    errors: list[StartupError] = []
    if len(p.text("service-cluster-ip-range").split(",")) > 2:
        errors.append(
            StartupError(
                "--service-cluster-ip-range must not contain more than two entries",
                "service-cluster-ip-range",
                Stage.VALIDATE,
            )
        )
    multi = c.gates.enabled("MultiCIDRServiceAllocator")
    skip_size = multi and (c.minor < 31 or c.gates.enabled("DisableAllocatorDualWrite"))
    if ranges.primary is not None and not skip_size:
        errors.extend(e for e in [_too_large(ranges.primary, "--service-cluster-ip-range")] if e)
    if ranges.primary is not None and ranges.secondary is not None:
        if _is_v4(ranges.primary) == _is_v4(ranges.secondary):
            errors.append(
                StartupError(
                    "--service-cluster-ip-range[0] and --service-cluster-ip-range[1] must be of "
                    "different IP family",
                    "service-cluster-ip-range",
                    Stage.VALIDATE,
                )
            )
        if not skip_size:
            errors.extend(
                e for e in [_too_large(ranges.secondary, "--service-cluster-ip-range[1]")] if e
            )
    node_port = p.integer("kubernetes-service-node-port")
    if node_port < 0 or node_port > 65535:
        errors.append(
            StartupError(
                f"--kubernetes-service-node-port {node_port} must be between 0 and 65535, "
                "inclusive. If 0, the Kubernetes master service will be of type ClusterIP",
                "kubernetes-service-node-port",
                Stage.VALIDATE,
            )
        )
    port_range = p.port_range("service-node-port-range")
    if node_port > 0 and not port_range.contains(node_port):
        errors.append(
            StartupError(
                f"kubernetes service node port range {port_range} doesn't contain {node_port}",
                "service-node-port-range",
                Stage.VALIDATE,
            )
        )
    public = _public_address(c)
    if (
        p.text("endpoint-reconciler-type") != "none"
        and ranges.primary is not None
        and public is not None
        and _is_v4(ranges.primary) != _is_v4(public)
    ):
        errors.append(
            StartupError(
                f'service IP family "{ranges.primary}" must match public address family "{public}"',
                "advertise-address",
                Stage.VALIDATE,
            )
        )
    count = p.integer("apiserver-count", 1)
    if count <= 0:
        errors.append(
            StartupError(
                f"--apiserver-count should be a positive number, but value '{count}' provided",
                "apiserver-count",
                Stage.VALIDATE,
            )
        )
    return errors


def cloud_provider_errors(c: CheckContext) -> list[StartupError]:
    """CloudProviderOptions.Validate (1.28-1.32; the flag is gone in 1.33)."""
    if not c.parsed.is_set("cloud-provider"):
        return []
    provider = c.parsed.text("cloud-provider")
    if not provider or provider == "external":
        return []
    if provider not in _IN_TREE_PROVIDERS:
        return [
            StartupError(f"unknown --cloud-provider: {provider}", "cloud-provider", Stage.VALIDATE)
        ]
    errors: list[StartupError] = []
    for gate in ("DisableCloudProviders", "DisableKubeletCloudCredentialProviders"):
        if c.gates.enabled(gate):
            errors.append(
                StartupError(
                    f"when using --cloud-provider set to '{provider}', please set {gate} feature "
                    "to false",
                    "cloud-provider",
                    Stage.VALIDATE,
                )
            )
    return errors
