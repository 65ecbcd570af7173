"""The official openai SDK as the judge of what the encoders emit (protocols.md §8.3).

Bytes are served to a real `openai.OpenAI` client through an in-memory transport, with strict
response validation; streams go through the SDK's own `Stream` parser (which raises `APIError`
on an error frame and stops at ``[DONE]``) and `ChatCompletionStreamState` accumulator.
"""

from __future__ import annotations

from typing import Any

import httpx2
import openai
import orjson
from openai.lib.streaming.chat import ChatCompletionStreamState
from openai.types.chat import ChatCompletion, ChatCompletionChunk, ParsedChatCompletion


def _client(status: int, content: bytes, content_type: str) -> openai.OpenAI:
    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(status, headers={"content-type": content_type}, content=content)

    return openai.OpenAI(
        api_key="k",
        base_url="http://upstream.test/v1",
        max_retries=0,
        http_client=httpx2.Client(transport=httpx2.MockTransport(handler)),
        _strict_response_validation=True,
    )


def completion(body: dict[str, Any]) -> ChatCompletion:
    """``body`` as the SDK's `ChatCompletion`, validated strictly."""
    client = _client(200, orjson.dumps(body), "application/json")
    return client.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}])


def stream(sse: bytes, **params: Any) -> tuple[list[ChatCompletionChunk], ParsedChatCompletion[None]]:
    """(chunks as the SDK parsed them, the completion its accumulator built from them).

    ``get_final_completion`` raises on ``length``/``content_filter`` by design (the SDK's parse
    helpers refuse truncated or filtered content), so those are read from the snapshot.
    """
    client = _client(200, sse, "text/event-stream")
    chunks = list(
        client.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}], stream=True)
    )
    state: ChatCompletionStreamState[None] = ChatCompletionStreamState(**params)
    for chunk in chunks:
        state.handle_chunk(chunk)
    snapshot = state.current_completion_snapshot
    if any(c.finish_reason in ("length", "content_filter") for c in snapshot.choices):
        return chunks, snapshot  # type: ignore[return-value]
    return chunks, state.get_final_completion()
