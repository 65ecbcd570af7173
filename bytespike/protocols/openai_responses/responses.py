"""OpenAI Responses response objects (protocols.md §3.2) ↔ canonical `Response`.

``status`` + ``incomplete_details.reason`` carry what other protocols call the finish reason;
both tables are below, read side by side with protocols.md §5.8. A tool-call turn is
``completed`` with ``function_call`` items. Round trip: ``encode_response(decode_response(body))``
gives ``body`` back (every response-level field is kept in ``provider_data``) except that output
items' ``status`` is recomputed from the response's status and an ``output_text`` without
``annotations``/``logprobs`` gets empty lists.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
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
from bytespike.protocols.openai_responses import NAME
from bytespike.protocols.openai_responses.content import RESPONSE_TEXT_DEFAULTS, decode_content
from bytespike.protocols.openai_responses.items import (
    decode_function_call,
    decode_reasoning,
    encode_function_call,
    encode_reasoning,
)
from bytespike.protocols.openai_responses.provider_data import own
from bytespike.protocols.openai_responses.usage import decode_usage, encode_usage

FINISH_REASON_FROM_OPENAI_RESPONSES: dict[str | None, FinishReason] = {
    "max_output_tokens": "length",
    "max_messages": "length",
    "content_filter": "content_filter",
    "steered": "stop",
    None: "pause",
}
"""``incomplete_details.reason`` of an ``incomplete`` response → finish reason. A ``completed``
response is ``stop`` (``tool_use`` when it holds function calls); ``failed``/``cancelled`` are
``error``."""
FINISH_REASON_TO_OPENAI_RESPONSES: dict[FinishReason, tuple[str, str | None]] = {
    "stop": ("completed", None),
    "stop_sequence": ("completed", None),
    "tool_use": ("completed", None),
    "length": ("incomplete", "max_output_tokens"),
    "content_filter": ("incomplete", "content_filter"),
    "refusal": ("incomplete", "content_filter"),
    "pause": ("incomplete", None),
    "error": ("failed", None),
}
"""Finish reason → (``status``, ``incomplete_details.reason``), protocols.md §5.8."""
ECHOED_REQUEST_FIELDS = (
    "background",
    "instructions",
    "max_output_tokens",
    "max_tool_calls",
    "metadata",
    "parallel_tool_calls",
    "previous_response_id",
    "prompt_cache_key",
    "reasoning",
    "safety_identifier",
    "service_tier",
    "store",
    "temperature",
    "text",
    "tool_choice",
    "tools",
    "top_logprobs",
    "top_p",
    "truncation",
    "user",
)
"""Request fields a response object repeats back (``Response`` in the SDK)."""
RESPONSE_DEFAULTS: dict[str, Any] = {
    "background": False,
    "error": None,
    "incomplete_details": None,
    "instructions": None,
    "max_output_tokens": None,
    "metadata": {},
    "parallel_tool_calls": True,
    "previous_response_id": None,
    "reasoning": {"effort": None, "summary": None},
    "store": True,
    "temperature": None,
    "text": {"format": {"type": "text"}},
    "tool_choice": "auto",
    "tools": [],
    "top_p": None,
    "truncation": "disabled",
}
"""What a response object says when the request did not say otherwise."""
_DERIVED = frozenset({"id", "object", "model", "output", "usage"})
_ID_CHARS = re.compile(r"[^A-Za-z0-9]")


def decode_finish(status: Any, details: Any, *, has_tool_call: bool) -> FinishReason | None:
    if status == "completed":
        return "tool_use" if has_tool_call else "stop"
    if status == "incomplete":
        reason = details.get("reason") if isinstance(details, dict) else None
        return FINISH_REASON_FROM_OPENAI_RESPONSES.get(reason, "length")
    if status in ("failed", "cancelled"):
        return "error"
    return None


def encode_finish(finish: FinishReason | None) -> tuple[str, dict[str, Any] | None]:
    """(``status``, ``incomplete_details``) for a finished response."""
    status, reason = FINISH_REASON_TO_OPENAI_RESPONSES[finish] if finish is not None else ("completed", None)
    return status, ({"reason": reason} if status == "incomplete" else None)


def id_base(request_id: str) -> str:
    """The gateway request id (``req_<hex>``) as the stem of every id this response invents."""
    return _ID_CHARS.sub("", request_id.removeprefix("req_")) or "0"


def response_id_for(upstream_id: str, request_id: str) -> str:
    """Keep an upstream ``resp_`` id (an OpenAI upstream), else ``resp_<request id>``."""
    return upstream_id if upstream_id.startswith("resp_") else f"resp_{id_base(request_id)}"


def response_object(
    *,
    response_id: str,
    model: str,
    created_at: int,
    status: str,
    output: list[dict[str, Any]],
    usage: dict[str, Any] | None,
    incomplete_details: dict[str, Any] | None = None,
    request: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A complete ``response`` object; request fields are echoed when the caller's body is given."""
    body: dict[str, Any] = {"id": response_id, "object": "response", "created_at": created_at}
    body.update(RESPONSE_DEFAULTS)
    for key in ECHOED_REQUEST_FIELDS:
        if request is not None and request.get(key) is not None:
            body[key] = request[key]
    body["tools"] = [_echo_tool(t) for t in body["tools"]]
    body.update(
        status=status,
        model=model,
        output=output,
        usage=usage,
        incomplete_details=incomplete_details,
    )
    return body


def _echo_tool(tool: Any) -> Any:
    # FunctionTool in a response always has parameters and strict (omitted strict means strict).
    if isinstance(tool, dict) and tool.get("type") == "function":
        return {"parameters": None, "strict": True, **tool}
    return tool


def decode_response(body: Any, *, tool_names: Mapping[str, str] | None = None) -> Response:
    """A non-streamed Responses object; a malformed one is an upstream failure (502).

    ``tool_names`` maps wire tool names back to the caller's (`tools.tool_name_map`)."""
    try:
        return _decode_response(body, tool_names or {})
    except GatewayError as exc:
        raise GatewayError(
            502, "upstream_error", f"upstream: malformed Responses object: {exc.message}"
        ) from exc


def _decode_response(body: Any, tool_names: Mapping[str, str]) -> Response:
    if not isinstance(body, dict) or not isinstance(body.get("id"), str):
        raise GatewayError(400, "invalid_param", "not a response object")
    output = body.get("output") or []
    parts = [p for k, item in enumerate(output) for p in decode_output_item(item, f"output[{k}]", tool_names)]
    has_call = any(isinstance(p, ToolCallPart) for p in parts)
    return Response(
        id=body["id"],
        model=str(body.get("model") or ""),
        parts=tuple(parts),
        finish_reason=decode_finish(
            body.get("status"), body.get("incomplete_details"), has_tool_call=has_call
        ),
        usage=decode_usage(body.get("usage")),
        provider_data={NAME: {k: v for k, v in body.items() if k not in _DERIVED}},
    )


def message_item_data(item: dict[str, Any]) -> dict[str, Any]:
    """Provider data every text part of an output message carries: its item's own fields."""
    fields = {k: v for k, v in item.items() if k not in ("type", "role", "content", "status")}
    return {"item": fields} if fields else {}


def decode_output_item(item: Any, path: str, tool_names: Mapping[str, str]) -> list[Part]:
    """The canonical parts of one output item (a message gives one part per content part)."""
    if not isinstance(item, dict):
        raise GatewayError(400, "invalid_param", f"{path}: must be an object")
    kind = item.get("type")
    if kind == "message":
        pd = message_item_data(item)
        return [
            decode_content(c, f"{path}.content[{j}]", {}, item=pd, defaults=RESPONSE_TEXT_DEFAULTS)
            for j, c in enumerate(item.get("content") or [])
        ]
    if kind == "function_call":
        call = decode_function_call(item, path, output=True)
        return [
            ToolCallPart(call.id, tool_names.get(call.name, call.name), call.arguments, call.provider_data)
        ]
    if kind == "reasoning":
        return [decode_reasoning(item, path, output=True)]
    return [OpaquePart(NAME, {"item": item})]


def encode_response(
    resp: Response,
    *,
    model: str,
    request_id: str,
    request: Mapping[str, Any] | None = None,
    deg: Degradations | None = None,
) -> dict[str, Any]:
    """A complete non-streamed Responses object for ``resp`` (valid for the SDK's ``Response``).

    ``request`` is the caller's Responses body, echoed the way the API does; ids the upstream
    did not give are derived from ``request_id``; ``deg`` hears of the parts no item can hold."""
    fields = resp.provider_data.get(NAME, {})
    status, details = encode_finish(resp.finish_reason)
    has_call = any(isinstance(p, ToolCallPart) for p in resp.parts)
    if "status" in fields and (
        decode_finish(fields["status"], fields.get("incomplete_details"), has_tool_call=has_call)
        == resp.finish_reason
    ):
        status, details = fields["status"], fields.get("incomplete_details")
    base = id_base(request_id)
    response_id = response_id_for(resp.id, request_id)
    output = encode_output(resp.parts, base, status, deg)
    if fields:  # decoded from a Responses upstream: its own fields, not defaults
        body = {"id": response_id, "object": "response", **fields, "model": model}
        body.update(status=status, output=output, usage=encode_usage(resp.usage))
        if details is not None or "incomplete_details" in fields:
            body["incomplete_details"] = details
        return body
    body = response_object(
        response_id=response_id,
        model=model,
        created_at=int(time.time()),
        status=status,
        output=output,
        usage=encode_usage(resp.usage),
        incomplete_details=details,
        request=request,
    )
    if status == "failed":
        body["error"] = {"code": "server_error", "message": "the upstream model failed the turn"}
    return body


def encode_output(
    parts: tuple[Part, ...], base: str, status: str, deg: Degradations | None = None
) -> list[dict[str, Any]]:
    """Output items in part order; text parts of one upstream message item stay one item."""
    items: list[dict[str, Any]] = []
    last_message: dict[str, Any] | None = None
    message_status = "incomplete" if status == "incomplete" else "completed"
    for k, part in enumerate(parts):
        if isinstance(part, TextPart):
            pd = own(part.provider_data)
            if last_message is not None and pd.get("item") and pd.get("item") == last_message["_pd"]:
                last_message["item"]["content"].append(output_content(part))
                continue
            item = message_item(f"msg_{base}_{len(items)}", message_status, part)
            item["content"].append(output_content(part))
            last_message = {"item": item, "_pd": pd.get("item")}
            items.append(item)
            continue
        last_message = None
        item = output_item(part, f"{base}_{len(items)}")
        if item is not None:
            items.append(item)
        elif isinstance(part, MediaPart | OpaquePart):
            drop_answer_part(deg, k, part, NAME)
    return items


def message_item(item_id: str, status: str, part: TextPart) -> dict[str, Any]:
    """An assistant ``message`` item (empty content) for ``part``'s upstream message."""
    item = {"id": item_id, "type": "message", "status": status, "role": "assistant", "content": []}
    item.update(own(part.provider_data).get("item", {}))
    return item


def output_content(part: TextPart) -> dict[str, Any]:
    pd = own(part.provider_data)
    if pd.get("refusal"):
        return {"type": "refusal", "refusal": part.text, **pd.get("part", {})}
    return {"type": "output_text", "text": part.text, **RESPONSE_TEXT_DEFAULTS, **pd.get("part", {})}


def output_item(part: Part, suffix: str) -> dict[str, Any] | None:
    """The finished output item of a non-text part (None for what a response cannot hold)."""
    match part:
        case ThinkingPart():
            return {"id": f"rs_{suffix}", **encode_reasoning(part)}
        case ToolCallPart():
            return {"id": f"fc_{suffix}", "status": "completed", **encode_function_call(part)}
        case MediaPart():
            if part.kind != "image" or part.data is None:
                return None
            # A generated image (Gemini inlineData) is what Responses calls an image_generation_call.
            return {
                "id": f"ig_{suffix}",
                "type": "image_generation_call",
                "status": "completed",
                "result": part.data,
            }
        case OpaquePart():
            return part.data["item"] if part.protocol == NAME and "item" in part.data else None
        case ToolResultPart() | TextPart():  # text is a message item (encode_output)
            return None
        case _:
            assert_never(part)
