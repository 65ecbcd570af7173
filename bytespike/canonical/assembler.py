"""The one place a `Response` is built from stream events (STYLE.md habit 6), and its inverse.

`Assembler` folds canonical events: every translated stream goes through it as it is relayed
(relay/frames.py `TranslatedFrames`, whose billed usage is the assembler's), and so does a
streaming-only upstream's stream when the caller did not ask to stream (relay/stream_modes.py:
the assembled `Response` is what the caller gets and what is billed). `events_of` turns a whole
`Response` into the events a stream of it would have produced, which is how a streaming caller
gets a stream from an upstream that cannot stream. Whole upstream answers are decoded straight to
a `Response` by their protocol's codec, and same-protocol streams are only tapped for usage (the
fast path, DESIGN.md §3): neither builds a response from events.
"""

from __future__ import annotations

from dataclasses import replace
from typing import assert_never

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
from bytespike.canonical.response import Response
from bytespike.canonical.usage import Usage


class AssemblyError(ValueError):
    """The events broke the stream contract (delta before start, unknown index, bad JSON)."""


class Assembler:
    def __init__(self) -> None:
        self.id = ""
        self.model = ""
        self.usage = Usage()
        self.finish_reason = None
        self.stop_sequence: str | None = None
        self.error: StreamError | None = None
        self.finished = False
        self._parts: dict[int, Part] = {}
        self._text: dict[int, list[str]] = {}
        self._args: dict[int, list[str]] = {}

    def feed(self, event: StreamEvent) -> None:
        match event:
            case ResponseStart():
                self.id, self.model = event.id, event.model
                if event.usage is not None:
                    self.usage = event.usage
            case PartStart():
                self._parts[event.index] = event.part
                self._text[event.index] = []
                self._args[event.index] = []
            case PartDelta():
                if event.index not in self._parts:
                    raise AssemblyError(f"delta for part {event.index} before its start")
                d = event.delta
                match d:
                    case TextDelta() | ThinkingDelta():
                        self._text[event.index].append(d.text)
                    case SignatureDelta():
                        part = self._parts[event.index]
                        if isinstance(part, ThinkingPart):
                            self._parts[event.index] = replace(
                                part, signature=d.signature, signature_protocol=d.protocol
                            )
                    case ToolArgumentsDelta():
                        self._args[event.index].append(d.json_fragment)
                    case _:
                        assert_never(d)
            case PartEnd():
                if event.index not in self._parts:
                    raise AssemblyError(f"end of part {event.index} before its start")
            case ResponseEnd():
                self.finish_reason = event.finish_reason
                self.stop_sequence = event.stop_sequence
                self.usage = event.usage
                self.finished = True
            case StreamError():
                self.error = event
            case _:
                assert_never(event)

    def _final_part(self, index: int) -> Part:
        part = self._parts[index]
        text = "".join(self._text[index])
        match part:
            case TextPart():
                return replace(part, text=part.text + text)
            case ThinkingPart():
                return replace(part, text=part.text + text)
            case ToolCallPart():
                raw = "".join(self._args[index])
                if not raw:
                    return part
                try:
                    args = orjson.loads(raw)
                except orjson.JSONDecodeError as exc:
                    raise AssemblyError(
                        f"tool call {part.id} arguments are not valid JSON: {raw[:80]!r}"
                    ) from exc
                if not isinstance(args, dict):
                    raise AssemblyError(f"tool call {part.id} arguments are not a JSON object")
                return replace(part, arguments={**part.arguments, **args})
            case MediaPart() | ToolResultPart() | OpaquePart():
                return part
            case _:
                assert_never(part)

    def response(self) -> Response:
        parts = tuple(self._final_part(i) for i in sorted(self._parts))
        return Response(
            id=self.id,
            model=self.model,
            parts=parts,
            finish_reason=self.finish_reason,
            usage=self.usage,
            stop_sequence=self.stop_sequence,
        )


def events_of(response: Response) -> list[StreamEvent]:
    """A complete response as the event sequence a stream of it would have produced."""
    events: list[StreamEvent] = [ResponseStart(response.id, response.model)]
    for i, part in enumerate(response.parts):
        match part:
            case TextPart():
                events += [
                    PartStart(i, replace(part, text="")),
                    PartDelta(i, TextDelta(part.text)),
                    PartEnd(i),
                ]
            case ThinkingPart():
                start = replace(part, text="", signature=None, signature_protocol=None)
                events += [PartStart(i, start), PartDelta(i, ThinkingDelta(part.text))]
                if part.signature is not None:
                    events.append(PartDelta(i, SignatureDelta(part.signature, part.signature_protocol or "")))
                events.append(PartEnd(i))
            case ToolCallPart():
                events += [
                    PartStart(i, replace(part, arguments={})),
                    PartDelta(i, ToolArgumentsDelta(orjson.dumps(part.arguments).decode())),
                    PartEnd(i),
                ]
            case MediaPart() | ToolResultPart() | OpaquePart():
                events += [PartStart(i, part), PartEnd(i)]
            case _:
                assert_never(part)
    events.append(ResponseEnd(response.finish_reason, response.usage, response.stop_sequence))
    return events
