"""A protocol-neutral model request: what every decoder produces and every encoder consumes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from bytespike.canonical.parts import CacheControl, Part, TextPart

Role = Literal["user", "assistant", "system"]

STANDARD_SERVICE_TIERS = frozenset({"auto", "default"})
"""Service tiers that ask for what every vendor does unasked (standard processing): a vendor
without tiers loses nothing by omitting them."""


@dataclass(frozen=True, slots=True)
class Message:
    """One turn. Tool results travel in ``user`` messages as `ToolResultPart`s; a ``system``
    message inside the history (Anthropic mid-conversation system, OpenAI ``developer``/``system``
    after the first turn) keeps its position."""

    role: Role
    parts: tuple[Part, ...]


@dataclass(frozen=True, slots=True)
class ToolDefinition:
    name: str
    description: str | None = None
    parameters: dict[str, Any] | None = None
    """JSON Schema of the arguments object."""
    strict: bool | None = None
    cache_control: CacheControl | None = None


@dataclass(frozen=True, slots=True)
class ToolChoice:
    mode: Literal["auto", "none", "required", "tool"] = "auto"
    name: str | None = None
    """The forced function when ``mode == "tool"``."""
    parallel: bool | None = None
    """False disables parallel calls; None is the vendor default."""


@dataclass(frozen=True, slots=True)
class ResponseFormat:
    kind: Literal["text", "json_object", "json_schema"] = "text"
    schema: dict[str, Any] | None = None
    name: str | None = None
    strict: bool | None = None


@dataclass(frozen=True, slots=True)
class Reasoning:
    """Thinking/reasoning controls, as effort and/or token budget."""

    enabled: bool | None = None
    """False: explicitly off. None: vendor default."""
    effort: str | None = None
    """``minimal|low|medium|high|xhigh|max`` (OpenAI/Anthropic effort, Gemini thinkingLevel)."""
    budget_tokens: int | None = None
    include_thoughts: bool | None = None
    """Return thought text (Gemini includeThoughts; Anthropic display)."""


@dataclass(frozen=True, slots=True)
class Request:
    model: str
    messages: tuple[Message, ...]
    system: tuple[TextPart, ...] = ()
    """Leading system instructions (Anthropic ``system``, OpenAI first system/developer messages,
    Gemini ``systemInstruction``, Responses ``instructions``)."""
    tools: tuple[ToolDefinition, ...] = ()
    tool_choice: ToolChoice | None = None
    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    stop: tuple[str, ...] = ()
    stream: bool = False
    response_format: ResponseFormat | None = None
    reasoning: Reasoning | None = None
    user_id: str | None = None
    """Anthropic ``metadata.user_id`` / OpenAI ``user``/``safety_identifier``."""
    cache_control: CacheControl | None = None
    """Anthropic top-level automatic cache breakpoint."""
    service_tier: str | None = None
    """Processing tier in OpenAI's words (``auto``, ``default``, ``flex``, ``scale``,
    ``priority``); each encoder maps it to its vendor's tiers or reports it."""
    extras: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Fields only one protocol understands, keyed by protocol name; sent back only there."""
