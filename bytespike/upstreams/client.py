"""The pooled HTTP client every upstream call goes through, and its failure mapping.

One `Http1Pool` per process (upstreams/http1.py: keep-alive connections on asyncio transports
with httptools' parser, about a sixth of aiohttp's CPU per call). Connection failures become
502, timeouts 504; nothing transport-specific leaves this module.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from bytespike.errors import GatewayError
from bytespike.upstreams.http1 import Http1Pool, HttpError, HttpTimeout, Response


class UpstreamStreamError(Exception):
    """The upstream connection broke or stalled after the response had started."""

    def __init__(self, message: str, *, timeout: bool = False) -> None:
        super().__init__(message)
        self.timeout = timeout


class UpstreamResponse:
    """Status, headers and body of a vendor response; always `release()`d by its reader."""

    __slots__ = ("_resp", "status")

    def __init__(self, resp: Response) -> None:
        self._resp = resp
        self.status = resp.status

    @property
    def headers(self) -> dict[str, str]:
        """Lower-case header names (decoded on first use)."""
        return self._resp.headers

    async def read(self) -> bytes:
        try:
            return await self._resp.read()
        except HttpTimeout as exc:
            raise GatewayError(504, "upstream_timeout", "the upstream did not answer in time") from exc
        except HttpError as exc:
            raise GatewayError(502, "upstream_error", f"the upstream connection failed: {exc}") from exc

    async def iter_chunks(self) -> AsyncIterator[bytes]:
        """Body bytes as they arrive; raises `UpstreamStreamError` on a drop or a stall."""
        try:
            async for chunk in self._resp.iter_chunks():
                yield chunk
        except HttpTimeout as exc:
            raise UpstreamStreamError("the upstream stream stalled", timeout=True) from exc
        except HttpError as exc:
            raise UpstreamStreamError(f"the upstream stream broke: {exc}") from exc

    def release(self) -> None:
        self._resp.release()

    def close(self) -> None:
        self._resp.close()


class UpstreamClient:
    def __init__(self, *, connect_timeout: float, read_timeout: float, limit: int = 4096) -> None:
        # Idle connections are dropped after 4 s, before servers that close at 5 s idle
        # (uvicorn's default) reset them under us: a reused dead connection was a 502.
        self._pool = Http1Pool(
            connect_timeout=connect_timeout, read_timeout=read_timeout, limit=limit, idle_timeout=4.0
        )

    async def post(self, url: str, headers: list[tuple[str, str]], body: bytes) -> UpstreamResponse:
        try:
            resp = await self._pool.request("POST", url, headers, body)
        except HttpTimeout as exc:
            raise GatewayError(504, "upstream_timeout", "the upstream did not answer in time") from exc
        except HttpError as exc:
            raise GatewayError(
                502, "upstream_unreachable", f"the upstream could not be reached: {exc}"
            ) from exc
        return UpstreamResponse(resp)

    @property
    def open_connections(self) -> int:
        return self._pool.open_connections

    async def close(self) -> None:
        await self._pool.close()
