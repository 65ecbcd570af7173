"""Gemini (Generative Language API) as the simulator speaks it (spec/protocols.md §4).

``:generateContent``, ``:streamGenerateContent`` (SSE ``data:`` frames with ``alt=sse``, else one
JSON array sent element by element) and ``:countTokens``, under ``/v1beta`` and ``/v1``. Usage
follows Gemini's semantics: ``promptTokenCount`` includes ``cachedContentTokenCount``;
``candidatesTokenCount`` excludes ``thoughtsTokenCount``. Function calls arrive whole, each in
its own chunk.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from urllib.parse import parse_qs

import orjson

from bytespike.simulator.asgi import HttpAnswer
from bytespike.simulator.fields import BadRequest, dict_items, optional_int, string_list
from bytespike.simulator.plan import FinishReason, OfferedTool, ReplyPlan, TurnRequest, UsagePlan
from bytespike.simulator.streaming import CONTENT, FINAL, Frame, sse_data
from bytespike.simulator.vendor import Operation, Route, json_answer

STATUS_BY_HTTP = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ABORTED",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    500: "INTERNAL",
    501: "UNIMPLEMENTED",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
"""§4.6 gRPC status names; other 4xx are ``INVALID_ARGUMENT``, other 5xx ``INTERNAL``."""

FINISH_REASON_FROM_FINISH = {
    FinishReason.END: "STOP",
    # A function-call turn ends with STOP; callers infer tool use from the functionCall parts (§4.3).
    FinishReason.TOOL_USE: "STOP",
    FinishReason.MAX_TOKENS: "MAX_TOKENS",
    FinishReason.STOP_SEQUENCE: "STOP",
}

_SSE_SEPARATOR = b"\r\n\r\n"
_PROTO_NAMES = {
    "allowedFunctionNames": "allowed_function_names",
    "contents": "contents",
    "functionCallingConfig": "function_calling_config",
    "functionDeclarations": "function_declarations",
    "functionResponse": "function_response",
    "generateContentRequest": "generate_content_request",
    "generationConfig": "generation_config",
    "maxOutputTokens": "max_output_tokens",
    "parameters": "parameters",
    "parametersJsonSchema": "parameters_json_schema",
    "parts": "parts",
    "response": "response",
    "stopSequences": "stop_sequences",
    "toolConfig": "tool_config",
    "tools": "tools",
}
"""JSON name → proto field name of every request field the simulator reads (see `_field`)."""


def error_object(status: int, message: str, reason: str | None = None) -> dict[str, object]:
    error: dict[str, object] = {
        "code": status,
        "message": message,
        "status": STATUS_BY_HTTP.get(status, "INTERNAL" if status >= 500 else "INVALID_ARGUMENT"),
    }
    if reason is not None:
        error["details"] = [
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": reason,
                "domain": "googleapis.com",
            }
        ]
    return {"error": error}


class GeminiApi:
    """`VendorApi` for Gemini ``generateContent`` and friends."""

    def check_auth(
        self, headers: Mapping[bytes, bytes], query: bytes, api_key: str | None
    ) -> HttpAnswer | None:
        raw_key = headers.get(b"x-goog-api-key")
        key = raw_key.decode("latin-1").strip() if raw_key else None
        if not key and query:
            key = (parse_qs(query.decode("latin-1")).get("key") or [None])[0]
        if not key:
            # The real API answers an anonymous call with 403, a wrong key with 400 (§4.6).
            return json_answer(
                403,
                error_object(
                    403,
                    "Method doesn't allow unregistered callers (callers without established identity). "
                    "Please use API Key or other form of API consumer identity to call this API.",
                ),
            )
        if api_key is not None and key != api_key:
            return json_answer(
                400, error_object(400, "API key not valid. Please pass a valid API key.", "API_KEY_INVALID")
            )
        return None

    def error(self, status: int, message: str) -> HttpAnswer:
        headers = [(b"retry-after", b"1")] if status in (429, 503) else []
        return json_answer(status, error_object(status, message), headers)

    def error_in_body(self, status: int, message: str) -> HttpAnswer:
        return json_answer(200, error_object(status, message))

    def decode_turn(self, payload: dict[str, object], route: Route) -> TurnRequest:
        request: Mapping[str, object] = payload
        if (
            route.operation is Operation.COUNT_TOKENS
            and _field(payload, "generateContentRequest") is not None
        ):
            request = _object(payload, "generateContentRequest")
        contents = dict_items(_field(request, "contents"), "contents")
        if not contents and route.operation is Operation.GENERATE:
            raise BadRequest("* GenerateContentRequest.contents: contents is not specified")
        texts: list[str] = []
        results: list[str] = []
        has_result = False
        for content in _final_turn(contents):
            for part in dict_items(_field(content, "parts"), "contents.parts"):
                function_response = _field(part, "functionResponse")
                if isinstance(part.get("text"), str) and not part.get("thought"):
                    texts.append(str(part["text"]))
                elif isinstance(function_response, dict):
                    has_result = True
                    results.append(orjson.dumps(_object(function_response, "response")).decode())
        tools = []
        for tool in dict_items(_field(request, "tools"), "tools"):
            for declaration in dict_items(_field(tool, "functionDeclarations"), "tools.functionDeclarations"):
                if isinstance(declaration.get("name"), str):
                    schema = _object(declaration, "parametersJsonSchema") or _object(
                        declaration, "parameters"
                    )
                    tools.append(OfferedTool(str(declaration["name"]), schema))
        calling = _object(_object(request, "toolConfig"), "functionCallingConfig")
        allowed = _field(calling, "allowedFunctionNames")
        is_any = calling.get("mode") == "ANY"
        forced = allowed[0] if is_any and isinstance(allowed, list) and allowed else None
        generation = _object(request, "generationConfig")
        stop_sequences = _field(generation, "stopSequences")
        max_tokens = _field(generation, "maxOutputTokens")
        return TurnRequest(
            model=route.model or "gemini",
            stream=route.stream,
            user_text=" ".join(texts),
            tool_result_text=" ".join(results) if has_result else None,
            tools=tuple(tools),
            tools_disabled=calling.get("mode") == "NONE",
            forced_tool=forced if isinstance(forced, str) else None,
            max_tokens=optional_int({"maxOutputTokens": max_tokens}, "maxOutputTokens"),
            stop_sequences=string_list(stop_sequences, "generationConfig.stopSequences"),
        )

    def encode_reply(self, plan: ReplyPlan, payload: dict[str, object]) -> HttpAnswer:
        parts = [part for chunk in _part_chunks(plan, whole=True) for part in chunk] or [{"text": ""}]
        return json_answer(
            200, _chunk(plan, parts, FINISH_REASON_FROM_FINISH[plan.finish], _usage(plan.usage))
        )

    def stream_encoder(self, plan: ReplyPlan, payload: dict[str, object], route: Route) -> GeminiStream:
        return GeminiStream(plan, route.sse)

    def encode_count(self, tokens: int) -> HttpAnswer:
        return json_answer(
            200, {"totalTokens": tokens, "promptTokensDetails": [{"modality": "TEXT", "tokenCount": tokens}]}
        )


class GeminiStream:
    """``GenerateContentResponse`` chunks carrying only new parts; the last one finishes (§4.4)."""

    def __init__(self, plan: ReplyPlan, sse: bool) -> None:
        self.plan = plan
        self.sse = sse
        self.content_type = b"text/event-stream" if sse else b"application/json; charset=UTF-8"
        self.headers: list[tuple[bytes, bytes]] = []
        self.started = False

    def frames(self) -> Iterator[Frame]:
        plan = self.plan
        chunks = _part_chunks(plan, whole=False) or [[{"text": ""}]]
        running = _prompt_usage(plan.usage)
        for position, parts in enumerate(chunks):
            if position < len(chunks) - 1:
                yield Frame(self._element(_chunk(plan, parts, None, running)), CONTENT)
            else:
                final = _chunk(plan, parts, FINISH_REASON_FROM_FINISH[plan.finish], _usage(plan.usage))
                yield Frame(self._element(final), CONTENT | FINAL)
        if not self.sse:
            yield Frame(b"]", FINAL)

    def error_frames(self, message: str) -> list[bytes]:
        # Mid-stream failure is a frame whose JSON starts with {"error": (§4.4).
        frame = self._element(error_object(500, message))
        return [frame] if self.sse else [frame + b"]"]

    def _element(self, payload: dict[str, object]) -> bytes:
        if self.sse:
            return sse_data(payload, _SSE_SEPARATOR)
        prefix = b",\r\n" if self.started else b"["
        self.started = True
        return prefix + orjson.dumps(payload)


def parse_model_path(rest: str) -> tuple[str, str] | None:
    """``models/x:verb`` (or ``models/models/x:verb``, ``tunedModels/x:verb``) → (model, verb)."""
    resource, colon, verb = rest.rpartition(":")
    if not colon:
        return None
    for prefix in ("models/", "tunedModels/"):
        if resource.startswith(prefix):
            model = resource[len(prefix) :]
            model = model.removeprefix("models/")
            return (model, verb) if model else None
    return None


def _field(message: Mapping[str, object], camel_name: str) -> object:
    """A field by its JSON name or its proto name: Google's JSON parser accepts both, and
    google-genai 3.3.0 itself sends ``parameters_json_schema`` in snake case."""
    value = message.get(camel_name)
    if value is None:
        value = message.get(_PROTO_NAMES[camel_name])
    return value


def _object(message: Mapping[str, object], camel_name: str) -> dict[str, object]:
    value = _field(message, camel_name)
    return value if isinstance(value, dict) else {}


def _final_turn(contents: list[dict[str, object]]) -> list[dict[str, object]]:
    """Contents after the last ``model`` turn."""
    turn: list[dict[str, object]] = []
    for content in reversed(contents):
        if content.get("role") == "model":
            break
        turn.append(content)
    turn.reverse()
    return turn


def _part_chunks(plan: ReplyPlan, whole: bool) -> list[list[dict[str, object]]]:
    """Parts grouped as streamed (one group per delta), or one group per part when ``whole``."""
    chunks: list[list[dict[str, object]]] = []
    if plan.thinking:
        pieces = (plan.thinking,) if whole else plan.thinking_chunks
        chunks.extend([{"text": piece, "thought": True}] for piece in pieces)
        chunks[-1][0]["thoughtSignature"] = plan.signature
    if plan.text:
        pieces = (plan.text,) if whole else plan.text_chunks
        chunks.extend([{"text": piece}] for piece in pieces)
    for position, call in enumerate(plan.tool_calls):
        part: dict[str, object] = {
            "functionCall": {"id": f"call_{call.id_suffix}", "name": call.name, "args": call.arguments}
        }
        if plan.thinking and position == 0:
            # Gemini 3 signs the first function call of a step (§4.7).
            part["thoughtSignature"] = plan.signature
        chunks.append([part])
    return chunks


def _chunk(
    plan: ReplyPlan, parts: list[dict[str, object]], finish_reason: str | None, usage: dict[str, object]
) -> dict[str, object]:
    candidate: dict[str, object] = {"content": {"parts": parts, "role": "model"}, "index": 0}
    if finish_reason is not None:
        candidate["finishReason"] = finish_reason
    return {
        "candidates": [candidate],
        "usageMetadata": usage,
        "modelVersion": plan.model,
        "responseId": plan.key,
    }


def _prompt_usage(usage: UsagePlan) -> dict[str, object]:
    """What Gemini reports on chunks before the last: the prompt side only."""
    payload: dict[str, object] = {
        "promptTokenCount": usage.input_tokens,
        "totalTokenCount": usage.input_tokens,
    }
    if usage.cache_read_tokens:
        payload["cachedContentTokenCount"] = usage.cache_read_tokens
    return payload


def _usage(usage: UsagePlan) -> dict[str, object]:
    payload: dict[str, object] = {
        "promptTokenCount": usage.input_tokens,
        "candidatesTokenCount": usage.output_tokens - usage.reasoning_tokens,
        "totalTokenCount": usage.total_tokens,
        "promptTokensDetails": [{"modality": "TEXT", "tokenCount": usage.input_tokens}],
    }
    if usage.cache_read_tokens:
        payload["cachedContentTokenCount"] = usage.cache_read_tokens
    if usage.reasoning_tokens:
        payload["thoughtsTokenCount"] = usage.reasoning_tokens
    return payload
