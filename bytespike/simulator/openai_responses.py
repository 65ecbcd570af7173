"""OpenAI Responses as the simulator speaks it (spec/protocols.md §3).

``POST /v1/responses``: a response object, or the full streaming lifecycle of §3.3 with a
``sequence_number`` on every event and one response id throughout. Each reasoning summary, text
message and function call is its own output item. A max-tokens finish is ``status: incomplete``
(``response.incomplete`` when streamed), as the real API does. Reasoning items carry
``encrypted_content`` when ``include`` asks for ``reasoning.encrypted_content`` (what a
``store: false`` caller replays instead of a stored item).
"""

from __future__ import annotations

from collections.abc import Iterator

from bytespike.simulator.asgi import HttpAnswer
from bytespike.simulator.fields import dict_items, optional_dict, optional_int, require_str, text_of_parts
from bytespike.simulator.openai_envelope import OpenAiEnvelope
from bytespike.simulator.plan import (
    FinishReason,
    OfferedTool,
    ReplyPlan,
    ToolCallPlan,
    TurnRequest,
    UsagePlan,
)
from bytespike.simulator.streaming import CONTENT, FINAL, HEAD, Frame, sse_event
from bytespike.simulator.vendor import CREATED_AT, Route, json_answer

_ASSISTANT_ITEM_TYPES = frozenset({"function_call", "reasoning", "custom_tool_call"})
"""Input item types produced by the model: the caller's final turn starts after the last one."""


class OpenAiResponsesApi(OpenAiEnvelope):
    """`VendorApi` for OpenAI Responses."""

    def decode_turn(self, payload: dict[str, object], route: Route) -> TurnRequest:
        model = require_str(payload, "model")
        raw_input = payload.get("input")
        texts: list[str] = []
        results: list[str] = []
        has_result = False
        if isinstance(raw_input, str):
            texts.append(raw_input)
        else:
            for item in _final_turn(dict_items(raw_input, "input")):
                if item.get("type") == "function_call_output":
                    has_result = True
                    results.extend(text_of_parts(item.get("output"), ("input_text", "output_text")))
                elif item.get("role") == "user":
                    texts.extend(text_of_parts(item.get("content"), ("input_text",)))
        tools = tuple(
            OfferedTool(str(tool["name"]), optional_dict(tool, "parameters"))
            for tool in dict_items(payload.get("tools"), "tools")
            if tool.get("type") == "function" and isinstance(tool.get("name"), str)
        )
        choice = payload.get("tool_choice")
        forced = choice.get("name") if isinstance(choice, dict) and choice.get("type") == "function" else None
        return TurnRequest(
            model=model,
            stream=payload.get("stream") is True,
            user_text=" ".join(texts),
            tool_result_text=" ".join(results) if has_result else None,
            tools=tools,
            tools_disabled=choice == "none",
            forced_tool=forced if isinstance(forced, str) else None,
            max_tokens=optional_int(payload, "max_output_tokens"),
        )

    def encode_reply(self, plan: ReplyPlan, payload: dict[str, object]) -> HttpAnswer:
        output = [item for item, _ in _output_items(plan, payload)]
        response = _response(plan, payload, _final_status(plan), output, _usage(plan.usage))
        return json_answer(200, response, [(b"x-request-id", f"req_{plan.key}".encode())])

    def stream_encoder(self, plan: ReplyPlan, payload: dict[str, object], route: Route) -> ResponsesStream:
        return ResponsesStream(plan, payload)

    def encode_count(self, tokens: int) -> HttpAnswer:
        # POST /v1/responses/input_tokens (the openai SDK's responses.input_tokens.count).
        return json_answer(200, {"object": "response.input_tokens", "input_tokens": tokens})


class ResponsesStream:
    """The §3.3 event lifecycle, numbered by ``sequence_number``."""

    content_type = b"text/event-stream; charset=utf-8"

    def __init__(self, plan: ReplyPlan, payload: dict[str, object]) -> None:
        self.plan = plan
        self.payload = payload
        self.sequence = 0
        self.headers = [(b"x-request-id", f"req_{plan.key}".encode())]

    def frames(self) -> Iterator[Frame]:
        plan = self.plan
        opening = _response(plan, self.payload, "in_progress", [], None)
        yield self._event("response.created", {"response": opening})
        yield self._event("response.in_progress", {"response": opening})
        output = []
        for index, (item, call) in enumerate(_output_items(plan, self.payload)):
            output.append(item)
            if call is not None:
                yield from self._function_call_events(index, item, call)
            elif item["type"] == "reasoning":
                yield from self._reasoning_events(index, item)
            else:
                yield from self._message_events(index, item)
        status = _final_status(plan)
        final = _response(plan, self.payload, status, output, _usage(plan.usage))
        event = "response.completed" if status == "completed" else "response.incomplete"
        yield self._event(event, {"response": final}, FINAL)

    def error_frames(self, message: str) -> list[bytes]:
        error = self._event("error", {"code": "server_error", "message": message, "param": None})
        failed = _response(self.plan, self.payload, "failed", [], None)
        failed["error"] = {"code": "server_error", "message": message}
        return [error.data, self._event("response.failed", {"response": failed}).data]

    def _reasoning_events(self, index: int, item: dict[str, object]) -> Iterator[Frame]:
        item_id = item["id"]
        yield self._event(
            "response.output_item.added", {"output_index": index, "item": item | {"summary": []}}
        )
        where = {"item_id": item_id, "output_index": index, "summary_index": 0}
        yield self._event("response.reasoning_summary_part.added", where | {"part": _summary("")})
        for piece in self.plan.thinking_chunks:
            yield self._event("response.reasoning_summary_text.delta", where | {"delta": piece}, CONTENT)
        yield self._event("response.reasoning_summary_text.done", where | {"text": self.plan.thinking})
        yield self._event(
            "response.reasoning_summary_part.done", where | {"part": _summary(self.plan.thinking)}
        )
        yield self._event("response.output_item.done", {"output_index": index, "item": item})

    def _message_events(self, index: int, item: dict[str, object]) -> Iterator[Frame]:
        opening = item | {"status": "in_progress", "content": []}
        yield self._event("response.output_item.added", {"output_index": index, "item": opening})
        where = {"item_id": item["id"], "output_index": index, "content_index": 0}
        yield self._event("response.content_part.added", where | {"part": _output_text("")})
        for piece in self.plan.text_chunks:
            yield self._event("response.output_text.delta", where | {"delta": piece, "logprobs": []}, CONTENT)
        yield self._event("response.output_text.done", where | {"text": self.plan.text, "logprobs": []})
        yield self._event("response.content_part.done", where | {"part": _output_text(self.plan.text)})
        yield self._event("response.output_item.done", {"output_index": index, "item": item})

    def _function_call_events(
        self, index: int, item: dict[str, object], call: ToolCallPlan
    ) -> Iterator[Frame]:
        opening = item | {"arguments": "", "status": "in_progress"}
        yield self._event("response.output_item.added", {"output_index": index, "item": opening})
        where = {"item_id": item["id"], "output_index": index}
        for piece in call.argument_fragments:
            yield self._event("response.function_call_arguments.delta", where | {"delta": piece}, CONTENT)
        done = where | {"name": call.name, "arguments": call.arguments_json}
        yield self._event("response.function_call_arguments.done", done)
        yield self._event("response.output_item.done", {"output_index": index, "item": item})

    def _event(self, event_type: str, fields: dict[str, object], kind: int = HEAD) -> Frame:
        payload = {"type": event_type, **fields, "sequence_number": self.sequence}
        self.sequence += 1
        return Frame(sse_event(event_type, payload), kind)


def _final_turn(items: list[dict[str, object]]) -> list[dict[str, object]]:
    """Input items after the last item the model produced."""
    turn: list[dict[str, object]] = []
    for item in reversed(items):
        if item.get("role") == "assistant" or item.get("type") in _ASSISTANT_ITEM_TYPES:
            break
        turn.append(item)
    turn.reverse()
    return turn


def _final_status(plan: ReplyPlan) -> str:
    return "incomplete" if plan.finish is FinishReason.MAX_TOKENS else "completed"


def _output_items(
    plan: ReplyPlan, payload: dict[str, object]
) -> list[tuple[dict[str, object], ToolCallPlan | None]]:
    """The finished output items, each with the tool call it renders (if any)."""
    items: list[tuple[dict[str, object], ToolCallPlan | None]] = []
    if plan.thinking:
        reasoning: dict[str, object] = {
            "type": "reasoning",
            "id": f"rs_{plan.key}",
            "summary": [_summary(plan.thinking)],
        }
        include = payload.get("include")
        if isinstance(include, list) and "reasoning.encrypted_content" in include:
            reasoning["encrypted_content"] = plan.signature
        items.append((reasoning, None))
    if plan.text:
        message = {
            "type": "message",
            "id": f"msg_{plan.key}",
            "status": _final_status(plan),
            "role": "assistant",
            "content": [_output_text(plan.text)],
        }
        items.append((message, None))
    for call in plan.tool_calls:
        function_call = {
            "type": "function_call",
            "id": f"fc_{call.id_suffix}",
            "call_id": f"call_{call.id_suffix}",
            "name": call.name,
            "arguments": call.arguments_json,
            "status": "completed",
        }
        items.append((function_call, call))
    return items


def _response(
    plan: ReplyPlan,
    payload: dict[str, object],
    status: str,
    output: list[dict[str, object]],
    usage: dict[str, object] | None,
) -> dict[str, object]:
    return {
        "id": f"resp_{plan.key}",
        "object": "response",
        "created_at": CREATED_AT,
        "status": status,
        "background": False,
        "error": None,
        "incomplete_details": {"reason": "max_output_tokens"} if status == "incomplete" else None,
        "instructions": payload.get("instructions"),
        "max_output_tokens": payload.get("max_output_tokens"),
        "model": plan.model,
        "output": output,
        "parallel_tool_calls": payload.get("parallel_tool_calls", True),
        "previous_response_id": payload.get("previous_response_id"),
        "reasoning": {"effort": None, "summary": None},
        "store": payload.get("store", True),
        "temperature": payload.get("temperature", 1.0),
        "text": {"format": {"type": "text"}},
        "tool_choice": payload.get("tool_choice", "auto"),
        "tools": payload.get("tools", []),
        "top_p": payload.get("top_p", 1.0),
        "truncation": "disabled",
        "usage": usage,
        "metadata": payload.get("metadata") or {},
    }


def _summary(text: str) -> dict[str, object]:
    return {"type": "summary_text", "text": text}


def _output_text(text: str) -> dict[str, object]:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def _usage(usage: UsagePlan) -> dict[str, object]:
    return {
        "input_tokens": usage.input_tokens,
        "input_tokens_details": {
            "cached_tokens": usage.cache_read_tokens,
            "cache_write_tokens": usage.cache_write_tokens,
        },
        "output_tokens": usage.output_tokens,
        "output_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
        "total_tokens": usage.total_tokens,
    }
