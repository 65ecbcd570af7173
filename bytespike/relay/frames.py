"""Frame processors: what the stream relay does with each upstream SSE frame.

`PassthroughFrames` (same protocol, the fast path) forwards frames as they are, with the model
name rewritten, while a tap reads usage. `TranslatedFrames` decodes each upstream frame to
canonical events, folds them in the assembler (for billing) and encodes them in the caller's
protocol. Both report the same `StreamFacts`, and both hold back the caller's terminal frame so
it is sent only once the usage record is durable. `TappedFrames` wraps either to read (or
rewrite) the bytes the caller receives.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bytespike.canonical.assembler import Assembler
from bytespike.canonical.events import PartDelta, PartStart, ResponseEnd, StreamError
from bytespike.canonical.parts import TextPart, ThinkingPart
from bytespike.errors import GatewayError
from bytespike.protocols import anthropic_messages, gemini, openai_chat
from bytespike.protocols.anthropic_messages.streaming import AnthropicStreamTap
from bytespike.protocols.openai_chat.streaming import DROP, TERMINAL, OpenAIChatStreamTap
from bytespike.protocols.tap import StreamFacts


class PassthroughFrames:
    """Same protocol in and out: forward bytes, tap usage."""

    def __init__(self, protocol: str, *, upstream_model: str, slug: str, forward_usage: bool) -> None:
        self.tap: Any
        if protocol == anthropic_messages.NAME:
            self.tap = AnthropicStreamTap()
        elif protocol == openai_chat.NAME:
            self.tap = OpenAIChatStreamTap(forward_usage=forward_usage)
        elif protocol == gemini.NAME:
            from bytespike.protocols.gemini.streaming import GeminiStreamTap

            self.tap = GeminiStreamTap()
        else:
            from bytespike.protocols.openai_responses.streaming import ResponsesStreamTap

            self.tap = ResponsesStreamTap()
        self.facts: StreamFacts = self.tap.facts
        # Gemini names the model in "modelVersion"; the others in "model".
        field = "modelVersion" if protocol == gemini.NAME else "model"
        self._from = f'"{field}":"{upstream_model}"'.encode()
        self._to = f'"{field}":"{slug}"'.encode()
        self._rewrite = upstream_model != slug

    def process(self, frame: bytes) -> tuple[bytes, bytes]:
        """(bytes to forward now, bytes of a terminal frame to hold back)."""
        # Taps return True/False (terminal or not) or the OpenAI tap's FORWARD/TERMINAL/DROP;
        # True == TERMINAL == 1 by design.
        action = self.tap.feed(frame)
        if self.facts.error is not None or action == DROP:
            return b"", b""
        if self._rewrite:
            frame = frame.replace(self._from, self._to)
        if action == TERMINAL:
            return b"", frame
        return frame, b""

    def at_eof(self) -> tuple[bytes, bytes]:
        return b"", b""


class TranslatedFrames:
    """Caller and upstream speak different protocols: decode → canonical events → encode."""

    def __init__(self, decoder: Any, encoder: Any) -> None:
        self.decoder = decoder
        self.encoder = encoder
        self.assembler = Assembler()
        self.facts = StreamFacts()

    def _events(self, events: list) -> tuple[bytes, bytes]:
        now: list[bytes] = []
        held: list[bytes] = []
        for event in events:
            if self.facts.error is not None:
                break
            self.assembler.feed(event)
            if isinstance(event, StreamError):
                self.facts.error = GatewayError(event.status, event.code, event.message)
                break
            if isinstance(event, PartDelta) or (
                isinstance(event, PartStart) and not isinstance(event.part, TextPart | ThinkingPart)
            ):
                self.facts.content_started = True
            if isinstance(event, ResponseEnd):
                self.facts.usage = self.assembler.usage  # metering reads the assembled result
                self.facts.has_usage = True
                self.facts.finished = True
                held.append(self.encoder.encode(event))
                held.append(self.encoder.finish())
                continue
            now.append(self.encoder.encode(event))
        return b"".join(now), b"".join(held)

    def process(self, frame: bytes) -> tuple[bytes, bytes]:
        return self._events(self.decoder.feed(frame))

    def at_eof(self) -> tuple[bytes, bytes]:
        """Events the decoder only knows at the end (a missing terminal becomes an error)."""
        return self._events(self.decoder.finish())

    def error_frame(self, err: GatewayError) -> bytes:
        return self.encoder.encode(StreamError(err.status, err.code, err.message))


class TappedFrames:
    """A frame processor whose caller-bound bytes pass through ``out`` first: chaining records
    and rewrites the Responses answer there, the item index reads the ids it hands out."""

    def __init__(self, inner: Any, out: Callable[[bytes], bytes]) -> None:
        self._inner = inner
        self._out = out
        self.facts: StreamFacts = inner.facts

    def process(self, frame: bytes) -> tuple[bytes, bytes]:
        now, terminal = self._inner.process(frame)
        return self._out(now), self._out(terminal)

    def at_eof(self) -> tuple[bytes, bytes]:
        now, terminal = self._inner.at_eof()
        return self._out(now), self._out(terminal)

    def __getattr__(self, name: str) -> Any:
        # error_frame exists only on translating processors; RelayStream looks it up by name.
        return getattr(self._inner, name)
