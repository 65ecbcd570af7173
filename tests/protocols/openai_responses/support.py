"""Fixture loading and the official OpenAI SDK as the oracle for what this codec emits (§8.3)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx2
import openai
import orjson
from openai._models import validate_type
from openai.types.responses import Response as SDKResponse
from openai.types.responses import ResponseStreamEvent

from bytespike.protocols.sse import SSESplitter, frame_fields

FIXTURES = Path(__file__).parent / "fixtures"


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def fixtures(prefix: str) -> list[str]:
    return sorted(p.name for p in FIXTURES.glob(f"{prefix}*.json"))


def sse(events: list[dict[str, Any]], *, named: bool = True) -> bytes:
    """Frames as the API sends them; ``named=False`` drops the ``event:`` lines (some servers)."""
    return b"".join(
        (b"event: " + e["type"].encode() + b"\n" if named else b"") + b"data: " + orjson.dumps(e) + b"\n\n"
        for e in events
    )


def frames(body: bytes) -> list[bytes]:
    return SSESplitter().feed(body)


def payloads(body: bytes) -> list[dict[str, Any]]:
    """The JSON of every frame, checking each frame is named after its ``type``."""
    out = []
    for frame in frames(body):
        event, data = frame_fields(frame)
        payload = orjson.loads(data)
        assert event is not None and event.decode() == payload["type"]
        out.append(payload)
    return out


def client_for(body: bytes, *, status: int = 200, content_type: str = "text/event-stream") -> openai.OpenAI:
    """An SDK client whose every request is answered with ``body``."""

    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(status, headers={"content-type": content_type}, content=body)

    return openai.OpenAI(
        base_url="http://gateway.test/v1",
        api_key="k",
        max_retries=0,
        http_client=httpx2.Client(transport=httpx2.MockTransport(handler)),
    )


def sdk_final_response(body: bytes, **create: Any) -> Any:
    """Feed ``body`` to ``client.responses.stream`` and return ``get_final_response()``; every
    event is also validated against the SDK's event union."""
    for payload in payloads(body):
        validate_type(type_=ResponseStreamEvent, value=payload)  # type: ignore[arg-type]
    with client_for(body).responses.stream(model="m", input="hi", **create) as stream:
        for _ in stream:
            pass
        return stream.get_final_response()


def sdk_events(body: bytes) -> list[Any]:
    """The raw events ``client.responses.create(stream=True)`` yields (no accumulation)."""
    return list(client_for(body).responses.create(model="m", input="hi", stream=True))


def validate_response(body: dict[str, Any]) -> SDKResponse:
    return SDKResponse.model_validate(body)


def validate_request(body: dict[str, Any]) -> None:
    """Check ``body`` against the SDK's ``ResponseCreateParams`` TypedDicts (pydantic validates
    required keys, literals and the item/content unions)."""
    from openai.types.responses.response_create_params import (
        ResponseCreateParamsNonStreaming,
        ResponseCreateParamsStreaming,
    )

    from tests.protocols.sdk_types import adapter, validate

    kind = ResponseCreateParamsStreaming if body.get("stream") else ResponseCreateParamsNonStreaming
    # FunctionToolParam marks `strict` Required, but the API takes a tool without it (it then
    # normalizes the schema to strict mode: OpenAI function-calling guide), and callers do omit it.
    tools = [
        {**t, "strict": True} if isinstance(t, dict) and t.get("type") == "function" and "strict" not in t else t
        for t in body.get("tools") or ()
    ]
    validate(adapter(kind), {**body, "tools": tools} if "tools" in body else body, "ResponseCreateParams")
