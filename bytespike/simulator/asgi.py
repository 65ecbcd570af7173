"""The few raw-ASGI moves the simulator makes: read a body, send an answer, break a connection.

The simulator is a bare ASGI callable (no framework on the hot path), so these helpers are all
the HTTP plumbing it has.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any, NoReturn

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Headers = list[tuple[bytes, bytes]]


class SimulatedDrop(Exception):
    """Raised on purpose mid-body so the server closes the connection without finishing it."""


@dataclass(frozen=True, slots=True)
class HttpAnswer:
    """A complete, non-streamed HTTP response."""

    status: int
    body: bytes
    headers: Headers


async def read_body(receive: Receive) -> bytes:
    message = await receive()
    body = message.get("body", b"")
    if not message.get("more_body", False):
        return body
    parts = [body]
    while message.get("more_body", False):
        message = await receive()
        parts.append(message.get("body", b""))
    return b"".join(parts)


async def send_answer(send: Send, answer: HttpAnswer) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": answer.status,
            "headers": [*answer.headers, (b"content-length", str(len(answer.body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": answer.body})


async def send_truncated(send: Send, answer: HttpAnswer) -> NoReturn:
    """Announce the full length, send half the body, then break the connection."""
    await send(
        {
            "type": "http.response.start",
            "status": answer.status,
            "headers": [*answer.headers, (b"content-length", str(len(answer.body)).encode())],
        }
    )
    await send(
        {"type": "http.response.body", "body": answer.body[: len(answer.body) // 2], "more_body": True}
    )
    raise SimulatedDrop("simulated connection drop")


async def wait_for_disconnect(receive: Receive, timeout_s: float) -> None:
    """Return when the client goes away (or after ``timeout_s``); the body is already read."""

    async def disconnected() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass

    try:
        await asyncio.wait_for(disconnected(), timeout_s)
    except TimeoutError:
        pass
