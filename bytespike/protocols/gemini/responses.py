"""Gemini ``GenerateContentResponse`` ↔ canonical `Response`, and the finish-reason tables.

Only the first candidate is canonical. Response fields with no canonical slot (``safetyRatings``,
``citationMetadata``, ``promptFeedback``, further candidates, the exact ``usageMetadata`` and
``finishReason``…) are kept in ``Response.provider_data["gemini"]`` so `encode_response` gives a
Gemini response back unchanged; a response from another protocol gets plain defaults.
``responseId`` is the gateway's request id and ``modelVersion`` the model the caller asked for.

Round-trip normalizations: ``responseId``/``modelVersion`` are the ones passed to
`encode_response`; function calls without ``id`` keep having none; a non-string scalar ``error`` in
a ``functionResponse`` becomes a string.
"""

from __future__ import annotations

from typing import Any

from bytespike.canonical.degradation import Degradations, drop_answer_part
from bytespike.canonical.parts import MediaPart, OpaquePart, Part, ToolCallPart, ToolResultPart
from bytespike.canonical.response import FinishReason, Response
from bytespike.errors import GatewayError
from bytespike.protocols.gemini import NAME
from bytespike.protocols.gemini.casing import camel_keys
from bytespike.protocols.gemini.contents import PART_EXTRAS
from bytespike.protocols.gemini.ids import derive_tool_call_id, response_scope
from bytespike.protocols.gemini.parts import data_field, decode_part, encode_part, merge_extra
from bytespike.protocols.gemini.usage import decode_usage, encode_usage

FINISH_REASON_FROM_GEMINI: dict[str, FinishReason] = {
    "FINISH_REASON_UNSPECIFIED": "stop",
    "STOP": "stop",
    "MAX_TOKENS": "length",
    "SAFETY": "content_filter",
    "RECITATION": "content_filter",
    "LANGUAGE": "content_filter",
    "OTHER": "content_filter",
    "BLOCKLIST": "content_filter",
    "PROHIBITED_CONTENT": "content_filter",
    "SPII": "content_filter",
    "IMAGE_SAFETY": "content_filter",
    "IMAGE_PROHIBITED_CONTENT": "content_filter",
    "IMAGE_OTHER": "content_filter",
    "IMAGE_RECITATION": "content_filter",
    "NO_IMAGE": "content_filter",
    "MODEL_ARMOR": "content_filter",
    "ESCALATION": "content_filter",
    "PUP_LIMITED_DISABLED": "content_filter",
    # The model failed to produce a usable call; LiteLLM and protocols.md §5.8 finish as "stop".
    "MALFORMED_FUNCTION_CALL": "stop",
    "UNEXPECTED_TOOL_CALL": "stop",
    "TOO_MANY_TOOL_CALLS": "stop",
    "MISSING_THOUGHT_SIGNATURE": "stop",
    "MALFORMED_RESPONSE": "stop",
    # The turn continues in a follow-up request (continuation_token), like Anthropic pause_turn.
    "CONTINUATION": "pause",
}
"""Gemini ``finishReason`` → canonical (protocols.md §5.8); unknown values finish as ``stop``.
A turn with ``functionCall`` parts ends with ``STOP`` and is canonically ``tool_use``."""

FINISH_REASON_TO_GEMINI: dict[FinishReason, str] = {
    "stop": "STOP",
    "length": "MAX_TOKENS",
    "tool_use": "STOP",
    "stop_sequence": "STOP",
    "content_filter": "SAFETY",
    "refusal": "SAFETY",
    "pause": "OTHER",
    "error": "OTHER",
}
"""Canonical finish reason → Gemini ``finishReason`` (protocols.md §5.8 "→G" column)."""

_TOP_LEVEL = ("candidates", "usageMetadata", "modelVersion", "responseId")


def finish_reason_from_gemini(value: str | None, has_tool_calls: bool) -> FinishReason | None:
    if value is None:
        return None
    reason = FINISH_REASON_FROM_GEMINI.get(value, "stop")
    # A function-call turn ends with STOP; tool use shows only in the parts (protocols.md §4.3).
    return "tool_use" if reason == "stop" and has_tool_calls else reason


def decode_candidate_parts(
    raw_parts: Any, response_id: str, path: str, first_call: int = 0
) -> tuple[list[Part], dict[str, Any]]:
    """(canonical parts, set-aside part fields keyed by position) of a candidate's content parts;
    function calls without an id get one derived from ``response_id`` and their ordinal in the
    response (``first_call`` = calls seen in earlier stream chunks)."""
    if not isinstance(raw_parts, list):
        raise GatewayError(502, "upstream_error", f"upstream Gemini response: {path} must be an array")
    parts: list[Part] = []
    extras: dict[str, Any] = {}
    calls = first_call
    for j, raw in enumerate(raw_parts):
        try:
            part, extra = decode_part(raw, f"{path}[{j}]")
        except GatewayError as exc:
            raise GatewayError(502, "upstream_error", f"upstream Gemini response: {exc.message}") from exc
        if isinstance(part, ToolCallPart):
            if not part.id:
                part = ToolCallPart(
                    derive_tool_call_id(response_scope(response_id, calls), part.name),
                    part.name,
                    part.arguments,
                    part.provider_data,
                )
            calls += 1
        if extra:
            extras[str(j)] = {"field": data_field(camel_keys(raw)), "extra": extra}
        parts.append(part)
    return parts, extras


def decode_response(body: dict[str, Any]) -> Response:
    """A non-streamed Gemini response → canonical `Response` (502 if it is malformed)."""
    if not isinstance(body, dict):
        raise GatewayError(502, "upstream_error", "upstream Gemini response is not a JSON object")
    body = camel_keys(body)
    response_id = str(body.get("responseId") or "")
    kept: dict[str, Any] = {}
    rest = {key: value for key, value in body.items() if key not in _TOP_LEVEL}
    if rest:
        kept["response"] = rest
    if isinstance(body.get("usageMetadata"), dict):
        kept["usageMetadata"] = body["usageMetadata"]
    candidates = body.get("candidates") or []
    parts: list[Part] = []
    if not candidates:
        kept["noCandidates"] = True
        # A prompt blocked before generation: no candidates, promptFeedback.blockReason (§4.3).
        blocked = isinstance(rest.get("promptFeedback"), dict) and rest["promptFeedback"].get("blockReason")
        finish_reason: FinishReason | None = "content_filter" if blocked else None
    else:
        candidate = candidates[0]
        if not isinstance(candidate, dict):
            raise GatewayError(
                502, "upstream_error", "upstream Gemini response: candidates[0] is not an object"
            )
        candidate = camel_keys(candidate)
        if len(candidates) > 1:
            kept["moreCandidates"] = candidates[1:]
        content = candidate.get("content")
        if isinstance(content, dict):
            content = camel_keys(content)
            parts, part_extras = decode_candidate_parts(
                content.get("parts", []), response_id, "candidates[0].content.parts"
            )
            if part_extras:
                kept[PART_EXTRAS] = part_extras
            kept["content"] = {k: ([] if k == "parts" else v) for k, v in content.items()}
        else:
            kept["content"] = None
        kept["candidate"] = {k: v for k, v in candidate.items() if k not in ("content", "finishReason")}
        raw_finish = candidate.get("finishReason")
        if raw_finish is not None:
            kept["finishReason"] = raw_finish
        has_calls = any(isinstance(p, ToolCallPart) for p in parts)
        finish_reason = finish_reason_from_gemini(raw_finish, has_calls)
    return Response(
        id=response_id,
        model=str(body.get("modelVersion") or ""),
        parts=tuple(parts),
        finish_reason=finish_reason,
        usage=decode_usage(body.get("usageMetadata")),
        provider_data={NAME: kept},
    )


def encode_candidate_parts(
    parts: tuple[Part, ...], part_extras: dict[str, Any], deg: Degradations | None = None
) -> list[dict[str, Any]]:
    """Wire parts for a Gemini client (foreign thinking signatures wrapped, `signatures`);
    ``deg`` hears of the parts Gemini cannot show (other vendors' blocks, unreadable media)."""
    out = []
    for j, part in enumerate(parts):
        if isinstance(part, ToolResultPart):
            continue  # a model never answers its own tool call
        wire = encode_part(part, f"parts[{j}]", None)
        if wire is None:
            if isinstance(part, MediaPart | OpaquePart):
                drop_answer_part(deg, j, part, NAME)
            continue
        saved = part_extras.get(str(j))
        if isinstance(saved, dict) and saved.get("field") == data_field(wire):
            wire = merge_extra(wire, saved.get("extra") or {})
        out.append(wire)
    return out


def encode_finish_reason(reason: FinishReason | None, original: Any, has_tool_calls: bool) -> str | None:
    if isinstance(original, str) and finish_reason_from_gemini(original, has_tool_calls) == reason:
        return original
    return FINISH_REASON_TO_GEMINI[reason] if reason is not None else None


def encode_response(
    resp: Response, *, model: str, request_id: str, deg: Degradations | None = None
) -> dict[str, Any]:
    """A complete ``GenerateContentResponse`` for ``resp`` (``responseId`` = ``request_id``);
    ``deg`` hears of the parts it cannot show."""
    kept: dict[str, Any] = resp.provider_data.get(NAME) or {}
    parts = encode_candidate_parts(resp.parts, kept.get(PART_EXTRAS) or {}, deg)
    has_calls = any(isinstance(p, ToolCallPart) for p in resp.parts)
    finish = encode_finish_reason(resp.finish_reason, kept.get("finishReason"), has_calls)
    body: dict[str, Any] = {}
    if not (kept.get("noCandidates") and not parts):
        candidate: dict[str, Any] = dict(kept["candidate"]) if "candidate" in kept else {"index": 0}
        content = _content(parts, kept, resp.finish_reason)
        if content is not None:
            candidate["content"] = content
        if finish is not None:
            candidate["finishReason"] = finish
        body["candidates"] = [candidate, *(kept.get("moreCandidates") or [])]
    body.update(kept.get("response") or {})
    original_usage = kept.get("usageMetadata")
    if isinstance(original_usage, dict) and decode_usage(original_usage) == resp.usage:
        body["usageMetadata"] = original_usage
    else:
        body["usageMetadata"] = encode_usage(resp.usage)
    body["modelVersion"] = model
    body["responseId"] = request_id
    return body


def _content(parts: list[dict[str, Any]], kept: dict[str, Any], reason: FinishReason | None) -> Any:
    if "content" in kept:
        template = kept["content"]
        if template is None and not parts:
            return None
        content = dict(template or {"role": "model"})
        if parts or "parts" in content:
            content["parts"] = parts
        return content
    if parts:
        return {"role": "model", "parts": parts}
    if reason == "content_filter":
        # Gemini sends a blocked candidate without content.
        return None
    # The SDK's chat history records a turn only when its content has a non-empty part.
    return {"role": "model", "parts": [{"text": ""}]}
