"""The caller's address: the socket peer, or ``X-Forwarded-For`` when the peer is a trusted proxy."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import Any

from bytespike.access.principal import Network


def client_ip(scope: dict[str, Any], proxies: Sequence[Network]) -> str | None:
    client = scope.get("client")
    ip = client[0] if client else None
    if not proxies or ip is None:
        return ip
    try:
        trusted = any(ipaddress.ip_address(ip) in net for net in proxies)
    except ValueError:
        return ip
    if not trusted:
        return ip
    for name, value in scope.get("headers", ()):
        if name == b"x-forwarded-for":
            # The rightmost address not belonging to a trusted proxy is the client.
            for hop in reversed([h.strip() for h in value.decode("latin-1").split(",")]):
                try:
                    if not any(ipaddress.ip_address(hop) in net for net in proxies):
                        return hop
                except ValueError:
                    return ip
    return ip
