"""CIDR lists (IPv4 and IPv6) and the allow/deny decision for a client address."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from bytespike.access.principal import Network


def parse_networks(values: Iterable[str]) -> tuple[Network, ...]:
    """Parse CIDRs (a bare address means /32 or /128); raises ValueError naming the bad entry."""
    out = []
    for raw in values:
        try:
            out.append(ipaddress.ip_network(str(raw).strip(), strict=False))
        except ValueError as exc:
            raise ValueError(f"{raw!r} is not a valid IPv4 or IPv6 CIDR") from exc
    return tuple(out)


def is_address_allowed(address: str | None, allow: tuple[Network, ...], deny: tuple[Network, ...]) -> bool:
    """Deny wins; an empty allow list allows every address not denied."""
    if not allow and not deny:
        return True
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return not allow  # unknown address: only allowed when nothing restricts it to a list
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if any(ip in net for net in deny if net.version == ip.version):
        return False
    return not allow or any(ip in net for net in allow if net.version == ip.version)
