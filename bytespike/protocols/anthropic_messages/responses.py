"""Anthropic ``Message`` bodies (protocols.md §1.6) ⇄ canonical `Response`.

`decode_response` reads an upstream answer; `encode_response` writes one for an Anthropic
caller from any upstream: ``msg_`` ids, ``stop_reason`` by table, usage in Anthropic's semantics
(input without cache tokens), thinking signed by another vendor sent with ``signature: ""``
(ENTERPILOT/GoModel PR #964) and other vendors' opaque blocks left out. What has no canonical
field (``stop_details``, ``container``, usage extras, the exact ``stop_reason`` when the table
folds it) is kept in ``Response.provider_data["anthropic_messages"]`` so an Anthropic answer
encodes back to itself.
"""

from __future__ import annotations

import re
import uuid
from typing import Any, assert_never

from bytespike.canonical.degradation import Degradations, drop_answer_part
from bytespike.canonical.parts import (
    MediaPart,
    OpaquePart,
    Part,
    TextPart,
    ThinkingPart,
    ToolCallPart,
    ToolResultPart,
)
from bytespike.canonical.response import FinishReason, Response
from bytespike.errors import GatewayError
from bytespike.protocols.anthropic_messages import NAME
from bytespike.protocols.anthropic_messages.blocks import decode_block, with_provider_fields
from bytespike.protocols.anthropic_messages.fields import leftovers
from bytespike.protocols.anthropic_messages.usage import decode_usage, encode_usage

FINISH_REASON_FROM_ANTHROPIC: dict[str | None, FinishReason | None] = {
    "end_turn": "stop",
    "max_tokens": "length",
    "stop_sequence": "stop_sequence",
    "tool_use": "tool_use",
    "pause_turn": "pause",
    "refusal": "refusal",
    "model_context_window_exceeded": "length",
    None: None,
}
"""Anthropic ``stop_reason`` → canonical (protocols.md §5.8); unknown values read as ``stop``."""

FINISH_REASON_TO_ANTHROPIC: dict[FinishReason | None, str] = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_use": "tool_use",
    "stop_sequence": "stop_sequence",
    "content_filter": "refusal",
    "refusal": "refusal",
    "pause": "pause_turn",
    "error": "end_turn",
    None: "end_turn",
}
"""Canonical → ``stop_reason``: an Anthropic client only knows the seven Anthropic values, so
nothing else is ever emitted (protocols.md §5.8). ``error`` only reaches here when a failed turn
is rendered as a message anyway; ``None`` (unknown) reads as a natural end."""

MESSAGE_FIELDS = ("id", "type", "role", "model", "content", "stop_reason", "stop_sequence", "usage")
_ID_CHARS = re.compile(r"[^a-zA-Z0-9_]")


def finish_reason_from(stop_reason: Any) -> FinishReason | None:
    return FINISH_REASON_FROM_ANTHROPIC.get(stop_reason, "stop")


def stop_reason_for(finish: FinishReason | None, has_tool_calls: bool, raw: Any = None) -> str:
    """The wire ``stop_reason``: ``raw`` when it maps to ``finish`` (keeps e.g.
    ``model_context_window_exceeded``), else the table; a natural end that asked for tools is
    ``tool_use`` whoever said it (Gemini reports STOP with function calls, protocols.md §5.13)."""
    if (
        isinstance(raw, str)
        and raw in FINISH_REASON_FROM_ANTHROPIC
        and FINISH_REASON_FROM_ANTHROPIC[raw] == finish
    ):
        return raw
    if finish in (None, "stop") and has_tool_calls:
        return "tool_use"
    return FINISH_REASON_TO_ANTHROPIC[finish]


def _has_tool_calls(parts: tuple[Part, ...] | list[Part]) -> bool:
    return any(isinstance(p, ToolCallPart) for p in parts)


def message_id(candidate: str, request_id: str) -> str:
    """``candidate`` when it already is an Anthropic ``msg_`` id, else one made from the
    gateway's request id (or random when there is none)."""
    if candidate.startswith("msg_"):
        return candidate
    return "msg_" + (_ID_CHARS.sub("", request_id) or uuid.uuid4().hex)


def decode_response(body: Any) -> Response:
    """An upstream Anthropic ``Message``; a malformed one is a 502 (the upstream's fault)."""
    if not isinstance(body, dict) or not isinstance(body.get("content"), list):
        raise GatewayError(502, "upstream_error", "upstream: the Anthropic message has no content list")
    parts = []
    try:
        for j, block in enumerate(body["content"]):
            part, _ = decode_block(block, f"content[{j}]")
            parts.append(part)
    except GatewayError as exc:
        raise GatewayError(502, "upstream_error", f"upstream: malformed message: {exc.message}") from exc
    raw_usage = body.get("usage") if isinstance(body.get("usage"), dict) else {}
    usage = decode_usage(raw_usage)
    finish = finish_reason_from(body.get("stop_reason"))
    extra: dict[str, Any] = {}
    if stop_reason_for(finish, _has_tool_calls(parts)) != body.get("stop_reason"):
        extra["stop_reason"] = body.get("stop_reason")
    if rest := leftovers(body, MESSAGE_FIELDS):
        extra["body"] = rest
    reproduced = encode_usage(usage)
    if changed := {k: v for k, v in raw_usage.items() if reproduced.get(k, ...) != v}:
        extra["usage"] = changed
    if absent := [k for k in reproduced if k not in raw_usage]:
        extra["usage_absent"] = absent
    stop_sequence = body.get("stop_sequence")
    return Response(
        id=str(body.get("id") or ""),
        model=str(body.get("model") or ""),
        parts=tuple(parts),
        finish_reason=finish,
        usage=usage,
        stop_sequence=stop_sequence if isinstance(stop_sequence, str) else None,
        provider_data={NAME: extra} if extra else {},
    )


def encode_content(
    parts: tuple[Part, ...] | list[Part], request_id: str, deg: Degradations | None = None
) -> list[dict[str, Any]]:
    """Response content blocks; parts an Anthropic message cannot hold are left out (reported to
    ``deg`` when it is given, except another vendor's redacted thinking: vendor state)."""
    out = []
    for k, part in enumerate(parts):
        if (block := encode_response_part(part, f"{request_id}_{k}")) is not None:
            out.append(block)
        elif isinstance(part, MediaPart | OpaquePart):
            drop_answer_part(deg, k, part, NAME)
    return out


def encode_response_part(part: Part, fallback_id: str) -> dict[str, Any] | None:
    match part:
        case TextPart():
            return with_provider_fields({"type": "text", "text": part.text}, part.provider_data)
        case ThinkingPart():
            own = part.signature_protocol == NAME and part.signature
            if part.redacted:
                return {"type": "redacted_thinking", "data": part.signature} if own else None
            # Another vendor's signature means nothing here: send "" as Anthropic itself does in
            # content_block_start (protocols.md §5.7), and the request side strips it later.
            block = {"type": "thinking", "thinking": part.text, "signature": part.signature if own else ""}
            return with_provider_fields(block, part.provider_data)
        case ToolCallPart():
            tool_id = part.id or "toolu_" + _ID_CHARS.sub("", fallback_id)
            block = {"type": "tool_use", "id": tool_id, "name": part.name, "input": part.arguments}
            return with_provider_fields(block, part.provider_data)
        case OpaquePart():
            return part.data if part.protocol == NAME else None
        case MediaPart() | ToolResultPart():
            return None  # no such block in an Anthropic answer
        case _:
            assert_never(part)


def encode_response(
    resp: Response, *, model: str, request_id: str, deg: Degradations | None = None
) -> dict[str, Any]:
    """A complete non-streamed ``Message`` for an Anthropic caller; ``deg`` hears of the parts
    it cannot hold."""
    extra: dict[str, Any] = resp.provider_data.get(NAME, {})
    usage = encode_usage(resp.usage)
    usage.update(extra.get("usage", {}))
    for key in extra.get("usage_absent", ()):
        usage.pop(key, None)
    stop_reason: str | None = stop_reason_for(
        resp.finish_reason, _has_tool_calls(resp.parts), extra.get("stop_reason")
    )
    if resp.finish_reason is None and "stop_reason" in extra and extra["stop_reason"] is None:
        stop_reason = None  # an upstream message that really said null
    body: dict[str, Any] = {
        "id": message_id(resp.id, request_id),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": encode_content(resp.parts, request_id, deg),
        "stop_reason": stop_reason,
        "stop_sequence": resp.stop_sequence if stop_reason == "stop_sequence" else None,
        "usage": usage,
    }
    for key, value in extra.get("body", {}).items():
        body.setdefault(key, value)
    return body
