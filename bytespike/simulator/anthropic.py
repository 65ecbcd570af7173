"""Anthropic Messages as the simulator speaks it (spec/protocols.md §1).

``POST /v1/messages`` (JSON or named-event SSE, §1.7) and ``POST /v1/messages/count_tokens``.
Usage follows Anthropic's semantics: ``input_tokens`` excludes cache reads and writes, which are
reported separately; ``output_tokens`` includes thinking.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from bytespike.simulator.asgi import HttpAnswer
from bytespike.simulator.fields import (
    BadRequest,
    bearer_token,
    dict_items,
    optional_dict,
    optional_int,
    require_list,
    require_str,
    string_list,
    text_of_parts,
)
from bytespike.simulator.plan import FinishReason, OfferedTool, ReplyPlan, TurnRequest, UsagePlan
from bytespike.simulator.streaming import CONTENT, FINAL, HEAD, Frame, sse_event
from bytespike.simulator.vendor import Operation, Route, json_answer

ERROR_TYPE_BY_STATUS = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    409: "conflict_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}
"""§1.9; other 4xx are ``invalid_request_error``, other 5xx ``api_error``."""

STOP_REASON_FROM_FINISH = {
    FinishReason.END: "end_turn",
    FinishReason.TOOL_USE: "tool_use",
    FinishReason.MAX_TOKENS: "max_tokens",
    FinishReason.STOP_SEQUENCE: "stop_sequence",
}

_RETRY_AFTER_STATUSES = frozenset({429, 503, 529})


def error_type_for(status: int) -> str:
    return ERROR_TYPE_BY_STATUS.get(status, "api_error" if status >= 500 else "invalid_request_error")


def _error_payload(status: int, message: str, request_id: str) -> dict[str, object]:
    return {
        "type": "error",
        "error": {"type": error_type_for(status), "message": message},
        "request_id": request_id,
    }


class AnthropicApi:
    """`VendorApi` for Anthropic Messages."""

    def check_auth(
        self, headers: Mapping[bytes, bytes], query: bytes, api_key: str | None
    ) -> HttpAnswer | None:
        # If both are sent the real API uses x-api-key (§1.1).
        raw_key = headers.get(b"x-api-key")
        key = raw_key.decode("latin-1").strip() if raw_key else bearer_token(headers.get(b"authorization"))
        if not key:
            return self.error(401, "x-api-key header is required")
        if api_key is not None and key != api_key:
            return self.error(401, "invalid x-api-key")
        return None

    def error(self, status: int, message: str) -> HttpAnswer:
        request_id = "req_sim_error"
        headers = [(b"request-id", request_id.encode())]
        if status in _RETRY_AFTER_STATUSES:
            headers.append((b"retry-after", b"1"))
        return json_answer(status, _error_payload(status, message, request_id), headers)

    def error_in_body(self, status: int, message: str) -> HttpAnswer:
        return json_answer(200, _error_payload(status, message, "req_sim_error"))

    def decode_turn(self, payload: dict[str, object], route: Route) -> TurnRequest:
        model = require_str(payload, "model")
        messages = dict_items(require_list(payload, "messages"), "messages")
        max_tokens = optional_int(payload, "max_tokens")
        if max_tokens is None and route.operation is Operation.GENERATE:
            raise BadRequest("max_tokens: Field required")
        texts: list[str] = []
        results: list[str] = []
        has_result = False
        for message in _final_turn(messages):
            content = message.get("content")
            texts.extend(text_of_parts(content, ("text",)))
            if isinstance(content, list):
                for block in content:
                    if isinstance(block, dict) and block.get("type") == "tool_result":
                        has_result = True
                        results.extend(text_of_parts(block.get("content"), ("text",)))
        tools = tuple(
            OfferedTool(str(tool["name"]), optional_dict(tool, "input_schema"))
            for tool in dict_items(payload.get("tools"), "tools")
            if isinstance(tool.get("name"), str) and tool.get("type") in (None, "custom")
        )
        choice = optional_dict(payload, "tool_choice")
        forced = choice.get("name") if choice.get("type") == "tool" else None
        return TurnRequest(
            model=model,
            stream=payload.get("stream") is True,
            user_text=" ".join(texts),
            tool_result_text=" ".join(results) if has_result else None,
            tools=tools,
            tools_disabled=choice.get("type") == "none",
            forced_tool=forced if isinstance(forced, str) else None,
            max_tokens=max_tokens,
            stop_sequences=string_list(payload.get("stop_sequences"), "stop_sequences"),
        )

    def encode_reply(self, plan: ReplyPlan, payload: dict[str, object]) -> HttpAnswer:
        content: list[dict[str, object]] = []
        if plan.thinking:
            content.append({"type": "thinking", "thinking": plan.thinking, "signature": plan.signature})
        if plan.text:
            content.append({"type": "text", "text": plan.text})
        for call in plan.tool_calls:
            content.append(
                {
                    "type": "tool_use",
                    "id": f"toolu_{call.id_suffix}",
                    "name": call.name,
                    "input": call.arguments,
                }
            )
        message = _message(
            plan, content, STOP_REASON_FROM_FINISH[plan.finish], plan.stop_sequence, _usage(plan.usage)
        )
        return json_answer(200, message, [(b"request-id", f"req_{plan.key}".encode())])

    def stream_encoder(self, plan: ReplyPlan, payload: dict[str, object], route: Route) -> AnthropicStream:
        return AnthropicStream(plan)

    def encode_count(self, tokens: int) -> HttpAnswer:
        return json_answer(200, {"input_tokens": tokens})


class AnthropicStream:
    """Named SSE events of §1.7: message_start, contiguous blocks, message_delta, message_stop."""

    content_type = b"text/event-stream; charset=utf-8"

    def __init__(self, plan: ReplyPlan) -> None:
        self.plan = plan
        self.headers = [(b"request-id", f"req_{plan.key}".encode())]

    def frames(self) -> Iterator[Frame]:
        plan = self.plan
        start_usage = _usage(plan.usage) | {"output_tokens": 1}
        start_usage.pop("output_tokens_details", None)
        message = _message(plan, [], None, None, start_usage)
        yield Frame(sse_event("message_start", {"type": "message_start", "message": message}), HEAD)
        yield Frame(sse_event("ping", {"type": "ping"}), HEAD)
        index = 0
        if plan.thinking:
            yield _block_start(index, {"type": "thinking", "thinking": "", "signature": ""})
            for piece in plan.thinking_chunks:
                yield _block_delta(index, {"type": "thinking_delta", "thinking": piece}, CONTENT)
            yield _block_delta(index, {"type": "signature_delta", "signature": plan.signature}, HEAD)
            yield _block_stop(index)
            index += 1
        if plan.text:
            yield _block_start(index, {"type": "text", "text": ""})
            for piece in plan.text_chunks:
                yield _block_delta(index, {"type": "text_delta", "text": piece}, CONTENT)
            yield _block_stop(index)
            index += 1
        for call in plan.tool_calls:
            block = {"type": "tool_use", "id": f"toolu_{call.id_suffix}", "name": call.name, "input": {}}
            yield _block_start(index, block)
            yield _block_delta(index, {"type": "input_json_delta", "partial_json": ""}, HEAD)
            for piece in call.argument_fragments:
                yield _block_delta(index, {"type": "input_json_delta", "partial_json": piece}, CONTENT)
            yield _block_stop(index)
            index += 1
        delta = {
            "type": "message_delta",
            "delta": {
                "stop_reason": STOP_REASON_FROM_FINISH[plan.finish],
                "stop_sequence": plan.stop_sequence,
            },
            "usage": _usage(plan.usage),
        }
        yield Frame(sse_event("message_delta", delta), FINAL)
        yield Frame(sse_event("message_stop", {"type": "message_stop"}), HEAD)

    def error_frames(self, message: str) -> list[bytes]:
        payload = {"type": "error", "error": {"type": "overloaded_error", "message": message}}
        return [sse_event("error", payload)]


def _final_turn(messages: list[dict[str, object]]) -> list[dict[str, object]]:
    """User messages after the last assistant message (inline system messages skipped)."""
    turn: list[dict[str, object]] = []
    for message in reversed(messages):
        role = message.get("role")
        if role == "assistant":
            break
        if role == "user":
            turn.append(message)
    turn.reverse()
    return turn


def _message(
    plan: ReplyPlan,
    content: list[dict[str, object]],
    stop_reason: str | None,
    stop_sequence: str | None,
    usage: dict[str, object],
) -> dict[str, object]:
    return {
        "id": f"msg_{plan.key}",
        "type": "message",
        "role": "assistant",
        "model": plan.model,
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": stop_sequence,
        "usage": usage,
    }


def _usage(usage: UsagePlan) -> dict[str, object]:
    payload: dict[str, object] = {
        "input_tokens": usage.uncached_input_tokens,
        "cache_creation_input_tokens": usage.cache_write_tokens,
        "cache_read_input_tokens": usage.cache_read_tokens,
        "cache_creation": {
            "ephemeral_5m_input_tokens": usage.cache_write_tokens,
            "ephemeral_1h_input_tokens": 0,
        },
        "output_tokens": usage.output_tokens,
        "service_tier": "standard",
    }
    if usage.reasoning_tokens:
        payload["output_tokens_details"] = {"thinking_tokens": usage.reasoning_tokens}
    return payload


def _block_start(index: int, block: dict[str, object]) -> Frame:
    payload = {"type": "content_block_start", "index": index, "content_block": block}
    return Frame(sse_event("content_block_start", payload), HEAD)


def _block_delta(index: int, delta: dict[str, object], kind: int) -> Frame:
    payload = {"type": "content_block_delta", "index": index, "delta": delta}
    return Frame(sse_event("content_block_delta", payload), kind)


def _block_stop(index: int) -> Frame:
    return Frame(sse_event("content_block_stop", {"type": "content_block_stop", "index": index}), HEAD)
