"""OpenAI Chat SSE streams: the fast-path tap, and decode/encode via canonical stream events.

`OpenAIChatStreamTap` reads only what billing needs from a relayed stream. The gateway always asks
the upstream for ``stream_options.include_usage``; when the caller did not ask for it, the
usage-only chunk (``choices: []``) is dropped before it reaches the caller (clients doing
``chunk.choices[0]`` crash on it, protocols.md §2.6).

`StreamDecoder` turns ``chat.completion.chunk`` frames into `StreamEvent`s, `StreamEncoder` the
reverse; both follow the state machines of protocols.md §5.13.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
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
from bytespike.protocols.openai_chat.errors import decode_stream_error, encode_stream_error
from bytespike.protocols.openai_chat.messages import REASONING_CONTENT
from bytespike.protocols.openai_chat.responses import (
    REFUSAL_FIELD,
    decode_finish_reason,
    encode_finish_reason,
    restore_tool_name,
)
from bytespike.protocols.openai_chat.usage import decode_usage, encode_usage
from bytespike.protocols.sse import frame_fields
from bytespike.protocols.tap import StreamFacts

DROP = 2
"""`feed` result: do not forward this frame."""
TERMINAL = 1
"""`feed` result: the ``[DONE]`` frame."""
FORWARD = 0


class OpenAIChatStreamTap:
    __slots__ = ("_forward_usage", "facts")

    def __init__(self, *, forward_usage: bool) -> None:
        self.facts = StreamFacts()
        self._forward_usage = forward_usage

    def feed(self, frame: bytes) -> int:
        _, data = frame_fields(frame)
        if not data:
            return FORWARD
        if data == b"[DONE]":
            self.facts.finished = True
            return TERMINAL
        try:
            chunk = orjson.loads(data)
        except orjson.JSONDecodeError:
            return FORWARD
        if not isinstance(chunk, dict):
            return FORWARD
        if chunk.get("error"):
            err = chunk["error"] if isinstance(chunk["error"], dict) else {"message": str(chunk["error"])}
            self.facts.error = GatewayError(
                502,
                "upstream_error",
                str(err.get("message") or "upstream error"),
                upstream_type=err.get("type"),
            )
            return DROP
        usage = chunk.get("usage")
        if usage:
            self.facts.usage = decode_usage(usage)
            self.facts.has_usage = True
        choices = chunk.get("choices")
        if not self.facts.content_started and choices:
            delta = choices[0].get("delta") or {}
            if (
                delta.get("content")
                or delta.get("tool_calls")
                or delta.get("reasoning_content")
                or delta.get("refusal")
                or delta.get("audio")
            ):
                self.facts.content_started = True
        if usage and not choices and not self._forward_usage:
            return DROP
        return FORWARD


DONE = b"data: [DONE]\n\n"
"""The stream's terminator (protocols.md §2.6); never sent after an error frame."""
TEXT_FIELDS = ("content", "reasoning_content", "refusal")
"""Delta fields whose fragments a client concatenates, one string per field."""
LEGACY_CALL = "fn"
"""Key of a legacy ``delta.function_call`` among the tool-call indices (one per message)."""
_NOT_ID_CHAR = re.compile(r"[^A-Za-z0-9_-]")
DELTA_KEYS = (
    ("reasoning_content", "thinking"),
    ("reasoning", "thinking"),
    ("content", "text"),
    ("refusal", "refusal"),
)
"""Delta string fields in the order they are read, and the kind of part each feeds; DeepSeek and
vLLM send ``reasoning_content``, OpenRouter and newer vLLM ``reasoning`` (protocols.md §5.7)."""


@dataclass(slots=True)
class _ToolCallState:
    """One wire ``tool_calls[].index`` of the stream being decoded."""

    call_id: str | None = None
    name: str | None = None
    index: int | None = None
    """Canonical part index, once id/name are known and the part is started."""
    pending: list[str] = field(default_factory=list)
    """Argument fragments that came before the call's id and name (BerriAI/litellm #13373)."""


class StreamDecoder:
    """``chat.completion.chunk`` SSE frames (one per `feed`, as `SSESplitter` cuts them) → events.

    Text, reasoning and refusal deltas open a part each time the kind changes; each wire tool-call
    index gets its own part, so interleaved parallel calls never mix (praxis-proxy/ai #266).
    A chunk's content is handled before its ``finish_reason``; ``finish_reason`` closes every
    part; `ResponseEnd` waits for ``[DONE]`` so it carries the usage chunk that follows the finish
    chunk (protocols.md §5.13 steps 6–7). At EOF without ``[DONE]`` the stream counts as complete
    only if both the finish reason and the usage were seen; otherwise `finish` reports an error.
    ``tool_names`` maps names `identifiers.encode_tool_name` rewrote back to the caller's.
    """

    def __init__(self, *, tool_names: Mapping[str, str] | None = None) -> None:
        self._tool_names = tool_names
        self._id = ""
        self._started = False
        self._done = False
        self._next_index = 0
        self._open: tuple[int, str] | None = None
        self._tools: dict[int | str, _ToolCallState] = {}
        self._finish: FinishReason | None = None
        self._saw_finish = False
        self._usage: Usage | None = None

    def feed(self, frame: bytes) -> list[StreamEvent]:
        if self._done:
            return []
        _, data = frame_fields(frame)
        if not data.strip():
            return []  # comments / keep-alives
        if data.strip() == b"[DONE]":
            return self._end()
        try:
            chunk = orjson.loads(data)
        except orjson.JSONDecodeError:
            chunk = None
        if not isinstance(chunk, dict):
            return self._fail(502, "upstream_error", "upstream: a stream frame is not a JSON object")
        if chunk.get("error"):
            return self._fail(*decode_stream_error(chunk["error"]))
        events = self._start(chunk)
        if chunk.get("usage"):
            # Read from any chunk: the usage-only one, or one that also has choices (OmniRoute #9750).
            self._usage = decode_usage(chunk["usage"])
        for choice in chunk.get("choices") or ():
            if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                continue  # n > 1: the canonical response is the first choice
            delta = choice.get("delta")
            if isinstance(delta, dict):
                events += self._delta(delta)
            if choice.get("finish_reason"):  # some hosts send "" on every chunk
                self._finish = decode_finish_reason(choice["finish_reason"])
                self._saw_finish = True
                events += self._close_all()
        return events

    def finish(self) -> list[StreamEvent]:
        """Events due at EOF: nothing after ``[DONE]`` or an error frame."""
        if self._done:
            return []
        if self._saw_finish and self._usage is not None:
            return self._end()  # a host that omits [DONE] after a complete answer
        return self._fail(502, "upstream_error", "upstream: the stream ended before data: [DONE]")

    def _fail(self, status: int, code: str, message: str) -> list[StreamEvent]:
        self._done = True
        return [StreamError(status, code, message)]

    def _start(self, chunk: dict[str, Any]) -> list[StreamEvent]:
        if self._started:
            return []
        self._started = True
        self._id = str(chunk.get("id") or "")
        return [ResponseStart(self._id, str(chunk.get("model") or ""))]

    def _end(self) -> list[StreamEvent]:
        events = self._start({}) + self._close_all()
        self._done = True
        return [*events, ResponseEnd(self._finish, self._usage or Usage())]

    def _new_index(self) -> int:
        self._next_index += 1
        return self._next_index - 1

    def _close_open(self) -> list[StreamEvent]:
        if self._open is None:
            return []
        index, self._open = self._open[0], None
        return [PartEnd(index)]

    def _close_all(self) -> list[StreamEvent]:
        events = self._close_open()
        for key, state in self._tools.items():
            if state.index is None:
                # Arguments whose call never got an id or name: still a call, not lost.
                events += self._open_tool(key, state, "")
            events.append(PartEnd(state.index))  # type: ignore[arg-type]
        self._tools.clear()
        return events

    def _delta(self, delta: dict[str, Any]) -> list[StreamEvent]:
        events: list[StreamEvent] = []
        seen_thinking = False
        for key, kind in DELTA_KEYS:
            value = delta.get(key)
            if not isinstance(value, str) or not value or (kind == "thinking" and seen_thinking):
                continue
            seen_thinking = seen_thinking or kind == "thinking"
            events += self._text(kind, value)
        calls = delta.get("tool_calls")
        if isinstance(calls, list):
            for position, call in enumerate(calls):
                if isinstance(call, dict):
                    events += self._tool_call(call, position)
        if isinstance(delta.get("function_call"), dict):
            # Legacy streaming: one unnamed call per message.
            events += self._tool_call({"function": delta["function_call"]}, LEGACY_CALL)
        return events

    def _text(self, kind: str, text: str) -> list[StreamEvent]:
        events: list[StreamEvent] = []
        if self._open is None or self._open[1] != kind:
            events += self._close_open()
            index = self._new_index()
            part = {
                "thinking": ThinkingPart(provider_data=REASONING_CONTENT),
                "text": TextPart(""),
                "refusal": TextPart("", provider_data=REFUSAL_FIELD),
            }[kind]
            events.append(PartStart(index, part))
            self._open = (index, kind)
        delta = ThinkingDelta(text) if kind == "thinking" else TextDelta(text)
        return [*events, PartDelta(self._open[0], delta)]

    def _tool_call(self, call: dict[str, Any], position: int | str) -> list[StreamEvent]:
        key = call["index"] if isinstance(call.get("index"), int) else position
        state = self._tools.setdefault(key, _ToolCallState())
        function = call.get("function") if isinstance(call.get("function"), dict) else {}
        arguments = function.get("arguments") if isinstance(function.get("arguments"), str) else ""
        if state.index is not None:
            return [PartDelta(state.index, ToolArgumentsDelta(arguments))] if arguments else []
        if isinstance(call.get("id"), str) and call["id"]:
            state.call_id = call["id"]
        if isinstance(function.get("name"), str) and function["name"]:
            state.name = function["name"]
        if state.name is None and state.call_id is None:
            state.pending.append(arguments)
            return []
        return self._open_tool(key, state, arguments)

    def _open_tool(self, key: int | str, state: _ToolCallState, arguments: str) -> list[StreamEvent]:
        events = self._close_open()
        state.index = self._new_index()
        call_id = state.call_id or _NOT_ID_CHAR.sub("_", f"call_{self._id}_{key}")
        part = restore_tool_name(ToolCallPart(call_id, state.name or ""), self._tool_names)
        events.append(PartStart(state.index, part))
        if buffered := "".join(state.pending) + arguments:
            events.append(PartDelta(state.index, ToolArgumentsDelta(buffered)))
        return events


class StreamEncoder:
    """Canonical events → ``chat.completion.chunk`` SSE frames the OpenAI SDK accumulates.

    First a ``{"role": "assistant", "content": ""}`` chunk; text as ``delta.content``, thinking
    as ``delta.reasoning_content`` (not in OpenAI's schema, but what DeepSeek and vLLM send and
    clients read; the SDK keeps unknown fields), refusals as ``delta.refusal``. Parts writing to
    the same field stream in index order: while one is open, later ones are held back and flushed
    when it ends (a Chat client concatenates what it gets). Each tool call gets the next
    ``index`` from 0 in order of first appearance, whatever its canonical index or interleaving
    (BerriAI/litellm #5231): a first fragment with id/type/name and ``arguments: ""``, then
    argument fragments — a call that starts complete (Gemini) sends its whole JSON as one
    fragment, one that never got arguments sends ``{}``. `ResponseEnd` → a chunk with an empty
    delta and the finish reason, then, only if ``include_usage``, a ``choices: []`` chunk with the
    full usage (and ``"usage": null`` on every other chunk); `finish` writes ``data: [DONE]``. A
    `StreamError` becomes a ``data: {"error": …}`` frame and nothing follows it.
    """

    def __init__(self, *, model: str, request_id: str, include_usage: bool = False) -> None:
        self._model = model
        self._id = f"chatcmpl-{request_id}"
        self._created = int(time.time())
        self._include_usage = include_usage
        self._started = False
        self._ended = False
        self._failed = False
        self._fields: dict[int, str] = {}
        """Canonical part index → the delta field it writes (``content``, ``refusal``,
        ``reasoning_content``), ``tool_calls``, or ``""`` for parts a chunk cannot carry."""
        self._queues: dict[str, list[int]] = {field: [] for field in TEXT_FIELDS}
        """Per text field, its started parts in order; the first one streams, the rest wait."""
        self._held: dict[int, list[str]] = {}
        self._closed: set[int] = set()
        self._tool_index: dict[int, int] = {}
        """Canonical part index → wire tool-call index."""
        self._no_arguments_yet: set[int] = set()

    def encode(self, event: StreamEvent) -> bytes:
        if self._failed:
            return b""
        match event:
            case StreamError():
                self._failed = True
                return encode_stream_error(GatewayError(event.status, event.code, event.message))
            case _ if self._ended:
                return b""
            case ResponseStart():
                if not self._started and event.id.startswith("chatcmpl-"):
                    self._id = event.id
                return self._start()
            case PartStart():
                return self._start() + self._part_start(event.index, event.part)
            case PartDelta():
                return self._start() + self._part_delta(event)
            case PartEnd():
                return self._part_end(event.index)
            case ResponseEnd():
                return self._start() + self._end(event)
            case _:
                assert_never(event)

    def finish(self) -> bytes:
        """``data: [DONE]`` after a complete stream; an error frame if it never ended."""
        if self._failed:
            return b""
        if not self._ended:
            self._failed = True
            return encode_stream_error(
                GatewayError(502, "upstream_error", "upstream: the stream ended before it was complete")
            )
        return DONE

    def _frame(self, choices: list[dict[str, Any]], usage: dict[str, Any] | None = None) -> bytes:
        chunk: dict[str, Any] = {
            "id": self._id,
            "object": "chat.completion.chunk",
            "created": self._created,
            "model": self._model,
            "choices": choices,
        }
        if self._include_usage:
            chunk["usage"] = usage
        return b"data: " + orjson.dumps(chunk) + b"\n\n"

    def _chunk(self, delta: dict[str, Any], finish_reason: str | None = None) -> bytes:
        return self._frame([{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}])

    def _start(self) -> bytes:
        if self._started:
            return b""
        self._started = True
        return self._chunk({"role": "assistant", "content": ""})

    def _flush(self, field: str) -> bytes:
        """Send what the field's first open part holds; move on past the parts that ended."""
        out = b""
        queue = self._queues[field]
        while queue:
            head = queue[0]
            if text := "".join(self._held.pop(head, ())):
                out += self._chunk({field: text})
            if head not in self._closed:
                break
            queue.pop(0)
        return out

    def _tool_arguments(self, index: int, fragment: str) -> bytes:
        self._no_arguments_yet.discard(index)
        wire = self._tool_index[index]
        return self._chunk({"tool_calls": [{"index": wire, "function": {"arguments": fragment}}]})

    def _part_start(self, index: int, part: Part) -> bytes:
        match part:
            case TextPart():
                pd = part.provider_data
                is_refusal = (
                    pd is not None and pd.protocol == REFUSAL_FIELD.protocol and pd.data.get("refusal")
                )
                return self._text_start(index, "refusal" if is_refusal else "content", part.text)
            case ThinkingPart():
                return self._text_start(index, "reasoning_content", "" if part.redacted else part.text)
            case ToolCallPart():
                wire = len(self._tool_index)
                self._tool_index[index] = wire
                self._fields[index] = "tool_calls"
                head = {"index": wire, "id": part.id, "type": "function"}
                frames = self._chunk(
                    {"tool_calls": [head | {"function": {"name": part.name, "arguments": ""}}]}
                )
                self._no_arguments_yet.add(index)
                if part.arguments:
                    frames += self._tool_arguments(index, orjson.dumps(part.arguments).decode())
                return frames
            case MediaPart() | OpaquePart() | ToolResultPart():
                self._fields[index] = ""  # a chunk delta has no place for them
                return b""
            case _:
                assert_never(part)

    def _text_start(self, index: int, field: str, text: str) -> bytes:
        self._fields[index] = field
        self._queues[field].append(index)
        self._held[index] = [text]
        return self._flush(field)

    def _part_delta(self, event: PartDelta) -> bytes:
        field = self._fields.get(event.index)
        delta = event.delta
        match delta:
            case TextDelta() | ThinkingDelta():
                wanted = ("content", "refusal") if isinstance(delta, TextDelta) else ("reasoning_content",)
                if field in wanted and event.index not in self._closed:
                    self._held.setdefault(event.index, []).append(delta.text)
                    return self._flush(field)
            case SignatureDelta():
                pass  # signatures never reach a Chat caller (protocols.md §5.13)
            case ToolArgumentsDelta():
                if field == "tool_calls" and delta.json_fragment:
                    return self._tool_arguments(event.index, delta.json_fragment)
            case _:
                assert_never(delta)
        return b""

    def _part_end(self, index: int) -> bytes:
        field = self._fields.get(index)
        if field in TEXT_FIELDS:
            self._closed.add(index)
            return self._flush(field)
        if field == "tool_calls" and index in self._no_arguments_yet:
            # A call without arguments still gets a JSON object, never "" (clients parse it).
            return self._tool_arguments(index, "{}")
        return b""

    def _end(self, event: ResponseEnd) -> bytes:
        self._ended = True
        frames = b"".join(self._part_end(i) for i in sorted(self._fields) if i not in self._closed)
        finish = encode_finish_reason(event.finish_reason, has_tool_calls=bool(self._tool_index))
        frames += self._chunk({}, finish)
        if self._include_usage:
            frames += self._frame([], encode_usage(event.usage))
        return frames
