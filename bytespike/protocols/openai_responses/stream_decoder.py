"""A Responses SSE stream (protocols.md §3.3) → canonical stream events.

Each ``output_text``/``refusal`` content part, function call and reasoning item becomes one
canonical part, numbered in the order they start; hosted-tool items become `OpaquePart`s when
they are done. Upstream quirks handled (protocols.md §3.3, §7): arguments or text that arrive
only in ``.done``/``output_item.done`` with zero deltas (BerriAI/litellm #27144,
Gitlawb/openclaude #1259), items announced only by ``output_item.done``, and a
``response.completed`` whose ``output`` is empty (ChatGPT/Codex backend, LiteLLM PR #32724) or
the only place the items are.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

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
from bytespike.canonical.parts import OpaquePart, Part, TextPart, ThinkingPart, ToolCallPart
from bytespike.errors import GatewayError
from bytespike.protocols.openai_responses import NAME
from bytespike.protocols.openai_responses.content import RESPONSE_TEXT_DEFAULTS, decode_content
from bytespike.protocols.openai_responses.errors import decode_stream_error
from bytespike.protocols.openai_responses.provider_data import tag
from bytespike.protocols.openai_responses.responses import decode_finish, message_item_data
from bytespike.protocols.openai_responses.usage import decode_usage
from bytespike.protocols.sse import frame_fields

_CALL_KEYS = frozenset({"type", "call_id", "name", "arguments", "status"})


@dataclass(slots=True)
class _Output:
    """What is known about one ``output_index``."""

    item: dict[str, Any]
    part: int | None = None
    """Canonical index of a function call or reasoning item."""
    content: dict[int, int] = field(default_factory=dict)
    """``content_index`` → canonical index, for a message."""
    source: str | None = None
    """Reasoning: ``summary`` or ``content``, whichever streamed first (the other is ignored)."""
    segments: dict[int, str] = field(default_factory=dict)
    """Reasoning text per summary/content index."""


class StreamDecoder:
    """``feed`` one SSE frame (as split by `SSESplitter`) → events; ``finish`` at EOF."""

    def __init__(self, *, tool_names: Mapping[str, str] | None = None) -> None:
        self._names = tool_names or {}
        self._started = False
        self._finished = False
        self._next = 0
        self._outputs: dict[int, _Output] = {}
        self._open: dict[int, None] = {}
        self._sent: dict[int, list[str]] = {}
        self._has_call = False

    def feed(self, frame: bytes) -> list[StreamEvent]:
        if self._finished:
            return []
        _, data = frame_fields(frame)
        if not data or data == b"[DONE]":
            return []
        try:
            payload = orjson.loads(data)
        except orjson.JSONDecodeError:
            self._finished = True
            return [StreamError(502, "upstream_error", "upstream: a stream frame is not JSON")]
        if not isinstance(payload, dict):
            return []
        handler = _HANDLERS.get(payload.get("type"))  # type: ignore[arg-type]
        out: list[StreamEvent] = []
        if handler is not None:
            try:
                handler(self, payload, out)
            except GatewayError as exc:  # a malformed part inside an item
                self._finished = True
                out.append(StreamError(502, "upstream_error", f"upstream: malformed event: {exc.message}"))
        return out

    def finish(self) -> list[StreamEvent]:
        if self._finished:
            return []
        self._finished = True
        return [StreamError(502, "upstream_error", "upstream: the stream ended before response.completed")]

    # bookkeeping

    def _begin(self, out: list[StreamEvent], response: Any = None) -> None:
        if not self._started:
            self._started = True
            r = response if isinstance(response, dict) else {}
            out.append(ResponseStart(str(r.get("id") or ""), str(r.get("model") or "")))

    def _new_part(self, out: list[StreamEvent], part: Part) -> int:
        index = self._next
        self._next += 1
        self._open[index] = None
        self._sent[index] = []
        out.append(PartStart(index, part))
        return index

    def _delta(self, out: list[StreamEvent], index: int, delta: Delta, text: str) -> None:
        if text and index in self._open:
            self._sent[index].append(text)
            out.append(PartDelta(index, delta))

    def _catch_up(self, out: list[StreamEvent], index: int, final: Any, make: Callable[[str], Delta]) -> None:
        """Send what a ``.done`` holds beyond the deltas seen (all of it when there were none)."""
        if not isinstance(final, str):
            return
        sent = "".join(self._sent.get(index, ()))
        if len(final) > len(sent) and final.startswith(sent):
            rest = final[len(sent) :]
            self._delta(out, index, make(rest), rest)

    def _end(self, out: list[StreamEvent], index: int | None) -> None:
        if index is not None and index in self._open:
            del self._open[index]
            out.append(PartEnd(index))

    # events

    def _on_created(self, p: dict[str, Any], out: list[StreamEvent]) -> None:
        self._begin(out, p.get("response"))

    def _on_item_added(self, p: dict[str, Any], out: list[StreamEvent]) -> None:
        self._begin(out)
        index, item = p.get("output_index"), p.get("item")
        if not isinstance(index, int) or not isinstance(item, dict) or index in self._outputs:
            return
        st = self._outputs[index] = _Output(item)
        kind = item.get("type")
        if kind == "function_call":
            call_id, name = str(item.get("call_id") or ""), str(item.get("name") or "")
            fields = {k: v for k, v in item.items() if k not in _CALL_KEYS}
            call = ToolCallPart(
                call_id, self._names.get(name, name), {}, tag({"item": fields} if fields else {})
            )
            st.part = self._new_part(out, call)
            self._has_call = True
            args = item.get("arguments")
            self._catch_up(out, st.part, args, ToolArgumentsDelta)
        elif kind == "reasoning":
            # Fields as decode_reasoning keeps them; encrypted_content waits for output_item.done
            # (in output_item.added it "may be incomplete", SDK ResponseReasoningItemParam).
            skip = {"type", "summary", "content", "status"}
            fields = {
                k: v
                for k, v in item.items()
                if k not in skip and not (k == "encrypted_content" and isinstance(v, str))
            }
            st.part = self._new_part(out, ThinkingPart(provider_data=tag({"item": fields} if fields else {})))

    def _on_content_added(self, p: dict[str, Any], out: list[StreamEvent]) -> None:
        st = self._outputs.get(p.get("output_index"))  # type: ignore[arg-type]
        ci, part = p.get("content_index", 0), p.get("part")
        if st is None or st.item.get("type") != "message" or ci in st.content or not isinstance(part, dict):
            return
        self._start_text(out, st, ci, part)

    def _start_text(self, out: list[StreamEvent], st: _Output, ci: int, part: dict[str, Any]) -> int | None:
        decoded = decode_content(
            part, "part", {}, item=message_item_data(st.item), defaults=RESPONSE_TEXT_DEFAULTS
        )
        if not isinstance(decoded, TextPart):
            return None
        index = st.content[ci] = self._new_part(out, replace(decoded, text=""))
        self._delta(out, index, TextDelta(decoded.text), decoded.text)
        return index

    def _text_index(self, p: dict[str, Any], out: list[StreamEvent], kind: str) -> int | None:
        st = self._outputs.get(p.get("output_index"))  # type: ignore[arg-type]
        if st is None or st.item.get("type") != "message":
            return None
        ci = p.get("content_index", 0)
        if ci not in st.content:  # a delta without content_part.added
            return self._start_text(out, st, ci, {"type": kind, kind if kind == "refusal" else "text": ""})
        return st.content[ci]

    def _on_text_delta(self, p: dict[str, Any], out: list[StreamEvent]) -> None:
        kind = "refusal" if p["type"] == "response.refusal.delta" else "output_text"
        index = self._text_index(p, out, kind)
        delta = p.get("delta")
        if index is not None and isinstance(delta, str):
            self._delta(out, index, TextDelta(delta), delta)

    def _on_text_done(self, p: dict[str, Any], out: list[StreamEvent]) -> None:
        refusal = p["type"] == "response.refusal.done"
        index = self._text_index(p, out, "refusal" if refusal else "output_text")
        if index is not None:
            self._catch_up(out, index, p.get("refusal" if refusal else "text"), TextDelta)

    def _on_content_done(self, p: dict[str, Any], out: list[StreamEvent]) -> None:
        st = self._outputs.get(p.get("output_index"))  # type: ignore[arg-type]
        part, ci = p.get("part"), p.get("content_index", 0)
        if st is None or st.item.get("type") != "message" or not isinstance(part, dict):
            return
        self._finish_text(out, st, ci, part)

    def _finish_text(self, out: list[StreamEvent], st: _Output, ci: int, part: dict[str, Any]) -> None:
        index = st.content.get(ci)
        if index is None:
            index = self._start_text(out, st, ci, part)
        elif isinstance(part.get("text", part.get("refusal")), str):
            self._catch_up(out, index, part.get("text", part.get("refusal")), TextDelta)
        self._end(out, index)

    def _on_args_delta(self, p: dict[str, Any], out: list[StreamEvent]) -> None:
        st = self._outputs.get(p.get("output_index"))  # type: ignore[arg-type]
        delta = p.get("delta")
        if st is not None and st.item.get("type") == "function_call" and isinstance(delta, str):
            self._delta(out, st.part, ToolArgumentsDelta(delta), delta)  # type: ignore[arg-type]

    def _on_args_done(self, p: dict[str, Any], out: list[StreamEvent]) -> None:
        st = self._outputs.get(p.get("output_index"))  # type: ignore[arg-type]
        if st is not None and st.item.get("type") == "function_call":
            self._catch_up(out, st.part, p.get("arguments"), ToolArgumentsDelta)  # type: ignore[arg-type]

    def _on_reasoning_delta(self, p: dict[str, Any], out: list[StreamEvent]) -> None:
        source = "summary" if "summary_index" in p else "content"
        st = self._outputs.get(p.get("output_index"))  # type: ignore[arg-type]
        delta = p.get("delta")
        if st is not None and st.part is not None and isinstance(delta, str) and st.source in (None, source):
            st.source = source
            self._thinking(out, st, p.get(f"{source}_index", 0), delta)

    def _on_reasoning_done(self, p: dict[str, Any], out: list[StreamEvent]) -> None:
        source = "summary" if "summary_index" in p else "content"
        st = self._outputs.get(p.get("output_index"))  # type: ignore[arg-type]
        if st is not None and st.part is not None and st.source in (None, source):
            st.source = source
            self._thinking_catch_up(out, st, p.get(f"{source}_index", 0), p.get("text"))

    def _thinking(self, out: list[StreamEvent], st: _Output, segment: int, text: str) -> None:
        if not text:
            return
        if segment not in st.segments:
            if any(st.segments.values()):  # pieces are joined by blank lines, as decode_reasoning does
                self._delta(out, st.part, ThinkingDelta("\n\n"), "\n\n")  # type: ignore[arg-type]
            st.segments[segment] = ""
        st.segments[segment] += text
        self._delta(out, st.part, ThinkingDelta(text), text)  # type: ignore[arg-type]

    def _thinking_catch_up(self, out: list[StreamEvent], st: _Output, segment: int, final: Any) -> None:
        sent = st.segments.get(segment, "")
        if isinstance(final, str) and len(final) > len(sent) and final.startswith(sent):
            self._thinking(out, st, segment, final[len(sent) :])

    def _on_item_done(self, p: dict[str, Any], out: list[StreamEvent]) -> None:
        index, item = p.get("output_index"), p.get("item")
        if not isinstance(index, int) or not isinstance(item, dict):
            return
        if index not in self._outputs:  # never announced: the done item is all there is
            self._on_item_added(p, out)
        st = self._outputs[index]
        kind = item.get("type")
        if kind == "message":
            for ci, part in enumerate(item.get("content") or []):
                if isinstance(part, dict):
                    self._finish_text(out, st, ci, part)
        elif kind == "function_call":
            self._catch_up(out, st.part, item.get("arguments"), ToolArgumentsDelta)  # type: ignore[arg-type]
            self._end(out, st.part)
        elif kind == "reasoning":
            st.source = st.source or ("content" if item.get("content") else "summary")
            for k, piece in enumerate(item.get(st.source) or []):
                if isinstance(piece, dict):
                    self._thinking_catch_up(out, st, k, piece.get("text"))
            encrypted = item.get("encrypted_content")
            if isinstance(encrypted, str):
                out.append(PartDelta(st.part, SignatureDelta(encrypted, NAME)))  # type: ignore[arg-type]
            self._end(out, st.part)
        elif st.part is None:
            st.part = self._new_part(out, OpaquePart(NAME, {"item": item}))
            self._end(out, st.part)

    def _on_terminal(self, p: dict[str, Any], out: list[StreamEvent]) -> None:
        response = p.get("response") if isinstance(p.get("response"), dict) else {}
        self._begin(out, response)
        if not self._outputs:
            for k, item in enumerate(response.get("output") or []):  # type: ignore[union-attr]
                self._on_item_done({"output_index": k, "item": item}, out)
        for index in list(self._open):
            self._end(out, index)
        finish = decode_finish(
            response.get("status"),  # type: ignore[union-attr]
            response.get("incomplete_details"),  # type: ignore[union-attr]
            has_tool_call=self._has_call,
        )
        out.append(ResponseEnd(finish, decode_usage(response.get("usage"))))  # type: ignore[union-attr]
        self._finished = True

    def _on_failure(self, p: dict[str, Any], out: list[StreamEvent]) -> None:
        self._finished = True
        out.append(decode_stream_error(p))


_HANDLERS: dict[str, Callable[[StreamDecoder, dict[str, Any], list[StreamEvent]], None]] = {
    "response.created": StreamDecoder._on_created,
    "response.queued": StreamDecoder._on_created,
    "response.in_progress": StreamDecoder._on_created,
    "response.output_item.added": StreamDecoder._on_item_added,
    "response.content_part.added": StreamDecoder._on_content_added,
    "response.output_text.delta": StreamDecoder._on_text_delta,
    "response.refusal.delta": StreamDecoder._on_text_delta,
    "response.output_text.done": StreamDecoder._on_text_done,
    "response.refusal.done": StreamDecoder._on_text_done,
    "response.content_part.done": StreamDecoder._on_content_done,
    "response.function_call_arguments.delta": StreamDecoder._on_args_delta,
    "response.function_call_arguments.done": StreamDecoder._on_args_done,
    "response.reasoning_summary_text.delta": StreamDecoder._on_reasoning_delta,
    "response.reasoning_text.delta": StreamDecoder._on_reasoning_delta,
    "response.reasoning_summary_text.done": StreamDecoder._on_reasoning_done,
    "response.reasoning_text.done": StreamDecoder._on_reasoning_done,
    "response.output_item.done": StreamDecoder._on_item_done,
    "response.completed": StreamDecoder._on_terminal,
    "response.incomplete": StreamDecoder._on_terminal,
    "response.failed": StreamDecoder._on_failure,
    "error": StreamDecoder._on_failure,
}
"""Event type → handler; every other event (annotations, hosted-tool progress, …) is ignored."""
