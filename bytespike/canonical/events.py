"""Stream events: every protocol's stream decoder emits these, every encoder consumes them.

A stream is ``ResponseStart``, then for each part (indices from 0, one open at a time or
interleaved) ``PartStart`` → ``PartDelta``* → ``PartEnd``, then ``ResponseEnd`` carrying the
finish reason and the final usage. ``StreamError`` may replace the remainder at any point.
"""

from __future__ import annotations

from dataclasses import dataclass

from bytespike.canonical.parts import Part
from bytespike.canonical.response import FinishReason
from bytespike.canonical.usage import Usage


@dataclass(frozen=True, slots=True)
class ResponseStart:
    id: str
    model: str
    usage: Usage | None = None
    """Input usage when the protocol reports it up front (Anthropic ``message_start``)."""


@dataclass(frozen=True, slots=True)
class PartStart:
    index: int
    part: Part
    """The part as first known: ``TextPart("")``, ``ThinkingPart()``, ``ToolCallPart(id, name)``
    with empty arguments, or a complete part that will get no deltas."""


@dataclass(frozen=True, slots=True)
class TextDelta:
    text: str


@dataclass(frozen=True, slots=True)
class ThinkingDelta:
    text: str


@dataclass(frozen=True, slots=True)
class SignatureDelta:
    """Replaces (does not append to) the thinking part's signature."""

    signature: str
    protocol: str


@dataclass(frozen=True, slots=True)
class ToolArgumentsDelta:
    """A fragment of the tool call's arguments JSON text; fragments concatenate to the object."""

    json_fragment: str


Delta = TextDelta | ThinkingDelta | SignatureDelta | ToolArgumentsDelta


@dataclass(frozen=True, slots=True)
class PartDelta:
    index: int
    delta: Delta


@dataclass(frozen=True, slots=True)
class PartEnd:
    index: int


@dataclass(frozen=True, slots=True)
class ResponseEnd:
    finish_reason: FinishReason | None
    usage: Usage
    stop_sequence: str | None = None


@dataclass(frozen=True, slots=True)
class StreamError:
    status: int
    code: str
    message: str


StreamEvent = ResponseStart | PartStart | PartDelta | PartEnd | ResponseEnd | StreamError
