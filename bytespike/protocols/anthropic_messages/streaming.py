"""Anthropic SSE streams (protocols.md §1.7): the fast-path tap, and the codec both ways.

`AnthropicStreamTap` reads what billing needs from a relayed stream. `StreamDecoder` turns an
upstream's frames into canonical events; `StreamEncoder` writes canonical events from any
upstream as a stream the official SDK accepts. ``message_start`` carries input usage;
``message_delta`` carries cumulative totals that overwrite it when present — the same rule the
official SDK applies.
"""

from __future__ import annotations

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
from bytespike.canonical.usage import Usage
from bytespike.errors import GatewayError
from bytespike.protocols.anthropic_messages import NAME
from bytespike.protocols.anthropic_messages.blocks import decode_block, with_provider_fields
from bytespike.protocols.anthropic_messages.errors import encode_stream_error, status_and_code
from bytespike.protocols.anthropic_messages.responses import finish_reason_from, message_id, stop_reason_for
from bytespike.protocols.anthropic_messages.usage import decode_usage, encode_usage
from bytespike.protocols.sse import frame_fields
from bytespike.protocols.tap import StreamFacts


class AnthropicStreamTap:
    __slots__ = ("_raw_usage", "facts")

    def __init__(self) -> None:
        self.facts = StreamFacts()
        self._raw_usage: dict = {}

    def feed(self, frame: bytes) -> bool:
        """Record what ``frame`` says; returns True when it is the terminal frame (``message_stop``)."""
        event, data = frame_fields(frame)
        if event == b"content_block_delta" or event == b"content_block_start":
            if not self.facts.content_started and event == b"content_block_delta":
                self.facts.content_started = True
            return False
        if event == b"message_start":
            msg = orjson.loads(data).get("message") or {}
            self._raw_usage = dict(msg.get("usage") or {})
            self.facts.usage = decode_usage(self._raw_usage)
        elif event == b"message_delta":
            u = orjson.loads(data).get("usage") or {}
            self._raw_usage.update({k: v for k, v in u.items() if v is not None})
            self.facts.usage = decode_usage(self._raw_usage)
            self.facts.has_usage = True
        elif event == b"message_stop":
            self.facts.finished = True
            return True
        elif event == b"error":
            try:
                err = orjson.loads(data).get("error") or {}
            except orjson.JSONDecodeError:
                err = {}
            self.facts.error = GatewayError(
                502,
                "upstream_error",
                str(err.get("message") or "upstream error"),
                upstream_type=err.get("type"),
            )
        return False


class StreamDecoder:
    """Anthropic named-event SSE → canonical stream events, one complete frame at a time.

    Block indices are kept (they are contiguous from 0). ``ping`` and unknown events are ignored;
    ``message_delta`` usage overwrites ``message_start`` usage key by key (cumulative totals,
    as the SDK does); ``ResponseEnd`` is emitted at ``message_stop``. Server-tool and unknown
    blocks are buffered to their stop and emitted whole as `OpaquePart`s. ``citations_delta``
    has no canonical delta and is not carried."""

    __slots__ = ("_done", "_opaque", "_raw_usage", "_stop_reason", "_stop_sequence")

    def __init__(self) -> None:
        self._done = False
        self._raw_usage: dict[str, Any] = {}
        self._stop_reason: Any = None
        self._stop_sequence: Any = None
        self._opaque: dict[int, tuple[dict[str, Any], list[str]]] = {}

    def feed(self, frame: bytes) -> list[StreamEvent]:
        if self._done:
            return []
        event, data = frame_fields(frame)
        if not data.strip():
            return []  # comments and keep-alives
        try:
            payload = orjson.loads(data)
        except orjson.JSONDecodeError:
            return self._fail("upstream: the stream sent a frame that is not JSON")
        if not isinstance(payload, dict):
            return []
        name = event.decode() if event else payload.get("type")
        try:
            return self._dispatch(name, payload)
        except (GatewayError, AttributeError, KeyError, TypeError, ValueError) as exc:
            return self._fail(f"upstream: malformed {name} event ({exc})")

    def finish(self) -> list[StreamEvent]:
        if self._done:
            return []
        return self._fail("upstream: the stream ended before message_stop")

    def _fail(self, message: str) -> list[StreamEvent]:
        self._done = True
        return [StreamError(502, "upstream_error", message)]

    def _dispatch(self, name: Any, p: dict[str, Any]) -> list[StreamEvent]:
        match name:
            case "message_start":
                message = p["message"]
                self._raw_usage = dict(message.get("usage") or {})
                usage = decode_usage(self._raw_usage)
                return [ResponseStart(str(message.get("id") or ""), str(message.get("model") or ""), usage)]
            case "content_block_start":
                index = int(p["index"])
                part, _ = decode_block(p["content_block"], f"content[{index}]")
                if isinstance(part, OpaquePart):
                    self._opaque[index] = (dict(part.data), [])
                    return []
                return [PartStart(index, part)]
            case "content_block_delta":
                return self._delta(int(p["index"]), p["delta"])
            case "content_block_stop":
                index = int(p["index"])
                if index in self._opaque:
                    block, fragments = self._opaque.pop(index)
                    if fragments:
                        block["input"] = orjson.loads("".join(fragments))
                    return [PartStart(index, OpaquePart(NAME, block)), PartEnd(index)]
                return [PartEnd(index)]
            case "message_delta":
                delta = p.get("delta") or {}
                self._stop_reason = delta.get("stop_reason")
                self._stop_sequence = delta.get("stop_sequence")
                usage = p.get("usage") or {}
                self._raw_usage.update({k: v for k, v in usage.items() if v is not None})
                return []
            case "message_stop":
                self._done = True
                stop_sequence = self._stop_sequence if isinstance(self._stop_sequence, str) else None
                return [
                    ResponseEnd(
                        finish_reason_from(self._stop_reason), decode_usage(self._raw_usage), stop_sequence
                    )
                ]
            case "error":
                error = p.get("error") or {}
                status, code = status_and_code(error.get("type"))
                self._done = True
                return [StreamError(status, code, str(error.get("message") or "upstream error"))]
            case _:
                return []  # ping and future event types (protocols.md §1.7)

    def _delta(self, index: int, delta: dict[str, Any]) -> list[StreamEvent]:
        kind = delta.get("type")
        if index in self._opaque:
            if kind == "input_json_delta":
                self._opaque[index][1].append(delta["partial_json"])
            return []
        match kind:
            case "text_delta":
                return [PartDelta(index, TextDelta(delta["text"]))]
            case "thinking_delta":
                return [PartDelta(index, ThinkingDelta(delta["thinking"]))]
            case "signature_delta":
                return [PartDelta(index, SignatureDelta(delta["signature"], NAME))]
            case "input_json_delta":
                fragment = delta["partial_json"]
                return [PartDelta(index, ToolArgumentsDelta(fragment))] if fragment else []
            case _:
                return []  # citations_delta and future delta types


@dataclass(slots=True)
class _PartState:
    """One canonical part on its way to Anthropic blocks."""

    kind: str
    """``text``, ``thinking``, ``tool``, ``block`` (sent whole in its start) or ``skip``."""
    start: dict[str, Any]
    """The ``content_block`` of ``content_block_start``."""
    pending: list[str] = field(default_factory=list)
    """Text or JSON fragments not yet on the wire."""
    ended: bool = False
    signature: str | None = None
    """An Anthropic signature to send with ``signature_delta`` before the block stops."""
    initial_arguments: dict[str, Any] | None = None
    """Arguments that came complete in the `PartStart` (Gemini): sent as ONE input_json_delta."""


SPLITTABLE = frozenset({"text", "thinking"})
"""Kinds whose content may be spread over several blocks (a tool input may not)."""


class StreamEncoder:
    """Canonical stream events → Anthropic named-event SSE that the official SDK accumulates.

    Anthropic clients need block indices from 0, contiguous, with one block open at a time
    (protocols.md §8.3), while canonical parts may interleave (parallel OpenAI tool calls) or
    arrive complete (Gemini). The encoder keeps the parts waiting in start order: a text or
    thinking block is closed as soon as another part has something to send (continued later in
    a new block if more text comes), a tool call holds the block until it ends and the others
    are buffered meanwhile (praxis-proxy/ai #266, kitty-bridge PR #116). Empty text never becomes
    a block, thinking signed by another vendor gets no ``signature_delta`` (ENTERPILOT/GoModel PR
    #964), and ``message_delta`` carries cumulative usage in Anthropic's semantics."""

    def __init__(self, *, model: str, request_id: str, **protocol_options: Any) -> None:
        self.model = model
        self.request_id = request_id
        self._out: list[bytes] = []
        self._started = False
        self._finished = False
        self._next_index = 0
        self._open: int | None = None
        self._states: dict[int, _PartState] = {}
        self._order: list[int] = []
        self._has_tool_calls = False

    def encode(self, event: StreamEvent) -> bytes:
        if self._finished:
            return b""
        match event:
            case ResponseStart():
                self._message_start(event.id, event.usage)
            case PartStart():
                self._part_start(event.index, event.part)
            case PartDelta():
                self._part_delta(event.index, event.delta)
            case PartEnd():
                if (st := self._states.get(event.index)) is not None:
                    st.ended = True
                    self._pump()
            case ResponseEnd():
                self._response_end(event)
            case StreamError():
                self._error(GatewayError(event.status, event.code, event.message))
            case _:
                assert_never(event)
        out, self._out = b"".join(self._out), []
        return out

    def finish(self) -> bytes:
        """Nothing after ``message_stop``; an ``event: error`` if the stream never ended, so an
        Anthropic client does not take a cut stream for a whole one (protocols.md §5.13)."""
        if self._finished:
            return b""
        self._error(GatewayError(502, "upstream_error", "upstream: the stream ended before it was complete"))
        out, self._out = b"".join(self._out), []
        return out

    # -- events -------------------------------------------------------------------------------

    def _send(self, name: str, payload: dict[str, Any]) -> None:
        self._out.append(b"event: " + name.encode() + b"\ndata: " + orjson.dumps(payload) + b"\n\n")

    def _message_start(self, upstream_id: str, usage: Usage | None) -> None:
        if self._started:
            return
        self._started = True
        message = {
            "id": message_id(upstream_id, self.request_id),
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": encode_usage(usage or Usage()),
        }
        self._send("message_start", {"type": "message_start", "message": message})

    def _part_start(self, index: int, part: Part) -> None:
        if index in self._states:
            return
        st = self._state_of(part, index)
        self._states[index] = st
        if st.kind != "skip":
            self._order.append(index)
            self._pump()

    def _state_of(self, part: Part, index: int) -> _PartState:
        match part:
            case TextPart():
                st = _PartState(
                    "text", with_provider_fields({"type": "text", "text": ""}, part.provider_data)
                )
                st.pending.append(part.text)
                return st
            case ThinkingPart():
                own = part.signature_protocol == NAME and part.signature
                if part.redacted:
                    block = {"type": "redacted_thinking", "data": part.signature}
                    return _PartState("block", block) if own else _PartState("skip", {})
                start = {"type": "thinking", "thinking": "", "signature": ""}
                st = _PartState("thinking", with_provider_fields(start, part.provider_data))
                st.pending.append(part.text)
                st.signature = part.signature if own else None
                return st
            case ToolCallPart():
                self._has_tool_calls = True
                tool_id = part.id or f"toolu_{message_id('', self.request_id)[4:]}_{index}"
                start = {"type": "tool_use", "id": tool_id, "name": part.name, "input": {}}
                st = _PartState("tool", with_provider_fields(start, part.provider_data))
                st.initial_arguments = part.arguments or None
                return st
            case OpaquePart():
                return _PartState("block", part.data) if part.protocol == NAME else _PartState("skip", {})
            case MediaPart() | ToolResultPart():
                return _PartState("skip", {})  # no such block in an Anthropic answer
            case _:
                assert_never(part)

    def _part_delta(self, index: int, delta: Delta) -> None:
        st = self._states.get(index)
        if st is None or st.ended:
            return  # a delta for an unknown or finished part breaks the contract: ignored
        match delta:
            case TextDelta():
                if st.kind == "text":
                    st.pending.append(delta.text)
            case ThinkingDelta():
                if st.kind == "thinking":
                    st.pending.append(delta.text)
            case SignatureDelta():
                if st.kind == "thinking":
                    st.signature = delta.signature if delta.protocol == NAME else None
            case ToolArgumentsDelta():
                if st.kind == "tool":
                    st.pending.append(delta.json_fragment)
            case _:
                assert_never(delta)
        self._pump()

    def _response_end(self, event: ResponseEnd) -> None:
        self._message_start("", None)
        for st in self._states.values():
            st.ended = True
        self._pump()
        stop_reason = stop_reason_for(event.finish_reason, self._has_tool_calls)
        delta = {
            "stop_reason": stop_reason,
            "stop_sequence": event.stop_sequence if stop_reason == "stop_sequence" else None,
        }
        self._send(
            "message_delta", {"type": "message_delta", "delta": delta, "usage": encode_usage(event.usage)}
        )
        self._send("message_stop", {"type": "message_stop"})
        self._finished = True

    def _error(self, err: GatewayError) -> None:
        self._out.append(encode_stream_error(err))
        self._finished = True

    # -- block bookkeeping --------------------------------------------------------------------

    def _has_content(self, st: _PartState) -> bool:
        if st.kind in SPLITTABLE:
            return any(st.pending) or (st.ended and st.signature is not None)
        return True

    def _pump(self) -> None:
        """Put on the wire everything the one-open-block rule allows now."""
        while True:
            if self._open is not None:
                index, st = self._open, self._states[self._open]
                self._flush(st)
                if st.ended:
                    self._close(st)
                    self._order.remove(index)
                    continue
                if st.kind in SPLITTABLE and any(
                    self._has_content(self._states[i]) for i in self._order if i != index
                ):
                    self._close(st)  # more of it later goes into a new block
                    continue
                return
            ready = next(
                (i for i in self._order if self._has_content(self._states[i]) or self._states[i].ended), None
            )
            if ready is None:
                return
            st = self._states[ready]
            if not self._has_content(st):
                self._order.remove(ready)  # ended with nothing to say: no empty block
                continue
            self._message_start("", None)
            self._send(
                "content_block_start",
                {"type": "content_block_start", "index": self._next_index, "content_block": st.start},
            )
            self._open = ready
            self._next_index += 1

    def _flush(self, st: _PartState) -> None:
        index = self._next_index - 1
        chunks, st.pending = [c for c in st.pending if c], []
        match st.kind:
            case "text":
                for text in chunks:
                    self._delta_event(index, {"type": "text_delta", "text": text})
            case "thinking":
                for text in chunks:
                    self._delta_event(index, {"type": "thinking_delta", "thinking": text})
            case "tool" if st.initial_arguments is None:
                for fragment in chunks:
                    self._delta_event(index, {"type": "input_json_delta", "partial_json": fragment})
            case "tool":
                st.pending = chunks  # complete arguments go out as one delta at the end
                if st.ended:
                    self._delta_event(index, {"type": "input_json_delta", "partial_json": _merged_json(st)})
            case _:
                pass

    def _close(self, st: _PartState) -> None:
        index = self._next_index - 1
        if st.kind == "thinking" and st.ended and st.signature is not None:
            # Sent once, right before the thinking block stops (protocols.md §1.7).
            self._delta_event(index, {"type": "signature_delta", "signature": st.signature})
            st.signature = None
        self._send("content_block_stop", {"type": "content_block_stop", "index": index})
        self._open = None

    def _delta_event(self, index: int, delta: dict[str, Any]) -> None:
        self._send("content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta})


def _merged_json(st: _PartState) -> str:
    """Arguments given whole at the start, merged with any later fragments the way the
    assembler merges them."""
    arguments = dict(st.initial_arguments or {})
    raw = "".join(st.pending)
    if raw:
        try:
            more = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return raw  # let the client see what the model sent (protocols.md §5.5)
        if isinstance(more, dict):
            arguments.update(more)
    return orjson.dumps(arguments).decode()
