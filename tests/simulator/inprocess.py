"""Calling the simulator's ASGI app in-process, without a server, for plumbing tests."""

from __future__ import annotations

from dataclasses import dataclass, field

import orjson

from bytespike.simulator.asgi import Message


@dataclass
class AsgiResult:
    status: int = 0
    headers: dict[bytes, bytes] = field(default_factory=dict)
    bodies: list[bytes] = field(default_factory=list)
    """Each ``http.response.body`` send separately (one per SSE frame when streaming)."""
    completed: bool = False

    @property
    def body(self) -> bytes:
        return b"".join(self.bodies)

    def json(self) -> object:
        return orjson.loads(self.body)


async def call_app(
    app,
    method: str,
    path: str,
    body: object = None,
    headers: dict[str, str] | None = None,
    query: bytes = b"",
) -> AsgiResult:
    """Run one HTTP request through ``app``; ``body`` is JSON-encoded unless already bytes."""
    data = b"" if body is None else body if isinstance(body, bytes) else orjson.dumps(body)
    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "query_string": query,
        "headers": [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()],
    }
    sent_request = False
    result = AsgiResult()

    async def receive() -> Message:
        nonlocal sent_request
        if not sent_request:
            sent_request = True
            return {"type": "http.request", "body": data, "more_body": False}
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            result.status = message["status"]
            result.headers = dict(message["headers"])
        else:
            if message.get("body"):
                result.bodies.append(message["body"])
            result.completed = not message.get("more_body", False)

    await app(scope, receive, send)
    return result
