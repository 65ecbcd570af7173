"""Canonical messages → Anthropic ``messages``, shaped to the API's turn rules (protocols.md §1.3).

Per part: a foreign or unsigned thinking block is dropped (Anthropic rejects signatures it did
not issue: ding113/claude-code-hub #518), tool ids are sanitized, empty text is never sent.
Per conversation: empty turns vanish, consecutive same-role turns are merged, a blank-only text
block is dropped, an inline ``system`` message stays only where Anthropic accepts one (after a
user turn, followed by an assistant turn or last) and is hoisted into ``system`` otherwise, and
every user turn lists its ``tool_result`` blocks first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, assert_never

from bytespike.canonical.degradation import Degradations
from bytespike.canonical.parts import (
    MediaPart,
    OpaquePart,
    Part,
    TextPart,
    ThinkingPart,
    ToolCallPart,
    ToolResultPart,
)
from bytespike.canonical.request import Message
from bytespike.protocols.anthropic_messages import NAME
from bytespike.protocols.anthropic_messages.blocks import (
    BlockFields,
    encode_cache_control,
    encode_media,
    encode_text,
    with_provider_fields,
)
from bytespike.protocols.anthropic_messages.fields import with_leftovers
from bytespike.protocols.anthropic_messages.tool_ids import sanitize_tool_id
from bytespike.protocols.anthropic_messages.versions import V2026_10_21

Block = tuple[str, dict[str, Any]]
"""A wire block with the canonical path it came from (for degradation reports)."""


@dataclass(slots=True)
class Turn:
    """A wire message being shaped."""

    role: str
    """``user``, ``assistant`` or ``system`` (inline)."""
    blocks: list[Block]


@dataclass(slots=True)
class MessageEncoder:
    """Encodes one request's messages; holds what every part needs."""

    deg: Degradations
    version: str
    part_fields: dict[str, BlockFields]
    """Leftovers of media and tool-result blocks from the Anthropic decoder, keyed ``"i.j"``."""

    def encode(self, messages: tuple[Message, ...]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """(system blocks hoisted out of misplaced inline system turns, wire messages)."""
        turns: list[Turn] = []
        for i, m in enumerate(messages):
            blocks = []
            for j, part in enumerate(m.parts):
                path = f"messages[{i}].content[{j}]"
                if (block := self._part(part, path, f"{i}.{j}", m.role)) is not None:
                    blocks.append((path, block))
            turns.append(Turn(m.role, blocks))
        turns = _merged(turns)
        for t in turns:
            t.blocks = _without_blank_text(t.blocks)
        turns = _merged(turns)
        turns, hoisted = _placed_system(turns)
        turns = _merged(turns)
        for t in turns:
            if t.role == "user":
                # tool_result blocks first, text after them (protocols.md §1.3).
                t.blocks.sort(key=lambda b: b[1].get("type") != "tool_result")
        if turns and turns[-1].role == "assistant":
            self._trim_prefill(turns[-1])
        wire = [{"role": t.role, "content": [b for _, b in t.blocks]} for t in turns if t.blocks]
        return hoisted, wire

    def _part(self, part: Part, path: str, key: str, role: str) -> dict[str, Any] | None:
        deg = self.deg
        if role == "system" and not isinstance(part, TextPart):
            deg.drop(path, "an Anthropic system message holds only text")
            return None
        match part:
            case TextPart():
                return encode_text(
                    part, path, deg, citations_allowed=role != "user" or self.version < V2026_10_21
                )
            case MediaPart():
                if role == "assistant" and part.kind == "document" and self.version >= V2026_10_21:
                    deg.drop(path, "Anthropic 2026-10-21 rejects documents in assistant turns")
                    return None
                return with_leftovers(
                    encode_media(part, path, deg), self.part_fields.get(key, {}).get("fields")
                )
            case ThinkingPart():
                return self._thinking(part, path, role)
            case ToolCallPart():
                if role != "assistant":
                    deg.drop(path, "a tool call belongs in an assistant turn")
                    return None
                out: dict[str, Any] = {
                    "type": "tool_use",
                    "id": sanitize_tool_id(part.id),
                    "name": part.name,
                    "input": part.arguments,
                }
                if part.cache_control is not None:
                    out["cache_control"] = encode_cache_control(part.cache_control, f"{path}.cache_control", deg)
                return with_provider_fields(out, part.provider_data)
            case ToolResultPart():
                if role != "user":
                    deg.drop(path, "a tool result belongs in a user turn")
                    return None
                return self._tool_result(part, path, self.part_fields.get(key, {}))
            case OpaquePart():
                if part.protocol == NAME:
                    return part.data
                deg.drop(path, f"a {part.protocol} block has no Anthropic form")
                return None
            case _:
                assert_never(part)

    def _thinking(self, part: ThinkingPart, path: str, role: str) -> dict[str, Any] | None:
        if role != "assistant":
            self.deg.drop(f"{path}.thinking", "thinking belongs in an assistant turn")
            return None
        if part.signature_protocol != NAME or not part.signature:
            # Anthropic verifies signatures and rejects foreign, forged or empty ones
            # (protocols.md §5.7; ding113/claude-code-hub #518, openclaw/openclaw #91205).
            why = f"signed by {part.signature_protocol}" if part.signature_protocol else "unsigned"
            self.deg.drop(f"{path}.thinking", f"Anthropic rejects thinking {why}")
            return None
        if part.redacted:
            return with_provider_fields(
                {"type": "redacted_thinking", "data": part.signature}, part.provider_data
            )
        out = {"type": "thinking", "thinking": part.text, "signature": part.signature}
        return with_provider_fields(out, part.provider_data)

    def _tool_result(self, part: ToolResultPart, path: str, fields: BlockFields) -> dict[str, Any]:
        content: list[dict[str, Any]] = []
        for k, sub in enumerate(part.content):
            sub_path = f"{path}.content[{k}]"
            if isinstance(sub, TextPart):
                if (block := encode_text(sub, sub_path, self.deg)) is not None:
                    content.append(block)
            else:
                content.append(encode_media(sub, sub_path, self.deg))
        for position, block in fields.get("extra_content", ()):
            content.insert(min(position, len(content)), block)
        out: dict[str, Any] = {"type": "tool_result", "tool_use_id": sanitize_tool_id(part.tool_call_id)}
        if content:
            out["content"] = content
        if part.is_error:
            out["is_error"] = True
        if part.cache_control is not None:
            out["cache_control"] = encode_cache_control(part.cache_control, f"{path}.cache_control", self.deg)
        return with_leftovers(out, fields.get("fields"))

    def _trim_prefill(self, turn: Turn) -> None:
        # "final assistant content cannot end with trailing whitespace" (Anthropic prefill rule).
        path, block = turn.blocks[-1]
        if block.get("type") == "text" and block["text"] != block["text"].rstrip():
            self.deg.drop(f"{path}.text", "Anthropic rejects trailing whitespace in a prefill; trimmed")
            if stripped := block["text"].rstrip():
                turn.blocks[-1] = (path, {**block, "text": stripped})
            else:
                turn.blocks.pop()


def _merged(turns: list[Turn]) -> list[Turn]:
    """Empty turns dropped, consecutive same-role turns joined (protocols.md §5.1)."""
    out: list[Turn] = []
    for t in turns:
        if not t.blocks:
            continue
        if out and out[-1].role == t.role:
            out[-1].blocks.extend(t.blocks)
        else:
            out.append(Turn(t.role, list(t.blocks)))
    return out


def _without_blank_text(blocks: list[Block]) -> list[Block]:
    # Whitespace-only text is rejected when a turn has no other text ("text content blocks must
    # contain non-whitespace text", LibreChat-AI/agents PR #124).
    texts = [b for _, b in blocks if b.get("type") == "text"]
    if not texts or any(b["text"].strip() for b in texts):
        return blocks
    return [(p, b) for p, b in blocks if b.get("type") != "text"]


def _placed_system(turns: list[Turn]) -> tuple[list[Turn], list[dict[str, Any]]]:
    """Inline system turns where Anthropic accepts them; the others' blocks for ``system``.

    Accepted: not first, after a user turn (or an assistant turn ending in a server tool use),
    and last or followed by an assistant turn (maximhq/bifrost PR #3945)."""
    kept: list[Turn] = []
    hoisted: list[dict[str, Any]] = []
    for k, t in enumerate(turns):
        if t.role == "system":
            prev = kept[-1] if kept else None
            nxt = turns[k + 1] if k + 1 < len(turns) else None
            after_ok = prev is not None and (
                prev.role == "user" or prev.blocks[-1][1].get("type") == "server_tool_use"
            )
            if not (after_ok and (nxt is None or nxt.role == "assistant")):
                hoisted.extend(b for _, b in t.blocks)
                continue
        kept.append(t)
    return kept, hoisted


def continues_tool_turn_without_thinking(messages: list[dict[str, Any]]) -> bool:
    """True when the request answers tool calls of an assistant turn that does not start with a
    thinking block: Anthropic then rejects ``thinking: enabled`` ("Expected `thinking` or
    `redacted_thinking`, but found `tool_use`")."""
    if len(messages) < 2 or messages[-1]["role"] != "user" or messages[-2]["role"] != "assistant":
        return False
    if not any(b.get("type") == "tool_result" for b in messages[-1]["content"]):
        return False
    first = messages[-2]["content"][0].get("type")
    return first not in ("thinking", "redacted_thinking")
