"""The official ``anthropic`` SDK as a strict oracle (protocols.md §8.3), with HTTP faked at the
edge: a mock transport answers the SDK's request with the bytes under test."""

from __future__ import annotations

from typing import Any

import anthropic
import httpx2
import orjson
from anthropic.types import Message


def _client(status: int, content: bytes, content_type: str) -> anthropic.Anthropic:
    def answer(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(status, headers={"content-type": content_type}, content=content)

    return anthropic.Anthropic(
        api_key="k",
        base_url="http://gateway.test",
        max_retries=0,
        http_client=httpx2.Client(transport=httpx2.MockTransport(answer)),
        _strict_response_validation=True,
    )


def sdk_message(body: dict[str, Any]) -> Message:
    """A non-streamed answer as the SDK validates it (strict: wrong types raise)."""
    client = _client(200, orjson.dumps(body), "application/json")
    return client.messages.create(model="m", max_tokens=1, messages=[{"role": "user", "content": "hi"}])


def sdk_stream_message(sse: bytes) -> Message:
    """A streamed answer folded by the SDK's own `MessageStream` accumulator."""
    client = _client(200, sse, "text/event-stream")
    with client.messages.stream(
        model="m", max_tokens=1, messages=[{"role": "user", "content": "hi"}]
    ) as stream:
        for _ in stream:
            pass
        return stream.get_final_message()
