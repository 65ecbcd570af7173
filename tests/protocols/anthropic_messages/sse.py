"""Reading and checking Anthropic SSE in tests: render fixture events, split frames, and
assert the stream rules the official SDK relies on (protocols.md §1.7, §8.3)."""

from __future__ import annotations

from typing import Any

import orjson

from bytespike.canonical.events import StreamEvent
from bytespike.protocols.anthropic_messages.streaming import StreamDecoder, StreamEncoder
from bytespike.protocols.sse import SSESplitter, frame_fields


def render(events: list[list[Any]]) -> bytes:
    return b"".join(b"event: %s\ndata: %s\n\n" % (name.encode(), orjson.dumps(data)) for name, data in events)


def frames(sse: bytes) -> list[tuple[str | None, dict[str, Any]]]:
    out = []
    for frame in SSESplitter().feed(sse):
        event, data = frame_fields(frame)
        out.append((event.decode() if event else None, orjson.loads(data)))
    return out


def decode_sse(sse: bytes, chunk: int = 0) -> list[StreamEvent]:
    """Events of an upstream stream fed in ``chunk``-byte pieces (0: all at once)."""
    splitter, decoder = SSESplitter(), StreamDecoder()
    events: list[StreamEvent] = []
    pieces = [sse[i : i + chunk] for i in range(0, len(sse), chunk)] if chunk else [sse]
    for piece in pieces:
        for frame in splitter.feed(piece):
            events += decoder.feed(frame)
    return events + decoder.finish()


def encode_events(events: list[StreamEvent], model: str = "m", request_id: str = "req_1") -> bytes:
    encoder = StreamEncoder(model=model, request_id=request_id)
    return b"".join(encoder.encode(e) for e in events) + encoder.finish()


def check_stream(sse: bytes) -> list[tuple[str | None, dict[str, Any]]]:
    """Assert the structural rules; returns the frames."""
    fs = frames(sse)
    assert fs, "empty stream"
    names = [name for name, _ in fs]
    assert all(name is not None for name in names), "every Anthropic event must be named"
    for name, data in fs:
        assert data["type"] == name
    if names[-1] == "error":
        body = fs[-1][1]
        assert set(body) == {"type", "error"} and {"type", "message"} <= set(body["error"])
        fs_ok = fs[:-1]
    else:
        assert names[0] == "message_start", names
        assert names[-2:] == ["message_delta", "message_stop"], names
        fs_ok = fs
    open_index: int | None = None
    next_index = 0
    open_type = None
    signed = False
    for k, (name, data) in enumerate(fs_ok):
        if name == "message_start":
            assert k == 0
            usage = data["message"]["usage"]
            assert isinstance(usage["input_tokens"], int) and isinstance(usage["output_tokens"], int)
        elif name == "content_block_start":
            assert open_index is None, "one open block at a time"
            assert data["index"] == next_index, "indices contiguous from 0"
            open_index, next_index = data["index"], next_index + 1
            open_type = data["content_block"]["type"]
            signed = False
            if open_type == "text":
                assert data["content_block"]["text"] == ""
            if open_type == "tool_use":
                assert data["content_block"]["input"] == {}
        elif name == "content_block_delta":
            assert data["index"] == open_index, "delta for the open block only"
            delta = data["delta"]
            assert not signed, "signature_delta comes right before the stop"
            if delta["type"] == "text_delta":
                assert open_type == "text" and delta["text"]
            elif delta["type"] == "thinking_delta":
                assert open_type == "thinking"
            elif delta["type"] == "signature_delta":
                assert open_type == "thinking" and delta["signature"]
                signed = True
            else:
                assert delta["type"] == "input_json_delta" and open_type in ("tool_use", "server_tool_use")
        elif name == "content_block_stop":
            assert data["index"] == open_index
            open_index = None
        elif name == "message_delta":
            assert open_index is None, "all blocks stopped before message_delta"
            assert data["delta"]["stop_reason"] in {
                "end_turn",
                "max_tokens",
                "stop_sequence",
                "tool_use",
                "pause_turn",
                "refusal",
                "model_context_window_exceeded",
            }
            assert isinstance(data["usage"]["output_tokens"], int)
    return fs
