"""Canonical stream events → the Responses SSE lifecycle (protocols.md §3.3, §5.13 "C ↔ R").

The OpenAI SDK's accumulator (``ResponseStreamState``, §8.3) wants ``response.created`` first, an
``output_item.added`` before any delta of that ``output_index``, ``.done`` events and an
``output_item.done`` for every item, one response id throughout, and a terminal event whose
``response.output`` lists every item. Each canonical part becomes its own output item with its
own ``output_index`` (kitty-bridge KBR-240 gave a text item and a call the same index). Items are
emitted one at a time in the order their parts started: a part that starts while another is
open is buffered until the open one ends (interleaved parallel tool calls from Chat upstreams).
Thinking is rendered as a reasoning *summary* (``reasoning_summary_text.delta``), the form
OpenAI's own models stream and clients such as Codex display; ``reasoning_text`` is raw chain of
thought that OpenAI never sends.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, assert_never

import orjson

from bytespike.canonical.events import (
    Delta,
    PartDelta,
    PartEnd,
    PartStart,
    ResponseEnd,
    ResponseStart,
    SignatureDelta,
    StreamError,
    StreamEvent,
    TextDelta,
    ThinkingDelta,
    ToolArgumentsDelta,
)
from bytespike.canonical.parts import (
    MediaPart,
    OpaquePart,
    Part,
    TextPart,
    ThinkingPart,
    ToolCallPart,
    ToolResultPart,
)
from bytespike.errors import GatewayError
from bytespike.protocols.openai_responses import NAME
from bytespike.protocols.openai_responses.errors import encode_stream_error
from bytespike.protocols.openai_responses.frames import event_frame
from bytespike.protocols.openai_responses.items import summary_of
from bytespike.protocols.openai_responses.provider_data import own
from bytespike.protocols.openai_responses.responses import (
    encode_finish,
    id_base,
    response_id_for,
    response_object,
)
from bytespike.protocols.openai_responses.tools import wire_call_id, wire_tool_name
from bytespike.protocols.openai_responses.usage import encode_usage

ITEM_ID_PREFIX = {"message": "msg", "reasoning": "rs", "function_call": "fc", "image": "ig"}
TERMINAL_EVENT = {
    "completed": "response.completed",
    "incomplete": "response.incomplete",
    "failed": "response.failed",
}


@dataclass(slots=True)
class _Item:
    """One canonical part on its way to becoming an output item."""

    part: Part
    kind: str
    pending: list[Delta] = field(default_factory=list)
    """Deltas that arrived while another item was open."""
    end_seen: bool = False
    output_index: int = -1
    item_id: str = ""
    chunks: list[str] = field(default_factory=list)
    """Text, reasoning text or argument fragments sent so far."""
    late_arguments: list[str] = field(default_factory=list)
    """Argument fragments after a PartStart that already held complete arguments."""
    call_id: str = ""
    whole_arguments: bool = False
    """The call's PartStart carried complete arguments (already sent as one delta)."""
    summary_open: bool = False
    signature: str | None = None
    signature_protocol: str | None = None


def _kind(part: Part) -> str | None:
    match part:
        case TextPart():
            return "message"
        case ThinkingPart():
            return "reasoning"
        case ToolCallPart():
            return "function_call"
        case MediaPart():
            return "image" if part.kind == "image" and part.data is not None else None
        case OpaquePart():
            return "opaque" if part.protocol == NAME and "item" in part.data else None
        case ToolResultPart():  # the caller's side of a turn: never part of an answer
            return None
        case _:
            assert_never(part)


class StreamEncoder:
    """``encode(event)`` returns the SSE frames for one canonical event; ``finish()`` at EOF.

    ``request`` (a protocol option) is the caller's Responses body, echoed in the response
    objects the way the API does."""

    def __init__(self, *, model: str, request_id: str, **protocol_options: Any) -> None:
        self._model = model
        self._request_id = request_id
        self._request: Mapping[str, Any] | None = protocol_options.get("request")
        self._base = id_base(request_id)
        self._created_at = int(protocol_options.get("created_at") or time.time())
        self._seq = 0
        self._response_id = ""
        self._closed = False
        self._items: dict[int, _Item] = {}
        self._queue: deque[int] = deque()
        self._active: int | None = None
        self._done: dict[int, dict[str, Any]] = {}
        self._next_output_index = 0
        self._call_ids: set[str] = set()

    def encode(self, event: StreamEvent) -> bytes:
        if self._closed:
            return b""
        out: list[bytes] = []
        match event:
            case ResponseStart():
                self._start(out, event.id)
            case PartStart():
                self._start(out, "")
                self._part_start(out, event.index, event.part)
            case PartDelta():
                self._delta(out, event.index, event.delta)
            case PartEnd():
                self._part_end(out, event.index)
            case ResponseEnd():
                self._start(out, "")
                self._end(out, event)
            case StreamError():
                self._start(out, "")
                self._fail(out, event)
            case _:
                assert_never(event)
        return b"".join(out)

    def finish(self) -> bytes:
        """Nothing after a terminal event; otherwise the stream was cut: fail it in-band so the
        client is not left waiting for ``response.completed``."""
        if self._closed:
            return b""
        return self.encode(StreamError(502, "upstream_error", "the upstream stream ended early"))

    # lifecycle

    def _emit(self, out: list[bytes], payload: dict[str, Any]) -> None:
        payload["sequence_number"] = self._seq
        self._seq += 1
        out.append(event_frame(payload))

    def _snapshot(self, status: str, **fields: Any) -> dict[str, Any]:
        return response_object(
            response_id=self._response_id,
            model=self._model,
            created_at=self._created_at,
            status=status,
            output=[self._done[i] for i in sorted(self._done)],
            usage=fields.get("usage"),
            incomplete_details=fields.get("incomplete_details"),
            request=self._request,
        )

    def _start(self, out: list[bytes], upstream_id: str) -> None:
        if self._response_id:
            return
        self._response_id = response_id_for(upstream_id, self._request_id)
        snapshot = self._snapshot("in_progress")
        self._emit(out, {"type": "response.created", "response": snapshot})
        self._emit(out, {"type": "response.in_progress", "response": snapshot})

    def _end(self, out: list[bytes], event: ResponseEnd) -> None:
        self._drain(out)
        status, details = encode_finish(event.finish_reason)
        snapshot = self._snapshot(status, usage=encode_usage(event.usage), incomplete_details=details)
        if status == "failed":
            snapshot["error"] = {"code": "server_error", "message": "the upstream model failed the turn"}
        self._emit(out, {"type": TERMINAL_EVENT[status], "response": snapshot})
        self._closed = True

    def _fail(self, out: list[bytes], event: StreamError) -> None:
        err = GatewayError(event.status, event.code, event.message)
        out.append(encode_stream_error(err, sequence_number=self._seq, response=self._snapshot("failed")))
        self._seq += 2
        self._closed = True

    def _drain(self, out: list[bytes]) -> None:
        """Close the open item and every buffered one, in order."""
        if self._active is not None:
            self._close(out, self._active)
        while self._queue:
            index = self._queue.popleft()
            self._activate(out, index)
            self._close(out, index)

    # items

    def _part_start(self, out: list[bytes], index: int, part: Part) -> None:
        kind = _kind(part)
        if index in self._items or kind is None:
            return
        self._items[index] = _Item(part, kind)
        if self._active is None:
            self._activate(out, index)
        else:
            self._queue.append(index)

    def _delta(self, out: list[bytes], index: int, delta: Delta) -> None:
        item = self._items.get(index)
        if item is None or item.end_seen:
            return
        if self._active == index:
            self._render(out, item, delta)
        else:
            item.pending.append(delta)

    def _part_end(self, out: list[bytes], index: int) -> None:
        item = self._items.get(index)
        if item is None or item.end_seen:
            return
        item.end_seen = True
        if self._active != index:
            return
        self._close(out, index)
        while self._active is None and self._queue:
            nxt = self._queue.popleft()
            self._activate(out, nxt)
            if self._items[nxt].end_seen:
                self._close(out, nxt)

    def _activate(self, out: list[bytes], index: int) -> None:
        item = self._items[index]
        self._active = index
        item.output_index = self._next_output_index
        self._next_output_index += 1
        prefix = ITEM_ID_PREFIX.get(item.kind)
        item.item_id = f"{prefix}_{self._base}_{item.output_index}" if prefix else ""
        self._emit(
            out,
            {
                "type": "response.output_item.added",
                "output_index": item.output_index,
                "item": self._opening(item),
            },
        )
        part = item.part
        if isinstance(part, TextPart):
            self._emit(
                out,
                {
                    **self._where(item),
                    "type": "response.content_part.added",
                    "part": self._text_part(item, ""),
                },
            )
            if part.text:
                self._render(out, item, TextDelta(part.text))
        elif isinstance(part, ThinkingPart):
            item.signature, item.signature_protocol = part.signature, part.signature_protocol
            if part.text:
                self._render(out, item, ThinkingDelta(part.text))
        elif isinstance(part, ToolCallPart) and part.arguments:
            # A whole call (Gemini): one delta with the complete JSON, then any late fragments
            # are merged into it at the end instead of being appended to valid JSON.
            self._render(out, item, ToolArgumentsDelta(orjson.dumps(part.arguments).decode()))
            item.whole_arguments = True
        for delta in item.pending:
            self._render(out, item, delta)
        item.pending.clear()

    def _render(self, out: list[bytes], item: _Item, delta: Delta) -> None:
        where = {"item_id": item.item_id, "output_index": item.output_index}
        match delta:
            case TextDelta():
                if item.kind != "message" or not delta.text:
                    return
                item.chunks.append(delta.text)
                if self._is_refusal(item):
                    self._emit(
                        out,
                        {"type": "response.refusal.delta", **where, "content_index": 0, "delta": delta.text},
                    )
                else:
                    self._emit(
                        out,
                        {
                            "type": "response.output_text.delta",
                            **where,
                            "content_index": 0,
                            "delta": delta.text,
                            "logprobs": [],
                        },
                    )
            case ThinkingDelta():
                if item.kind != "reasoning" or not delta.text:
                    return
                if not item.summary_open:
                    item.summary_open = True
                    self._emit(
                        out,
                        {
                            "type": "response.reasoning_summary_part.added",
                            **where,
                            "summary_index": 0,
                            "part": {"type": "summary_text", "text": ""},
                        },
                    )
                item.chunks.append(delta.text)
                self._emit(
                    out,
                    {
                        "type": "response.reasoning_summary_text.delta",
                        **where,
                        "summary_index": 0,
                        "delta": delta.text,
                    },
                )
            case SignatureDelta():
                if item.kind == "reasoning":
                    item.signature, item.signature_protocol = delta.signature, delta.protocol
            case ToolArgumentsDelta():
                if item.kind != "function_call" or not delta.json_fragment:
                    return
                if item.whole_arguments:
                    item.late_arguments.append(delta.json_fragment)
                    return
                item.chunks.append(delta.json_fragment)
                self._emit(
                    out,
                    {"type": "response.function_call_arguments.delta", **where, "delta": delta.json_fragment},
                )
            case _:
                assert_never(delta)

    def _close(self, out: list[bytes], index: int) -> None:
        item = self._items[index]
        where = {"item_id": item.item_id, "output_index": item.output_index}
        text = "".join(item.chunks)
        if item.kind == "message":
            if self._is_refusal(item):
                self._emit(
                    out, {"type": "response.refusal.done", **where, "content_index": 0, "refusal": text}
                )
            else:
                self._emit(
                    out,
                    {
                        "type": "response.output_text.done",
                        **where,
                        "content_index": 0,
                        "text": text,
                        "logprobs": [],
                    },
                )
            self._emit(
                out,
                {
                    "type": "response.content_part.done",
                    **where,
                    "content_index": 0,
                    "part": self._text_part(item, text),
                },
            )
        elif item.kind == "reasoning" and item.summary_open:
            self._emit(
                out,
                {"type": "response.reasoning_summary_text.done", **where, "summary_index": 0, "text": text},
            )
            self._emit(
                out,
                {
                    "type": "response.reasoning_summary_part.done",
                    **where,
                    "summary_index": 0,
                    "part": {"type": "summary_text", "text": text},
                },
            )
        elif item.kind == "function_call":
            text = self._final_arguments(item, text)
            self._emit(out, {"type": "response.function_call_arguments.done", **where, "arguments": text})
        final = self._final(item, text)
        self._done[item.output_index] = final
        self._emit(
            out, {"type": "response.output_item.done", "output_index": item.output_index, "item": final}
        )
        self._active = None

    @staticmethod
    def _final_arguments(item: _Item, text: str) -> str:
        if not item.late_arguments or not isinstance(item.part, ToolCallPart):
            return text
        try:
            late = orjson.loads("".join(item.late_arguments))
        except orjson.JSONDecodeError:
            return text
        merged = {**item.part.arguments, **late} if isinstance(late, dict) else item.part.arguments
        return orjson.dumps(merged).decode()

    # item shapes

    @staticmethod
    def _is_refusal(item: _Item) -> bool:
        return bool(own(getattr(item.part, "provider_data", None)).get("refusal"))

    def _text_part(self, item: _Item, text: str) -> dict[str, Any]:
        if self._is_refusal(item):
            return {"type": "refusal", "refusal": text}
        return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}

    @staticmethod
    def _where(item: _Item) -> dict[str, Any]:
        return {"item_id": item.item_id, "output_index": item.output_index, "content_index": 0}

    def _call_id(self, item: _Item) -> str:
        """The part's id; a missing or repeated one is made unique (the SDK identifies function
        calls by call_id and rejects two items with one identity)."""
        if not item.call_id:
            part = item.part
            assert isinstance(part, ToolCallPart)
            call_id = wire_call_id(part.id) if part.id else ""
            if not call_id or call_id in self._call_ids:
                call_id = f"call_{self._base}_{item.output_index}"
            self._call_ids.add(call_id)
            item.call_id = call_id
        return item.call_id

    def _opening(self, item: _Item) -> dict[str, Any]:
        part = item.part
        match item.kind:
            case "message":
                return {
                    "id": item.item_id,
                    "type": "message",
                    "status": "in_progress",
                    "role": "assistant",
                    "content": [],
                }
            case "reasoning":
                return {"id": item.item_id, "type": "reasoning", "summary": []}
            case "function_call":
                assert isinstance(part, ToolCallPart)
                return {
                    "id": item.item_id,
                    "type": "function_call",
                    "status": "in_progress",
                    "arguments": "",
                    "call_id": self._call_id(item),
                    "name": wire_tool_name(part.name),
                }
            case "image":
                return {
                    "id": item.item_id,
                    "type": "image_generation_call",
                    "status": "in_progress",
                    "result": None,
                }
            case _:
                assert isinstance(part, OpaquePart)
                return part.data["item"]

    def _final(self, item: _Item, text: str) -> dict[str, Any]:
        final = self._opening(item)
        match item.kind:
            case "message":
                final.update(status="completed", content=[self._text_part(item, text)])
            case "reasoning":
                final["summary"] = summary_of(text)
                if item.signature is not None and item.signature_protocol == NAME:
                    final["encrypted_content"] = item.signature
            case "function_call":
                final.update(status="completed", arguments=text)
            case "image":
                assert isinstance(item.part, MediaPart)
                final.update(status="completed", result=item.part.data)
        return final
