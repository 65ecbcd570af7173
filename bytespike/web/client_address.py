"""The caller's address: the socket peer, or ``X-Forwarded-For`` when the peer is a trusted proxy.

Every surface (inference, management, console, generations) reads the address here. It runs on
every request: with no trusted proxy configured it costs one lookup in the ASGI scope.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import Any

from bytespike.access.principal import Network


def client_ip(scope: dict[str, Any], proxies: Sequence[Network]) -> str | None:
    """The peer's address, or, when the peer is in ``proxies``, the rightmost address of the
    ``X-Forwarded-For`` chain that is not a trusted proxy (each proxy appends the address it was
    reached from, so everything left of that is the client's own claim). Several header lines are
    one chain in order (RFC 9110 §5.3). A malformed hop, or a chain of proxies only, leaves the
    peer's address."""
    client = scope.get("client")
    ip = client[0] if client else None
    if not proxies or ip is None:
        return ip
    try:
        if not _is_trusted(ip, proxies):
            return ip
    except ValueError:  # a peer that is no IP address (a Unix socket's path) is no proxy
        return ip
    hops = [
        hop.strip()
        for name, value in scope.get("headers", ())
        if name == b"x-forwarded-for"
        for hop in value.decode("latin-1").split(",")
    ]
    for hop in reversed(hops):
        try:
            if not _is_trusted(hop, proxies):
                return hop
        except ValueError:
            return ip
    return ip


def _is_trusted(address: str, proxies: Sequence[Network]) -> bool:
    """Whether ``address`` is in one of ``proxies``; ValueError when it is not an IP address."""
    parsed = ipaddress.ip_address(address)
    return any(parsed in net for net in proxies)
