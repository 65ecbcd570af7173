"""OpenAI Chat ``chat.completion`` bodies ↔ canonical `Response`, and the finish-reason tables.

The first choice becomes the response: ``reasoning_content`` (DeepSeek; ``reasoning`` from
OpenRouter/vLLM) → `ThinkingPart`, ``content`` → `TextPart`, ``refusal`` → a refusal-marked
`TextPart`, ``tool_calls`` → `ToolCallPart`s. Everything else (``created``, ``system_fingerprint``,
``logprobs``, ``annotations``, further choices, the raw finish reason and usage object) is kept in
``provider_data["openai_chat"]`` so the same body comes back; ``reasoning`` is written back as
``reasoning_content``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import replace
from typing import Any, assert_never

from bytespike.canonical.degradation import Degradations, drop_answer_part
from bytespike.canonical.parts import (
    MediaPart,
    OpaquePart,
    Part,
    ProviderData,
    TextPart,
    ThinkingPart,
    ToolCallPart,
    ToolResultPart,
)
from bytespike.canonical.response import FinishReason, Response
from bytespike.errors import GatewayError
from bytespike.protocols.openai_chat import NAME
from bytespike.protocols.openai_chat.content import decode_user_part, encode_media_part
from bytespike.protocols.openai_chat.messages import REASONING_CONTENT
from bytespike.protocols.openai_chat.tool_calls import (
    decode_function_call,
    decode_tool_call,
    encode_tool_call,
    wire_data,
)
from bytespike.protocols.openai_chat.usage import decode_usage, encode_usage

FINISH_REASON_FROM_OPENAI_CHAT: dict[str, FinishReason] = {
    "stop": "stop",
    "length": "length",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "content_filter": "content_filter",
    # DeepSeek: "the request is interrupted due to insufficient resource of the inference system".
    "insufficient_system_resource": "error",
}
"""Unknown values read as ``stop`` (LiteLLM's default, protocols.md §5.8)."""
FINISH_REASON_TO_OPENAI_CHAT: dict[FinishReason, str] = {
    "stop": "stop",
    "length": "length",
    "tool_use": "tool_calls",
    "stop_sequence": "stop",
    "content_filter": "content_filter",
    "refusal": "content_filter",
    "pause": "stop",
    "error": "stop",
}
REFUSAL_FIELD = ProviderData(NAME, {"refusal": "field"})
_MESSAGE_FIELDS = ("content", "refusal", "reasoning_content", "reasoning", "tool_calls", "function_call")


def upstream_malformed(message: str, path: str) -> GatewayError:
    """A 502: the upstream's answer does not have the shape OpenAI Chat promises."""
    return GatewayError(502, "upstream_error", f"upstream: malformed chat completion: {message}", param=path)


def decode_finish_reason(raw: Any) -> FinishReason | None:
    return FINISH_REASON_FROM_OPENAI_CHAT.get(raw, "stop") if raw else None


def encode_finish_reason(finish: FinishReason | None, *, has_tool_calls: bool) -> str:
    """``finish_reason`` for the caller; a turn that called tools says so even if the upstream
    (e.g. Gemini, whose ``STOP`` covers both) reported a plain stop (protocols.md §5.13)."""
    if finish in (None, "stop") and has_tool_calls:
        return "tool_calls"
    return FINISH_REASON_TO_OPENAI_CHAT[finish] if finish is not None else "stop"


def restore_tool_name(part: ToolCallPart, tool_names: Mapping[str, str] | None) -> ToolCallPart:
    """Undo `encode_tool_name`'s rewrite (``tool_names`` from `identifiers.tool_name_map`)."""
    if tool_names and part.name in tool_names:
        return replace(part, name=tool_names[part.name])
    return part


def _message_parts(
    message: dict[str, Any], tool_names: Mapping[str, str] | None
) -> tuple[list[Part], set[str]]:
    """(parts, the message keys they account for)."""
    parts: list[Part] = []
    modeled: set[str] = set()
    for key in ("reasoning_content", "reasoning"):
        if isinstance(message.get(key), str) and message[key]:
            parts.append(ThinkingPart(message[key], provider_data=REASONING_CONTENT))
            modeled.add(key)
            break
    content = message.get("content")
    if isinstance(content, str) and content:
        parts.append(TextPart(content))
        modeled.add("content")
    elif isinstance(content, list):
        # ByteSpike's conversational image model answers with image_url parts (spec §3.6.3).
        parts.extend(decode_user_part(p, f"choices[0].message.content[{j}]") for j, p in enumerate(content))
        modeled.add("content")
    if isinstance(message.get("refusal"), str) and message["refusal"]:
        parts.append(TextPart(message["refusal"], provider_data=REFUSAL_FIELD))
        modeled.add("refusal")
    calls = message.get("tool_calls")
    if isinstance(calls, list) and calls:
        for j, call in enumerate(calls):
            part = decode_tool_call(call, f"choices[0].message.tool_calls[{j}]", upstream_malformed)
            parts.append(restore_tool_name(part, tool_names))
        modeled.add("tool_calls")
    if message.get("function_call") is not None:
        call = decode_function_call(
            message["function_call"], "call_legacy_0", "choices[0].message.function_call", upstream_malformed
        )
        parts.append(restore_tool_name(call, tool_names))
        modeled.add("function_call")
    return parts, modeled


def decode_response(body: dict[str, Any], *, tool_names: Mapping[str, str] | None = None) -> Response:
    """A ``chat.completion`` → canonical; ``tool_names`` maps rewritten tool names back."""
    choices = body.get("choices") if isinstance(body, dict) else None
    if not isinstance(choices, list):
        raise upstream_malformed("choices: field required (array)", "choices")
    first = choices[0] if choices else {}
    message = first.get("message") if isinstance(first, dict) else None
    if choices and not isinstance(message, dict):
        raise upstream_malformed("choices[0].message: field required (object)", "choices[0].message")
    parts, modeled = _message_parts(message or {}, tool_names)
    finish_raw = first.get("finish_reason")
    kept = {
        "top": {k: v for k, v in body.items() if k not in ("id", "object", "model", "choices", "usage")},
        "choice": {k: v for k, v in first.items() if k not in ("index", "message", "finish_reason")},
        "message": {k: v for k, v in (message or {}).items() if k not in modeled and k != "role"},
        "finish_reason": finish_raw,
        "usage": body.get("usage"),
        "choices": choices[1:],
    }
    return Response(
        id=str(body.get("id") or ""),
        model=str(body.get("model") or ""),
        parts=tuple(parts),
        finish_reason=decode_finish_reason(finish_raw),
        usage=decode_usage(body.get("usage")),
        provider_data={NAME: kept},
    )


def _image_part(part: MediaPart) -> dict[str, Any] | None:
    if part.kind != "image" or (part.data is None and part.url is None):
        return None
    return encode_media_part(part, "content")


def _encode_message(parts: tuple[Part, ...], deg: Degradations | None = None) -> dict[str, Any]:
    content: list[str | dict[str, Any]] = []
    refusals: list[str] = []
    thinking: list[str] = []
    calls: list[ToolCallPart] = []
    for k, part in enumerate(parts):
        match part:
            case TextPart():
                pd = part.provider_data
                is_refusal = pd is not None and pd.protocol == NAME and bool(pd.data.get("refusal"))
                (refusals if is_refusal else content).append(part.text)
            case ThinkingPart():
                if not part.redacted:
                    thinking.append(part.text)
            case ToolCallPart():
                calls.append(part)
            case MediaPart():
                # ByteSpike's image models answer with image_url parts (spec §3.6.3).
                if (image := _image_part(part)) is not None:
                    content.append(image)
                else:
                    drop_answer_part(deg, k, part, NAME)
            case OpaquePart():
                drop_answer_part(deg, k, part, NAME)  # nothing a Chat message can show
            case ToolResultPart():
                pass  # a model never answers its own tool call
            case _:
                assert_never(part)
    message: dict[str, Any] = {"role": "assistant"}
    if all(isinstance(c, str) for c in content):
        message["content"] = "".join(c for c in content if isinstance(c, str)) or None
    else:
        message["content"] = [{"type": "text", "text": c} if isinstance(c, str) else c for c in content]
    message["refusal"] = "".join(refusals) or None
    if thinking:
        # Not in OpenAI's schema but the de-facto field (DeepSeek, vLLM); the SDK keeps extras.
        message["reasoning_content"] = "".join(thinking)
    legacy = [c for c in calls if wire_data(c).get("legacy")]
    if legacy:
        fn = encode_tool_call(legacy[0], name=legacy[0].name, call_id=legacy[0].id, native=True)["function"]
        message["function_call"] = fn
        calls = [c for c in calls if c is not legacy[0]]
    if calls:
        message["tool_calls"] = [encode_tool_call(c, name=c.name, call_id=c.id, native=True) for c in calls]
    return message


def encode_response(
    resp: Response, *, model: str, request_id: str, deg: Degradations | None = None
) -> dict[str, Any]:
    """A complete ``chat.completion`` body for the caller (valid for the SDK's `ChatCompletion`);
    ``deg`` hears of the parts a Chat message cannot show."""
    kept = resp.provider_data.get(NAME)
    message = _encode_message(resp.parts, deg)
    has_calls = "tool_calls" in message or "function_call" in message
    raw = kept.get("finish_reason") if kept else None
    if raw is not None and decode_finish_reason(raw) == resp.finish_reason:
        finish = raw
    else:
        finish = encode_finish_reason(resp.finish_reason, has_tool_calls=has_calls)
    if kept:
        if message["refusal"] is None:
            del message["refusal"]
        for key, value in kept["message"].items():
            if message.get(key) is None:
                message[key] = value
        choice = {"index": 0, "message": message, "finish_reason": finish} | kept["choice"]
    else:
        message["annotations"] = []
        choice = {"index": 0, "message": message, "logprobs": None, "finish_reason": finish}
    raw_usage = kept.get("usage") if kept else None
    usage = (
        raw_usage
        if raw_usage is not None and decode_usage(raw_usage) == resp.usage
        else encode_usage(resp.usage)
    )
    top = dict(kept["top"]) if kept else {}
    return {
        # An OpenAI-compatible upstream's own id (DeepSeek's are UUIDs) is kept; others get ours.
        "id": resp.id if (kept and resp.id) or resp.id.startswith("chatcmpl-") else f"chatcmpl-{request_id}",
        "object": "chat.completion",
        "created": top.pop("created", None) or int(time.time()),
        "model": model,
        "choices": [choice, *(kept["choices"] if kept else [])],
        "usage": usage,
        **top,
    }
