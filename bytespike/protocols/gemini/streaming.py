"""Gemini SSE streams: the billing tap, and stream decode/encode ↔ canonical events.

``data: {GenerateContentResponse}`` frames, each carrying only new parts; no event names and no
terminator: the chunk with ``finishReason`` is the last one (protocols.md §4.4). A function call
arrives whole in one part (partial arguments are Vertex-only), so `StreamEncoder` buffers argument
fragments and emits one ``functionCall`` part when the call ends. A mid-stream error is a
``data: {"error": {…}}`` frame (the SDK raises ``APIError`` on it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, assert_never

import orjson

from bytespike.canonical.events import (
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
from bytespike.canonical.response import FinishReason
from bytespike.canonical.usage import Usage
from bytespike.errors import GatewayError
from bytespike.protocols.gemini import NAME
from bytespike.protocols.gemini.casing import camel_keys
from bytespike.protocols.gemini.errors import encode_error
from bytespike.protocols.gemini.ids import is_derived_id
from bytespike.protocols.gemini.parts import encode_part, gemini_signature
from bytespike.protocols.gemini.responses import (
    FINISH_REASON_TO_GEMINI,
    decode_candidate_parts,
    finish_reason_from_gemini,
)
from bytespike.protocols.gemini.signatures import wrap_foreign_signature
from bytespike.protocols.gemini.usage import decode_usage, encode_usage
from bytespike.protocols.sse import frame_fields
from bytespike.protocols.tap import StreamFacts

FRAME_END = b"\r\n\r\n"
"""What the Gemini API ends each SSE frame with (the SDK also accepts ``\\n\\n``)."""

STREAM_ERROR_CODES = {429: "rate_limit_exceeded", 503: "upstream_overloaded", 504: "upstream_timeout"}
"""Machine code of a mid-stream upstream error by its HTTP code (like relay/upstream_errors.py)."""


class GeminiStreamTap:
    __slots__ = ("facts",)

    def __init__(self) -> None:
        self.facts = StreamFacts()

    def feed(self, frame: bytes) -> bool:
        """Returns True for the chunk that carries ``finishReason``."""
        _, data = frame_fields(frame)
        if not data:
            return False
        try:
            chunk = orjson.loads(data)
        except orjson.JSONDecodeError:
            return False
        if not isinstance(chunk, dict):
            return False
        if isinstance(chunk.get("error"), dict):
            err = chunk["error"]
            self.facts.error = GatewayError(
                502,
                "upstream_error",
                str(err.get("message") or "upstream error"),
                upstream_type=err.get("status"),
            )
            return False
        um = chunk.get("usageMetadata")
        if um:
            self.facts.usage = decode_usage(um)
            self.facts.has_usage = True
        terminal = False
        for cand in chunk.get("candidates") or ():
            if not self.facts.content_started and (cand.get("content") or {}).get("parts"):
                self.facts.content_started = True
            if cand.get("finishReason"):
                terminal = True
        if terminal:
            self.facts.finished = True
        return terminal


def _stream_error(error: Any) -> StreamError:
    """A canonical error for an upstream ``{"error": {code, message, status}}`` frame."""
    code = error.get("code") if isinstance(error, dict) else None
    status = code if isinstance(code, int) and 400 <= code <= 599 else 502
    message = str(error.get("message") or "upstream error") if isinstance(error, dict) else "upstream error"
    return StreamError(status, STREAM_ERROR_CODES.get(status, "upstream_error"), message)


class StreamDecoder:
    """Gemini SSE frames → canonical stream events.

    Consecutive text chunks continue one canonical text part (thought chunks one thinking part);
    a text chunk carrying a ``thoughtSignature`` starts a new text part holding it, a thought
    chunk's signature becomes a `SignatureDelta`. A ``functionCall`` part becomes a `PartStart`
    with complete arguments and a `PartEnd`. `ResponseEnd` comes with the chunk holding
    ``finishReason`` (usage: the last ``usageMetadata`` seen)."""

    def __init__(self) -> None:
        self._started = False
        self._done = False
        self._next_index = 0
        self._open: tuple[int, type[TextPart] | type[ThinkingPart]] | None = None
        self._calls = 0
        self._usage = Usage()
        self._response_id = ""

    def feed(self, frame: bytes) -> list[StreamEvent]:
        if self._done:
            return []
        _, data = frame_fields(frame)
        if not data.strip():
            return []
        try:
            chunk = orjson.loads(data)
        except orjson.JSONDecodeError:
            return self._fail(
                StreamError(502, "upstream_error", "the Gemini stream sent a chunk that is not JSON")
            )
        if not isinstance(chunk, dict):
            return self._fail(
                StreamError(502, "upstream_error", "the Gemini stream sent a chunk that is not an object")
            )
        if "error" in chunk:
            return self._fail(_stream_error(chunk["error"]))
        chunk = camel_keys(chunk)
        events: list[StreamEvent] = []
        if not self._started:
            self._started = True
            self._response_id = str(chunk.get("responseId") or "")
            events.append(ResponseStart(self._response_id, str(chunk.get("modelVersion") or "")))
        if isinstance(chunk.get("usageMetadata"), dict):
            self._usage = decode_usage(chunk["usageMetadata"])
        candidates = chunk.get("candidates") or []
        candidate = camel_keys(candidates[0]) if candidates and isinstance(candidates[0], dict) else None
        if candidate is None:
            feedback = chunk.get("promptFeedback")
            if isinstance(feedback, dict) and feedback.get("blockReason"):
                # A prompt blocked before generation: no candidates, no parts (§4.3).
                return events + self._end("content_filter")
            return events
        content = candidate.get("content")
        if isinstance(content, dict):
            try:
                parts, _ = decode_candidate_parts(
                    camel_keys(content).get("parts", []), self._response_id, "content.parts", self._calls
                )
            except GatewayError as exc:
                return events + self._fail(StreamError(exc.status, exc.code, exc.message))
            for part in parts:
                events += self._part(part)
        finish = candidate.get("finishReason")
        if finish is not None:
            events += self._end(finish_reason_from_gemini(finish, self._calls > 0))
        return events

    def _part(self, part: Part) -> list[StreamEvent]:
        events: list[StreamEvent] = []
        match part:
            case TextPart() | ThinkingPart() if self._open is not None and self._continues(part):
                index = self._open[0]
                if part.text:
                    delta = TextDelta(part.text) if isinstance(part, TextPart) else ThinkingDelta(part.text)
                    events.append(PartDelta(index, delta))
                if isinstance(part, ThinkingPart) and part.signature is not None:
                    events.append(
                        PartDelta(index, SignatureDelta(part.signature, part.signature_protocol or ""))
                    )
            case TextPart() | ThinkingPart():
                if isinstance(part, TextPart) and not part.text and part.provider_data is None:
                    return events  # an empty closing chunk opens nothing
                events += self._close()
                index = self._next_index
                self._next_index += 1
                self._open = (index, type(part))
                events.append(PartStart(index, _emptied(part)))
                if part.text:
                    delta = TextDelta(part.text) if isinstance(part, TextPart) else ThinkingDelta(part.text)
                    events.append(PartDelta(index, delta))
            case ToolCallPart() | MediaPart() | ToolResultPart() | OpaquePart():
                if isinstance(part, ToolCallPart):
                    self._calls += 1
                events += self._close()
                index = self._next_index
                self._next_index += 1
                events += [PartStart(index, part), PartEnd(index)]
            case _:
                assert_never(part)
        return events

    def _continues(self, part: TextPart | ThinkingPart) -> bool:
        assert self._open is not None
        if self._open[1] is not type(part):
            return False
        # A signed text chunk starts its own part: the signature belongs to it (§4.7).
        return isinstance(part, ThinkingPart) or part.provider_data is None

    def _close(self) -> list[StreamEvent]:
        if self._open is None:
            return []
        index = self._open[0]
        self._open = None
        return [PartEnd(index)]

    def _end(self, reason: FinishReason | None) -> list[StreamEvent]:
        self._done = True
        return [*self._close(), ResponseEnd(reason, self._usage)]

    def _fail(self, error: StreamError) -> list[StreamEvent]:
        self._done = True
        return [error]

    def finish(self) -> list[StreamEvent]:
        """At EOF: a `StreamError` unless the stream ended with ``finishReason`` or an error."""
        if self._done:
            return []
        return self._fail(
            StreamError(502, "upstream_error", "the Gemini stream ended before a chunk with finishReason")
        )


def _emptied(part: TextPart | ThinkingPart) -> TextPart | ThinkingPart:
    """The `PartStart` form of a text/thinking part: its text follows as a delta."""
    if isinstance(part, TextPart):
        return TextPart("", part.cache_control, part.provider_data)
    return ThinkingPart("", part.signature, part.signature_protocol, part.redacted, part.provider_data)


@dataclass(slots=True)
class _OpenPart:
    """What the encoder keeps about a part between its `PartStart` and the chunk that ends it."""

    part: Part
    """The part as started."""
    fragments: list[str] = field(default_factory=list)
    """Tool-call argument JSON fragments, joined when the call ends."""
    signature: tuple[str, str | None, bool] | None = None
    """A thinking signature to send when the part ends: (signature, protocol, redacted)."""
    sent_text: bool = False
    """Whether a chunk of its text went out (a Gemini text signature rides on the first one)."""
    held: list[dict[str, Any]] = field(default_factory=list)
    """Wire parts of a text/thought part waiting for the part streaming before it to end."""
    ended: bool = False
    """Its `PartEnd` arrived while it was held."""


class StreamEncoder:
    """Canonical stream events → Gemini SSE frames for a Gemini client.

    Text and thought deltas go out as they come, one text-like part at a time: a Gemini stream
    is one sequence of parts, so a text-like part opened while another is streaming is held
    until that one ends. A tool call goes out whole when its `PartEnd` (or the `ResponseEnd`)
    arrives. The last chunk carries ``finishReason`` and ``usageMetadata``; every chunk has the
    same ``responseId`` (the request id) and ``modelVersion``."""

    def __init__(self, *, model: str, request_id: str, **protocol_options: Any) -> None:
        self._model = model
        self._request_id = request_id
        self._open: dict[int, _OpenPart] = {}
        self._live: int | None = None
        """The text-like part whose deltas are sent as they come."""
        self._waiting: list[int] = []
        """Text-like parts opened while another was live, in the order they opened."""
        self._done = False

    def _chunk(
        self, parts: list[dict[str, Any]], finish: str | None = None, usage: Usage | None = None
    ) -> bytes:
        candidate: dict[str, Any] = {"content": {"role": "model", "parts": parts}, "index": 0}
        if finish is not None:
            candidate["finishReason"] = finish
        payload: dict[str, Any] = {"candidates": [candidate]}
        if usage is not None:
            payload["usageMetadata"] = encode_usage(usage)
        payload["modelVersion"] = self._model
        payload["responseId"] = self._request_id
        return b"data: " + orjson.dumps(payload) + FRAME_END

    def encode(self, event: StreamEvent) -> bytes:
        if self._done:
            return b""
        match event:
            case ResponseStart():
                return b""
            case PartStart():
                return self._start(event.index, event.part)
            case PartDelta():
                return self._delta(event.index, event)
            case PartEnd():
                return self._end(event.index)
            case ResponseEnd():
                self._done = True
                parts: list[dict[str, Any]] = []
                for index in [*([self._live] if self._live is not None else []), *self._waiting]:
                    state = self._open.pop(index)
                    parts += state.held + ([] if state.ended else self._closing_parts(state))
                parts += [p for i in sorted(self._open) for p in self._closing_parts(self._open[i])]
                # Tool use shows in the parts; its finishReason is STOP. The SDK's chat records
                # a turn only with a finishReason, so a missing one is sent as STOP.
                finish = FINISH_REASON_TO_GEMINI[event.finish_reason] if event.finish_reason else "STOP"
                # The SDK's chat history records a turn only when every chunk has a non-empty part.
                return self._chunk(parts or [{"text": ""}], finish, event.usage)
            case StreamError():
                self._done = True
                # 529 is Anthropic's; Google clients know overload as 503 UNAVAILABLE (§5.12).
                status = 503 if event.status == 529 else event.status
                error = GatewayError(status, event.code, event.message)
                return b"data: " + encode_error(error) + FRAME_END
            case _:
                assert_never(event)

    def _start(self, index: int, part: Part) -> bytes:
        match part:
            case ToolCallPart():
                self._open[index] = _OpenPart(part)
                return b""
            case TextPart() | ThinkingPart():
                state = self._open[index] = _OpenPart(part)
                if isinstance(part, ThinkingPart) and part.signature is not None:
                    state.signature = (part.signature, part.signature_protocol, part.redacted)
                if self._live is None:
                    self._live = index
                else:
                    self._waiting.append(index)
                return self._text(index, state, part.text) if part.text else b""
            case MediaPart() | OpaquePart():
                wire = encode_part(part, f"parts[{index}]", None)
                return self._chunk([wire]) if wire is not None else b""
            case ToolResultPart():
                return b""  # a model never answers its own tool call
            case _:
                assert_never(part)

    def _delta(self, index: int, event: PartDelta) -> bytes:
        state = self._open.get(index)
        if state is None or state.ended:
            return b""
        delta = event.delta
        match delta:
            case TextDelta() | ThinkingDelta():
                if not delta.text or isinstance(state.part, ToolCallPart):
                    return b""
                return self._text(index, state, delta.text)
            case SignatureDelta():
                state.signature = (delta.signature, delta.protocol or None, False)
                return b""
            case ToolArgumentsDelta():
                state.fragments.append(delta.json_fragment)
                return b""
            case _:
                assert_never(delta)

    def _end(self, index: int) -> bytes:
        state = self._open.get(index)
        if state is None or state.ended:
            return b""
        if isinstance(state.part, ToolCallPart):
            del self._open[index]
            return self._chunk(self._closing_parts(state))
        state.ended = True
        closing = self._closing_parts(state)
        if index != self._live:
            state.held += closing
            return b""
        del self._open[index]
        out = self._chunk(closing) if closing else b""
        self._live = None
        while self._waiting:
            index = self._waiting.pop(0)
            state = self._open[index]
            if state.held:
                out += self._chunk(state.held)
                state.held = []
            if not state.ended:
                self._live = index
                break
            del self._open[index]
        return out

    def _text(self, index: int, state: _OpenPart, text: str) -> bytes:
        part = state.part
        wire: dict[str, Any] = {"text": text}
        if isinstance(part, ThinkingPart):
            wire["thought"] = True
        elif not state.sent_text:
            signature = gemini_signature(getattr(part, "provider_data", None))
            if signature is not None:
                wire["thoughtSignature"] = signature
        state.sent_text = True
        if index != self._live:
            state.held.append(wire)
            return b""
        return self._chunk([wire])

    def _closing_parts(self, state: _OpenPart) -> list[dict[str, Any]]:
        part = state.part
        if isinstance(part, ToolCallPart):
            return [self._function_call(part, "".join(state.fragments))]
        if isinstance(part, ThinkingPart) and state.signature is not None:
            signature, protocol, redacted = state.signature
            if protocol != NAME:
                signature = wrap_foreign_signature(
                    protocol or "", signature, redacted=redacted or part.redacted
                )
            return [{"text": "", "thought": True, "thoughtSignature": signature}]
        if isinstance(part, TextPart) and not state.sent_text:
            signature = gemini_signature(part.provider_data)
            if signature is not None:
                return [{"text": "", "thoughtSignature": signature}]
        return []

    def _function_call(self, part: ToolCallPart, raw: str) -> dict[str, Any]:
        args: dict[str, Any] = dict(part.arguments)
        if raw:
            try:
                parsed = orjson.loads(raw)
            except orjson.JSONDecodeError:
                parsed = None
            # Never a silent {} for arguments cut short (protocols.md §5.5).
            args.update(parsed if isinstance(parsed, dict) else {"_raw": raw})
        call: dict[str, Any] = {"name": part.name, "args": args}
        if part.id and not is_derived_id(part.id):
            call["id"] = part.id
        wire: dict[str, Any] = {"functionCall": call}
        signature = gemini_signature(part.provider_data)
        if signature is not None:
            wire["thoughtSignature"] = signature
        return wire

    def finish(self) -> bytes:
        """Gemini streams have no terminator frame."""
        return b""
