"""Protocol-neutral decision of what the simulator answers.

Each vendor module decodes its wire request into a `TurnRequest`; `plan_reply` turns that plus
the directives into a `ReplyPlan` (thinking, text, tool calls, finish reason, usage, and how the
text is cut into stream deltas); the vendor module then encodes the plan. Everything here is
deterministic: the same request bytes give the same plan, ids included.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass

import orjson

from bytespike.simulator.directives import Directives, Pacing
from bytespike.simulator.schema_example import example_object

ECHO_WORDS = 12
"""How many words of the caller's text the reply repeats."""
THINKING_WORDS_MAX = 32
"""Thinking text shown is at most this long; the reported reasoning tokens can be larger."""
THINKING_CHUNKS = 4
ARGUMENT_FRAGMENTS = 3
"""Tool-argument JSON is streamed in this many pieces (where the protocol streams it)."""

_FILLER = ("alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel")
"""Words that pad a reply to the length a ``words`` directive asks for."""
_PIECE_RE = re.compile(r"\S+\s*|\s+")


class FinishReason(enum.Enum):
    """Why the turn ended; each vendor module maps it to its own enum."""

    END = "end"
    TOOL_USE = "tool_use"
    MAX_TOKENS = "max_tokens"
    STOP_SEQUENCE = "stop_sequence"


@dataclass(frozen=True, slots=True)
class OfferedTool:
    """A function tool the caller offered."""

    name: str
    parameters: Mapping[str, object] | None
    """JSON schema (or Gemini's OpenAPI subset) of the arguments, when given."""


@dataclass(frozen=True, slots=True)
class TurnRequest:
    """The parts of a vendor request that decide the answer."""

    model: str
    stream: bool
    user_text: str
    """Text of the caller's final turn (everything after the last assistant turn), directives
    still included."""
    tool_result_text: str | None = None
    """Text of the tool results in the final turn; None when it holds no tool result."""
    tools: tuple[OfferedTool, ...] = ()
    tools_disabled: bool = False
    """The caller's tool choice forbids tool calls."""
    forced_tool: str | None = None
    """The caller's tool choice names this tool."""
    max_tokens: int | None = None
    stop_sequences: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ToolCallPlan:
    """One tool call of the reply."""

    id_suffix: str
    """Unique per request; vendors prefix it (``toolu_``, ``call_``, ``fc_``)."""
    name: str
    arguments: dict[str, object]
    arguments_json: str
    argument_fragments: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class UsagePlan:
    """Token counts of the reply, in the normalized sense of `bytespike.canonical.usage`."""

    uncached_input_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    output_tokens: int
    """Everything generated, reasoning included."""
    reasoning_tokens: int

    @property
    def input_tokens(self) -> int:
        """All prompt tokens, cached or not."""
        return self.uncached_input_tokens + self.cache_read_tokens + self.cache_write_tokens

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens


@dataclass(frozen=True, slots=True)
class ReplyPlan:
    """Everything a vendor encoder needs to answer one request."""

    key: str
    """Hex digest of the request body; seeds every id."""
    model: str
    thinking: str
    thinking_chunks: tuple[str, ...]
    signature: str
    """Opaque base64 signature for the thinking part."""
    text: str
    text_chunks: tuple[str, ...]
    tool_calls: tuple[ToolCallPlan, ...]
    finish: FinishReason
    stop_sequence: str | None
    usage: UsagePlan


def request_key(body: bytes) -> str:
    return hashlib.blake2b(body, digest_size=6).hexdigest()


def input_tokens_for(body_size: int, directives: Directives) -> int:
    """Uncached prompt tokens: the ``input`` directive, else a quarter of the body bytes."""
    if directives.input is not None:
        return directives.input
    return max(1, body_size // 4)


def plan_reply(request: TurnRequest, directives: Directives, pacing: Pacing, body: bytes) -> ReplyPlan:
    """Decide the whole answer to ``request`` (see module docstring)."""
    key = request_key(body)
    echo = request.user_text.split()[:ECHO_WORDS]
    calls = _choose_tools(request, directives)

    if calls:
        sentence = f"Hello from {request.model}. Calling {', '.join(tool.name for tool in calls)}."
    elif request.tool_result_text is not None:
        result_words = request.tool_result_text.split()[:ECHO_WORDS]
        sentence = f"Hello from {request.model}. The tool returned: {' '.join(result_words) or '(nothing)'}"
    else:
        sentence = f"Hello from {request.model}. You said: {' '.join(echo) or '(nothing)'}"
    words = _fit(sentence.split(), pacing.words)

    finish = FinishReason.TOOL_USE if calls else FinishReason.END
    stop_sequence: str | None = None
    if request.max_tokens is not None and len(words) > request.max_tokens:
        words = words[: request.max_tokens]
        calls = []
        finish = FinishReason.MAX_TOKENS
    text = " ".join(words)
    if finish is not FinishReason.MAX_TOKENS:
        hit = _first_stop_sequence(text, request.stop_sequences)
        if hit is not None:
            text = text[: text.find(hit)]
            calls = []
            finish, stop_sequence = FinishReason.STOP_SEQUENCE, hit
    if directives.stop is not None:
        calls = []
        finish, stop_sequence = FinishReason.STOP_SEQUENCE, directives.stop
    if directives.max_tokens_stop:
        calls = []
        finish, stop_sequence = FinishReason.MAX_TOKENS, None

    thinking = ""
    if directives.reasoning:
        thinking_words = _fit(
            ["Let", "me", "think", "about", *echo], min(directives.reasoning, THINKING_WORDS_MAX)
        )
        thinking = " ".join(thinking_words)

    tool_calls = tuple(_tool_call(tool, f"{key}_{index}") for index, tool in enumerate(calls))
    output_tokens = (
        len(text.split())
        + sum(max(1, len(call.arguments_json) // 4) for call in tool_calls)
        + directives.reasoning
    )
    usage = UsagePlan(
        uncached_input_tokens=input_tokens_for(len(body), directives),
        cache_read_tokens=directives.cache_read,
        cache_write_tokens=directives.cache_write,
        output_tokens=output_tokens,
        reasoning_tokens=directives.reasoning,
    )
    return ReplyPlan(
        key=key,
        model=request.model,
        thinking=thinking,
        thinking_chunks=split_text(thinking, min(THINKING_CHUNKS, len(thinking.split())) or None),
        signature=_signature(key, thinking) if thinking else "",
        text=text,
        text_chunks=split_text(text, pacing.chunks),
        tool_calls=tool_calls,
        finish=finish,
        stop_sequence=stop_sequence,
        usage=usage,
    )


def split_text(text: str, count: int | None) -> tuple[str, ...]:
    """Cut ``text`` into ``count`` non-empty deltas (None: one per word) that join back to it.

    Cuts fall between words while there are enough words, otherwise between characters; never
    more deltas than characters.
    """
    if not text:
        return ()
    pieces = _PIECE_RE.findall(text)
    if count is None:
        return tuple(pieces)
    if count <= len(pieces):
        return tuple("".join(group) for group in _even_groups(pieces, count))
    return tuple("".join(group) for group in _even_groups(list(text), min(count, len(text))))


def split_fragments(text: str, count: int) -> tuple[str, ...]:
    """Cut ``text`` into at most ``count`` non-empty pieces of near-equal length."""
    if not text:
        return ()
    return tuple("".join(group) for group in _even_groups(list(text), min(count, len(text))))


def _even_groups(items: list[str], count: int) -> list[list[str]]:
    size, extra = divmod(len(items), count)
    groups: list[list[str]] = []
    start = 0
    for index in range(count):
        end = start + size + (1 if index < extra else 0)
        groups.append(items[start:end])
        start = end
    return groups


def _fit(words: list[str], count: int | None) -> list[str]:
    """Truncate or pad (with filler words) to exactly ``count`` words; None keeps them."""
    if count is None:
        return words
    if count <= len(words):
        return words[:count]
    return words + [_FILLER[index % len(_FILLER)] for index in range(count - len(words))]


def _choose_tools(request: TurnRequest, directives: Directives) -> list[OfferedTool]:
    """Tools called this turn: by default the first offered tool, unless answering a tool result."""
    if not request.tools or directives.no_tool:
        return []
    insisted = directives.tool or directives.parallel is not None
    if request.tools_disabled and not insisted:
        return []
    if request.tool_result_text is not None and not insisted:
        return []
    ordered = list(request.tools)
    forced = next((tool for tool in ordered if tool.name == request.forced_tool), None)
    if forced is not None:
        ordered.remove(forced)
        ordered.insert(0, forced)
    count = directives.parallel or 1
    return [ordered[index % len(ordered)] for index in range(count)]


def _tool_call(tool: OfferedTool, id_suffix: str) -> ToolCallPlan:
    arguments = example_object(tool.parameters) if tool.parameters else {}
    arguments_json = orjson.dumps(arguments).decode()
    return ToolCallPlan(
        id_suffix=id_suffix,
        name=tool.name,
        arguments=arguments,
        arguments_json=arguments_json,
        argument_fragments=split_fragments(arguments_json, ARGUMENT_FRAGMENTS),
    )


def _first_stop_sequence(text: str, stop_sequences: tuple[str, ...]) -> str | None:
    best: tuple[int, str] | None = None
    for sequence in stop_sequences:
        if not sequence:
            continue
        position = text.find(sequence)
        if position >= 0 and (best is None or position < best[0]):
            best = (position, sequence)
    return None if best is None else best[1]


def _signature(key: str, thinking: str) -> str:
    digest = hashlib.blake2b(f"{key}:{thinking}".encode(), digest_size=48).digest()
    return base64.b64encode(digest).decode()
