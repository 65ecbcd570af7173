"""Fetching media a caller named by URL, for vendors that take it only inline (protocols.md §5.2).

A caller's URL makes the gateway open a connection on its behalf, so every fetch is guarded:

- only ``http``/``https`` URLs;
- every address the connection may use must be public (``ipaddress`` ``is_global``: no private,
  loopback, link-local, shared, reserved or multicast address) unless it lies in a network the
  operator allows. A literal address is checked before connecting; a host name is checked by
  the resolver the connection itself uses, so a name that resolves differently the second time
  (DNS rebinding) cannot slip past;
- redirects are followed by hand (at most `MAX_REDIRECTS`), each location checked again;
- the body is read up to the size cap whatever ``Content-Length`` says, within a total timeout;
- the content type must be one the caller's part may hold.

Every failure is a `MediaFetchError` whose message says why; the relay answers it as a 400
naming the field. The fetcher has its own small session: its resolver differs from the
vendor pool's, and nothing here shares connections with vendor calls.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from yarl import URL

if TYPE_CHECKING:
    import aiohttp

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

MAX_REDIRECTS = 3
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
READ_CHUNK = 64 << 10


class MediaFetchError(Exception):
    """The media could not be fetched; the message says why, for the caller."""


@dataclass(frozen=True, slots=True)
class MediaPolicy:
    """What a fetch may do (settings ``BYTESPIKE_MEDIA_FETCH_*``)."""

    max_bytes: int = 20 << 20
    timeout_s: float = 10.0
    allow_networks: tuple[Network, ...] = ()
    """Non-public networks fetches may reach anyway (an internal image host; tests' 127.0.0.1)."""

    def permits(self, address: Address) -> bool:
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return address.is_global or any(address in net for net in self.allow_networks)


@dataclass(frozen=True, slots=True)
class FetchedMedia:
    media_type: str
    """The Content-Type the server gave, without parameters, lower-cased."""
    data: bytes


def _check_url(url: URL, policy: MediaPolicy) -> None:
    if url.scheme not in ("http", "https") or not url.host:
        raise MediaFetchError("only http and https URLs can be fetched")
    try:
        address = ipaddress.ip_address(url.host)
    except ValueError:
        return  # a name: the resolver checks what it resolves to
    if not policy.permits(address):
        raise MediaFetchError(f"{address} is not a public address")


def _media_type(value: str | None) -> str:
    return (value or "").split(";", 1)[0].strip().lower()


class MediaFetcher:
    """Fetches media under a `MediaPolicy`; `close()` at shutdown."""

    def __init__(self, policy: MediaPolicy) -> None:
        self.policy = policy
        self._session: aiohttp.ClientSession | None = None

    def _get_session(self) -> aiohttp.ClientSession:
        # aiohttp is imported on the first fetch: most workers never fetch media, and it is ~10 MiB.
        import aiohttp

        from bytespike.upstreams.guarded_resolver import GuardedResolver

        if self._session is None:
            connector = aiohttp.TCPConnector(resolver=GuardedResolver(self.policy), limit=64)
            self._session = aiohttp.ClientSession(connector=connector, trust_env=False)
        return self._session

    async def fetch(self, url: str, accept: Sequence[str]) -> FetchedMedia:
        """The body at ``url`` if its content type starts with one of ``accept`` (``image/``,
        ``application/pdf``); raises `MediaFetchError` otherwise."""
        import aiohttp

        try:
            async with asyncio.timeout(self.policy.timeout_s):
                return await self._fetch(URL(url), accept)
        except TimeoutError:
            raise MediaFetchError(f"no complete answer within {self.policy.timeout_s:g} s") from None
        except ValueError as exc:  # yarl: a URL it cannot parse
            raise MediaFetchError(f"not a valid URL ({exc})") from None
        except aiohttp.ClientError as exc:
            raise MediaFetchError(f"the request failed ({exc.__class__.__name__}: {exc})") from None

    async def _fetch(self, url: URL, accept: Sequence[str]) -> FetchedMedia:
        session = self._get_session()
        for _ in range(MAX_REDIRECTS + 1):
            _check_url(url, self.policy)
            async with session.get(url, allow_redirects=False) as resp:
                if resp.status in REDIRECT_STATUSES and "location" in resp.headers:
                    url = resp.url.join(URL(resp.headers["location"]))
                    continue
                if resp.status != 200:
                    raise MediaFetchError(f"the server answered HTTP {resp.status}")
                media_type = _media_type(resp.headers.get("content-type"))
                if not media_type.startswith(tuple(accept)):
                    wanted = " or ".join(a.rstrip("/") + ("/*" if a.endswith("/") else "") for a in accept)
                    raise MediaFetchError(f"the content type is {media_type or 'missing'}, not {wanted}")
                return FetchedMedia(media_type, await self._read_capped(resp))
        raise MediaFetchError(f"more than {MAX_REDIRECTS} redirects")

    async def _read_capped(self, resp: aiohttp.ClientResponse) -> bytes:
        cap = self.policy.max_bytes
        if resp.content_length is not None and resp.content_length > cap:
            raise MediaFetchError(f"it is {resp.content_length} bytes, over the {cap}-byte limit")
        chunks: list[bytes] = []
        size = 0
        async for chunk in resp.content.iter_chunked(READ_CHUNK):
            size += len(chunk)
            if size > cap:
                raise MediaFetchError(f"it is over the {cap}-byte limit")
            chunks.append(chunk)
        return b"".join(chunks)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
