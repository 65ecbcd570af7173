"""OpenAI Chat Completions as the simulator speaks it (spec/protocols.md §2).

``POST /v1/chat/completions``, JSON or data-only SSE ending in ``data: [DONE]``. Usage follows
OpenAI's semantics: ``prompt_tokens`` includes cached and cache-write tokens, ``completion_tokens``
includes reasoning. The usage chunk (``choices: []``) is sent only when the caller set
``stream_options.include_usage``. For DeepSeek-named models a ``reasoning`` directive also shows
the reasoning text as ``reasoning_content``, as DeepSeek does. A request whose ``modalities``
include ``audio`` is answered in speech, as OpenAI's audio models do: the text becomes the
``transcript`` of ``message.audio`` (an ``audio_…`` id, base64 ``data``, ``expires_at``), streamed
as ``delta.audio`` pieces with the id on the first.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator

from bytespike.simulator.asgi import HttpAnswer
from bytespike.simulator.fields import (
    dict_items,
    optional_dict,
    optional_int,
    require_list,
    require_str,
    string_list,
    text_of_parts,
)
from bytespike.simulator.openai_envelope import OpenAiEnvelope, error_object
from bytespike.simulator.plan import FinishReason, OfferedTool, ReplyPlan, TurnRequest, UsagePlan
from bytespike.simulator.streaming import CONTENT, FINAL, HEAD, Frame, sse_data
from bytespike.simulator.vendor import CREATED_AT, Route, json_answer

FINISH_REASON_FROM_FINISH = {
    FinishReason.END: "stop",
    FinishReason.TOOL_USE: "tool_calls",
    FinishReason.MAX_TOKENS: "length",
    FinishReason.STOP_SEQUENCE: "stop",
}

SYSTEM_FINGERPRINT = "fp_bytespike_sim"
AUDIO_LIFETIME_S = 3600
"""OpenAI keeps a spoken answer for multi-turn use about an hour (``audio.expires_at``)."""
_DONE = b"data: [DONE]\n\n"


def shows_reasoning_content(model: str) -> bool:
    """DeepSeek (and the vLLM family copying it) return reasoning as ``reasoning_content``."""
    return "deepseek" in model.lower()


class OpenAiChatApi(OpenAiEnvelope):
    """`VendorApi` for OpenAI Chat Completions."""

    def decode_turn(self, payload: dict[str, object], route: Route) -> TurnRequest:
        model = require_str(payload, "model")
        messages = dict_items(require_list(payload, "messages"), "messages")
        texts: list[str] = []
        results: list[str] = []
        has_result = False
        for message in _final_turn(messages):
            if message.get("role") == "tool":
                has_result = True
                results.extend(text_of_parts(message.get("content"), ("text",)))
            else:
                texts.extend(text_of_parts(message.get("content"), ("text",)))
        tools = []
        for tool in dict_items(payload.get("tools"), "tools"):
            function = optional_dict(tool, "function")
            if tool.get("type") == "function" and isinstance(function.get("name"), str):
                tools.append(OfferedTool(str(function["name"]), optional_dict(function, "parameters")))
        choice = payload.get("tool_choice")
        forced = optional_dict(choice, "function").get("name") if isinstance(choice, dict) else None
        max_tokens = optional_int(payload, "max_completion_tokens")
        return TurnRequest(
            model=model,
            stream=payload.get("stream") is True,
            user_text=" ".join(texts),
            tool_result_text=" ".join(results) if has_result else None,
            tools=tuple(tools),
            tools_disabled=choice == "none",
            forced_tool=forced if isinstance(forced, str) else None,
            max_tokens=max_tokens if max_tokens is not None else optional_int(payload, "max_tokens"),
            stop_sequences=string_list(payload.get("stop"), "stop"),
        )

    def encode_reply(self, plan: ReplyPlan, payload: dict[str, object]) -> HttpAnswer:
        message: dict[str, object] = {
            "role": "assistant",
            "content": plan.text or None,
            "refusal": None,
            "annotations": [],
        }
        if plan.thinking and shows_reasoning_content(plan.model):
            message["reasoning_content"] = plan.thinking
        if speaks(payload):
            message["content"] = None
            message["audio"] = {**_audio_head(plan), "transcript": plan.text, **_audio_tail(plan)}
        if plan.tool_calls:
            message["tool_calls"] = [
                {
                    "id": f"call_{call.id_suffix}",
                    "type": "function",
                    "function": {"name": call.name, "arguments": call.arguments_json},
                }
                for call in plan.tool_calls
            ]
        completion = {
            "id": f"chatcmpl-{plan.key}",
            "object": "chat.completion",
            "created": CREATED_AT,
            "model": plan.model,
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "logprobs": None,
                    "finish_reason": FINISH_REASON_FROM_FINISH[plan.finish],
                }
            ],
            "usage": _usage(plan.usage),
            "service_tier": "default",
            "system_fingerprint": SYSTEM_FINGERPRINT,
        }
        return json_answer(200, completion, [(b"x-request-id", f"req_{plan.key}".encode())])

    def stream_encoder(self, plan: ReplyPlan, payload: dict[str, object], route: Route) -> ChatStream:
        include_usage = optional_dict(payload, "stream_options").get("include_usage") is True
        return ChatStream(plan, include_usage, speaks=speaks(payload))

    def encode_count(self, tokens: int) -> HttpAnswer:
        raise NotImplementedError("OpenAI Chat has no token-count endpoint")


class ChatStream:
    """``chat.completion.chunk`` frames of §2.6."""

    content_type = b"text/event-stream; charset=utf-8"

    def __init__(self, plan: ReplyPlan, include_usage: bool, *, speaks: bool = False) -> None:
        self.plan = plan
        self.include_usage = include_usage
        self.speaks = speaks
        self.headers = [(b"x-request-id", f"req_{plan.key}".encode())]

    def frames(self) -> Iterator[Frame]:
        plan = self.plan
        yield self._chunk({"role": "assistant", "content": "", "refusal": None}, HEAD)
        if plan.thinking and shows_reasoning_content(plan.model):
            for piece in plan.thinking_chunks:
                yield self._chunk({"reasoning_content": piece}, CONTENT)
        if self.speaks:
            for index, piece in enumerate(plan.text_chunks):
                head = _audio_head(plan) if index == 0 else {}
                yield self._chunk({"audio": {**head, "transcript": piece}}, CONTENT)
            yield self._chunk({"audio": _audio_tail(plan)}, HEAD)
        for piece in () if self.speaks else plan.text_chunks:
            yield self._chunk({"content": piece}, CONTENT)
        for index, call in enumerate(plan.tool_calls):
            opening = {
                "index": index,
                "id": f"call_{call.id_suffix}",
                "type": "function",
                "function": {"name": call.name, "arguments": ""},
            }
            yield self._chunk({"tool_calls": [opening]}, HEAD)
            for piece in call.argument_fragments:
                yield self._chunk(
                    {"tool_calls": [{"index": index, "function": {"arguments": piece}}]}, CONTENT
                )
        yield self._chunk({}, FINAL, FINISH_REASON_FROM_FINISH[plan.finish])
        if self.include_usage:
            yield Frame(sse_data(self._envelope([], _usage(plan.usage))), HEAD)
        yield Frame(_DONE, HEAD)

    def error_frames(self, message: str) -> list[bytes]:
        # An in-band error is a frame with a top-level "error" and no [DONE] after it (§2.6).
        return [sse_data(error_object(500, message))]

    def _chunk(self, delta: dict[str, object], kind: int, finish_reason: str | None = None) -> Frame:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
        return Frame(sse_data(self._envelope([choice], None)), kind)

    def _envelope(
        self, choices: list[dict[str, object]], usage: dict[str, object] | None
    ) -> dict[str, object]:
        chunk: dict[str, object] = {
            "id": f"chatcmpl-{self.plan.key}",
            "object": "chat.completion.chunk",
            "created": CREATED_AT,
            "model": self.plan.model,
            "service_tier": "default",
            "system_fingerprint": SYSTEM_FINGERPRINT,
            "choices": choices,
        }
        if self.include_usage:
            # With include_usage every chunk carries "usage": null except the last (§2.6).
            chunk["usage"] = usage
        return chunk


def speaks(payload: dict[str, object]) -> bool:
    modalities = payload.get("modalities")
    return isinstance(modalities, list) and "audio" in modalities


def _audio_head(plan: ReplyPlan) -> dict[str, object]:
    return {"id": f"audio_{plan.key[:24]}"}


def _audio_tail(plan: ReplyPlan) -> dict[str, object]:
    return {
        "data": base64.b64encode(f"sim-audio:{plan.text}".encode()).decode(),
        "expires_at": CREATED_AT + AUDIO_LIFETIME_S,
    }


def _final_turn(messages: list[dict[str, object]]) -> list[dict[str, object]]:
    """User and tool messages after the last assistant message."""
    turn: list[dict[str, object]] = []
    for message in reversed(messages):
        role = message.get("role")
        if role == "assistant":
            break
        if role in ("user", "tool"):
            turn.append(message)
    turn.reverse()
    return turn


def _usage(usage: UsagePlan) -> dict[str, object]:
    return {
        "prompt_tokens": usage.input_tokens,
        "completion_tokens": usage.output_tokens,
        "total_tokens": usage.total_tokens,
        "prompt_tokens_details": {
            "cached_tokens": usage.cache_read_tokens,
            "cache_write_tokens": usage.cache_write_tokens,
            "audio_tokens": 0,
        },
        "completion_tokens_details": {
            "reasoning_tokens": usage.reasoning_tokens,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }
