"""The resolver of the media fetcher's aiohttp session: the default one, keeping only the
addresses a `MediaPolicy` permits (a URL whose name resolves to a private address is refused
after resolution, so DNS tricks cannot reach the gateway's own network). Imported only when a
fetch happens (upstreams/media_fetch.py)."""

from __future__ import annotations

import ipaddress
import socket

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

from bytespike.upstreams.media_fetch import MediaFetchError, MediaPolicy


class GuardedResolver(AbstractResolver):
    """The default resolver, keeping only the addresses the policy permits."""

    def __init__(self, policy: MediaPolicy) -> None:
        self._policy = policy
        self._inner = DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        found = await self._inner.resolve(host, port, family)
        allowed = [r for r in found if self._policy.permits(ipaddress.ip_address(r["host"]))]
        if not allowed:
            addresses = ", ".join(sorted({r["host"] for r in found}))
            raise MediaFetchError(f"{host} resolves to {addresses}, which is not a public address")
        return allowed

    async def close(self) -> None:
        await self._inner.close()
