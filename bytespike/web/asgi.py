"""Small raw-ASGI helpers for the hot path: read a bounded body, send a reply or a stream.

The inference surfaces bypass framework routing and request objects (DESIGN.md §3: pure ASGI on
the hot path); these helpers are all they need.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any, TypeVar

from bytespike.errors import GatewayError, body_too_large
from bytespike.relay.outcome import Headers, Reply, StreamReply

Scope = dict[str, Any]
T = TypeVar("T")


async def read_body(receive: Any, limit: int, headers: Headers) -> tuple[bytes, GatewayError | None]:
    """The request body, or an error once it is known to exceed ``limit`` bytes."""
    for name, value in headers:
        if name == b"content-length":
            try:
                if int(value) > limit:
                    return b"", body_too_large(limit)
            except ValueError:
                return b"", GatewayError(400, "invalid_param", "Content-Length is not a number")
    parts: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise asyncio.CancelledError("client disconnected while sending the body")
        chunk = message.get("body", b"")
        if chunk:
            size += len(chunk)
            if size > limit:
                return b"", body_too_large(limit)
            parts.append(chunk)
        if not message.get("more_body", False):
            break
    return (parts[0] if len(parts) == 1 else b"".join(parts)), None


async def until_disconnect(work: Awaitable[T], receive: Any) -> T | None:
    """Run ``work`` while watching the connection; cancel it and return None if the client hangs
    up first (a request the caller abandoned before its reply is not billed, docs/billing.md).

    ``work`` runs in the calling task (no hop to another task, so a stream starts relaying the
    moment the relay returns it); a side task cancels this task when the client disconnects."""
    current = asyncio.current_task()
    assert current is not None
    gone = False

    async def watch() -> None:
        nonlocal gone
        await _disconnected(receive)
        gone = True
        current.cancel()

    watcher = asyncio.ensure_future(watch())
    try:
        return await work
    except asyncio.CancelledError:
        if not gone:
            raise
        current.uncancel()  # our own cancellation: the request ends here, quietly
        return None
    finally:
        watcher.cancel()


async def _disconnected(receive: Any) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def send_reply(send: Any, reply: Reply) -> None:
    await send({"type": "http.response.start", "status": reply.status, "headers": reply.headers})
    await send({"type": "http.response.body", "body": reply.body})


async def send_stream(send: Any, receive: Any, reply: StreamReply) -> None:
    """Relay a stream; a client disconnect stops it and is reported to the relay for billing."""
    disconnected = asyncio.Event()

    async def watch() -> None:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                disconnected.set()
                return

    watcher = asyncio.get_running_loop().create_task(watch())
    chunks = reply.stream.chunks()
    try:
        await send({"type": "http.response.start", "status": reply.status, "headers": reply.headers})
        async for chunk in chunks:
            if disconnected.is_set():
                break
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        if not disconnected.is_set():
            await send({"type": "http.response.body", "body": b"", "more_body": False})
    finally:
        await chunks.aclose()  # type: ignore[attr-defined]
        watcher.cancel()
        await asyncio.shield(reply.stream.finish(client_gone=disconnected.is_set()))
