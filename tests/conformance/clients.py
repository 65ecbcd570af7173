"""The four official SDK clients, each driven from one protocol-neutral description of a call.

An `Ask` says what the caller wants (a prompt, tools, an image, thinking, a JSON schema, stop
sequences, a token cap, streaming, the first turn of a tool round trip to continue); each client
writes it the way a user of that SDK would and reads the answer back through the SDK's own
accumulators — the strict oracles of protocols.md §8.3 (`MessageStream.get_final_message`,
`ChatCompletionStreamState`, `ResponseStreamState`, google-genai's frame parser). The `Reply` it
returns is in the caller's own terms (finish reasons are the protocol's raw values), except usage,
which is normalized the way DESIGN.md §2 defines it so billing can be checked.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import anthropic
import openai
import orjson
from google import genai
from google.genai import errors as genai_errors
from google.genai import types

from tests.web.billing import (
    ANTHROPIC,
    GEMINI,
    OPENAI_CHAT,
    ReportedUsage,
    from_anthropic,
    from_gemini,
    from_openai,
)

OPENAI_RESPONSES = "openai_responses"

# A 1×1 PNG (base64), small enough for every vendor's image limits.
PNG_BASE64 = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
PNG_MEDIA_TYPE = "image/png"

WEATHER_SCHEMA = {
    "type": "object",
    "properties": {
        "city": {"type": "string", "description": "City name."},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
    },
    "required": ["city", "unit"],
}
TIME_SCHEMA = {
    "type": "object",
    "properties": {"timezone": {"type": "string"}, "hour24": {"type": "boolean"}},
    "required": ["timezone", "hour24"],
}
TOOLS = (
    ("get_weather", "Current weather in a city.", WEATHER_SCHEMA),
    ("get_time", "Local time in a time zone.", TIME_SCHEMA),
)
EXPECTED_ARGUMENTS = {
    # What the simulator derives from each schema (simulator/schema_example.py): every required
    # property, strings "<name>-example", the first enum member, booleans true.
    "get_weather": {"city": "city-example", "unit": "celsius"},
    "get_time": {"timezone": "timezone-example", "hour24": True},
}
ANSWER_SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "population": {"type": "integer"}},
    "required": ["city", "population"],
    "additionalProperties": False,
}


# ---------------------------------------------------------------------------- what is asked


@dataclass(frozen=True)
class Ask:
    """One call, in no protocol's terms."""

    prompt: str
    stream: bool = False
    tools: bool = False
    force_tool: str | None = None
    """Tool choice naming this tool."""
    image: bool = False
    thinking: bool = False
    adaptive: bool = False
    """With ``thinking``: an Anthropic caller asks for adaptive thinking at high effort (what
    Claude Code sends to models that take no budget) instead of a token budget."""
    json_schema: bool = False
    stop: tuple[str, ...] = ()
    max_tokens: int | None = None
    prior: Reply | None = None
    """Continue this reply (turn 1 of a tool round trip) with ``tool_result`` for each call."""
    prior_prompt: str = ""
    tool_result: str = ""
    temperature: float | None = None
    top_k: int | None = None
    headers: Mapping[str, str] | None = None


# ---------------------------------------------------------------------------- what came back


@dataclass(frozen=True)
class ToolCall:
    id: str | None
    name: str
    arguments: dict[str, Any]
    raw_arguments: str


@dataclass
class Trace:
    """What a streamed call delivered so far (kept when the stream fails part-way)."""

    text_deltas: list[str] = field(default_factory=list)
    thinking_deltas: list[str] = field(default_factory=list)
    argument_deltas: int = 0
    events: int = 0


@dataclass
class Reply:
    text: str
    thinking: str
    calls: list[ToolCall]
    finish: str
    """The protocol's own finish value (Responses: ``status`` or ``incomplete:<reason>``)."""
    usage: ReportedUsage
    headers: dict[str, str]
    trace: Trace
    raw: Any
    """The SDK object (or the joined Gemini parts), for continuing the conversation."""
    stop_sequence: str | None = None
    thinking_signatures: list[str] = field(default_factory=list)
    streamed: bool = False

    @property
    def request_id(self) -> str:
        return self.headers["x-request-id"]

    @property
    def degraded(self) -> str | None:
        return self.headers.get("x-bytespike-degraded")


@dataclass(frozen=True)
class Failure:
    """An error as the SDK raised it, in the caller's protocol's terms."""

    status: int | None
    """HTTP status (None for an in-band stream error, which has none)."""
    kind: str | None
    """Anthropic ``error.type``, OpenAI ``code``, Google ``status``."""
    message: str
    headers: dict[str, str]


def _lower(headers: Mapping[str, str] | None) -> dict[str, str]:
    return {k.lower(): v for k, v in (headers or {}).items()}


def _json_object(raw: str) -> dict[str, Any]:
    value = orjson.loads(raw or "{}")
    assert isinstance(value, dict), raw
    return value


# ---------------------------------------------------------------------------- the clients


class Client:
    name: str
    """Column label in docs/compatibility.md."""
    protocol: str
    """``caller_protocol`` of the usage rows it leaves."""
    streams_arguments: bool = True
    """Whether the protocol streams tool arguments in fragments (Gemini sends whole calls)."""

    def __init__(self, base_url: str, secret: str) -> None:
        self.base_url = base_url
        self.secret = secret

    async def send(self, model: str, ask: Ask, trace: Trace | None = None) -> Reply:
        raise NotImplementedError

    def failure(self, exc: BaseException) -> Failure | None:
        """The SDK's error, or None when ``exc`` is not one of this SDK's API errors."""
        raise NotImplementedError

    async def close(self) -> None:
        pass


class AnthropicClient(Client):
    """``anthropic.AsyncAnthropic`` 2.x: ``messages.create`` / ``messages.stream``."""

    name = "anthropic"
    protocol = ANTHROPIC

    def __init__(self, base_url: str, secret: str, **options: Any) -> None:
        super().__init__(base_url, secret)
        self.sdk = anthropic.AsyncAnthropic(api_key=secret, base_url=base_url, max_retries=0, **options)

    async def close(self) -> None:
        await self.sdk.close()

    def params(self, model: str, ask: Ask) -> dict[str, Any]:
        content: list[dict[str, Any]] = [{"type": "text", "text": ask.prompt}]
        if ask.image:
            content.append(
                {
                    "type": "image",
                    "source": {"type": "base64", "media_type": PNG_MEDIA_TYPE, "data": PNG_BASE64},
                }
            )
        messages: list[dict[str, Any]] = []
        if ask.prior is not None:
            blocks = [b.model_dump(exclude_none=True) for b in ask.prior.raw.content]
            messages += [
                {"role": "user", "content": ask.prior_prompt},
                {"role": "assistant", "content": blocks},
                {
                    "role": "user",
                    "content": [
                        {"type": "tool_result", "tool_use_id": c.id, "content": ask.tool_result}
                        for c in ask.prior.calls
                    ],
                },
            ]
        else:
            messages.append({"role": "user", "content": content})
        params: dict[str, Any] = {
            "model": model,
            "max_tokens": ask.max_tokens or (4096 if ask.thinking else 1024),
            "messages": messages,
        }
        if ask.tools:
            params["tools"] = [{"name": n, "description": d, "input_schema": s} for n, d, s in TOOLS]
            if ask.force_tool:
                params["tool_choice"] = {"type": "tool", "name": ask.force_tool}
        if ask.thinking and ask.adaptive:
            params["thinking"] = {"type": "adaptive"}
            params["output_config"] = {"effort": "high"}
        elif ask.thinking:
            params["thinking"] = {"type": "enabled", "budget_tokens": 1024}
        if ask.json_schema:
            params["output_config"] = {"format": {"type": "json_schema", "schema": ANSWER_SCHEMA}}
        if ask.stop:
            params["stop_sequences"] = list(ask.stop)
        sampling = {"temperature": ask.temperature, "top_k": ask.top_k}
        if any(v is not None for v in sampling.values()):
            # SDK 2.x (API version 2026-10-21) has no sampling arguments; older versions do.
            params["extra_body"] = {k: v for k, v in sampling.items() if v is not None}
        if ask.headers:
            params["extra_headers"] = dict(ask.headers)
        return params

    async def send(self, model: str, ask: Ask, trace: Trace | None = None) -> Reply:
        trace = trace if trace is not None else Trace()
        params = self.params(model, ask)
        if ask.stream:
            async with self.sdk.messages.stream(**params) as s:
                async for event in s:
                    trace.events += 1
                    if event.type == "text" and event.text:
                        trace.text_deltas.append(event.text)
                    elif event.type == "thinking":
                        trace.thinking_deltas.append(event.thinking)
                    elif event.type == "input_json":
                        trace.argument_deltas += 1
                message = await s.get_final_message()
                headers = _lower(s.response.headers)
        else:
            raw = await self.sdk.messages.with_raw_response.create(**params)
            message = await raw.parse()
            headers = _lower(raw.headers)
        blocks = message.content
        return Reply(
            text="".join(b.text for b in blocks if b.type == "text"),
            thinking="".join(b.thinking for b in blocks if b.type == "thinking"),
            calls=[
                ToolCall(b.id, b.name, dict(b.input), orjson.dumps(b.input).decode())
                for b in blocks
                if b.type == "tool_use"
            ],
            finish=str(message.stop_reason),
            usage=from_anthropic(message.usage),
            headers=headers,
            trace=trace,
            raw=message,
            stop_sequence=message.stop_sequence,
            thinking_signatures=[b.signature for b in blocks if b.type == "thinking"],
            streamed=ask.stream,
        )

    def failure(self, exc: BaseException) -> Failure | None:
        if not isinstance(exc, anthropic.APIStatusError):
            return None
        body = exc.body if isinstance(exc.body, dict) else {}
        error = body.get("error") if isinstance(body.get("error"), dict) else {}
        # An in-band ``event: error`` is raised with the status of the (200) stream response.
        status = None if exc.response.status_code == 200 else exc.status_code
        return Failure(
            status, error.get("type"), str(error.get("message", exc)), _lower(exc.response.headers)
        )


class _OpenAIClient(Client):
    def __init__(self, base_url: str, secret: str) -> None:
        super().__init__(base_url, secret)
        self.sdk = openai.AsyncOpenAI(api_key=secret, base_url=base_url + "/v1", max_retries=0)

    async def close(self) -> None:
        await self.sdk.close()

    def failure(self, exc: BaseException) -> Failure | None:
        if isinstance(exc, openai.APIStatusError):
            body = exc.body if isinstance(exc.body, dict) else {}
            inner = body.get("error") if isinstance(body.get("error"), dict) else body
            return Failure(
                exc.status_code,
                inner.get("code") or exc.code,
                str(inner.get("message") or exc.message),
                _lower(exc.response.headers),
            )
        if isinstance(exc, openai.APIError):  # in-band error frame of a stream
            body = exc.body if isinstance(exc.body, dict) else {}
            return Failure(None, body.get("code") or exc.code, exc.message, {})
        if isinstance(exc, ResponsesStreamFailed):
            return Failure(None, exc.code, exc.message, exc.headers)
        return None


class ChatClient(_OpenAIClient):
    """``openai.AsyncOpenAI().chat.completions``: ``create`` / the ``stream`` helper."""

    name = "openai-chat"
    protocol = OPENAI_CHAT

    def params(self, model: str, ask: Ask) -> dict[str, Any]:
        messages: list[dict[str, Any]] = []
        if ask.prior is not None:
            message = ask.prior.raw.choices[0].message
            messages += [
                {"role": "user", "content": ask.prior_prompt},
                {
                    "role": "assistant",
                    "content": message.content,
                    "tool_calls": [
                        {
                            "id": tc.id,
                            "type": "function",
                            "function": {"name": tc.function.name, "arguments": tc.function.arguments},
                        }
                        for tc in message.tool_calls or []
                    ],
                },
                *(
                    {"role": "tool", "tool_call_id": c.id, "content": ask.tool_result}
                    for c in ask.prior.calls
                ),
            ]
        elif ask.image:
            messages.append(
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": ask.prompt},
                        {
                            "type": "image_url",
                            "image_url": {"url": f"data:{PNG_MEDIA_TYPE};base64,{PNG_BASE64}"},
                        },
                    ],
                }
            )
        else:
            messages.append({"role": "user", "content": ask.prompt})
        params: dict[str, Any] = {"model": model, "messages": messages}
        if ask.tools:
            params["tools"] = [
                {"type": "function", "function": {"name": n, "description": d, "parameters": s}}
                for n, d, s in TOOLS
            ]
            if ask.force_tool:
                params["tool_choice"] = {"type": "function", "function": {"name": ask.force_tool}}
        if ask.thinking:
            params["reasoning_effort"] = "high"
        if ask.json_schema:
            params["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "answer", "schema": ANSWER_SCHEMA, "strict": True},
            }
        if ask.stop:
            params["stop"] = list(ask.stop)
        if ask.max_tokens is not None:
            params["max_completion_tokens"] = ask.max_tokens
        if ask.temperature is not None:
            params["temperature"] = ask.temperature
        assert ask.top_k is None, "OpenAI Chat has no top_k"
        if ask.headers:
            params["extra_headers"] = dict(ask.headers)
        return params

    async def send(self, model: str, ask: Ask, trace: Trace | None = None) -> Reply:
        trace = trace if trace is not None else Trace()
        params = self.params(model, ask)
        reasoning: list[str] = []
        if ask.stream:
            async with self.sdk.chat.completions.stream(
                stream_options={"include_usage": True}, **params
            ) as s:
                async for event in s:
                    trace.events += 1
                    if event.type == "content.delta" and event.delta:
                        # (OpenAI's first chunk carries role and content "": no text yet.)
                        trace.text_deltas.append(event.delta)
                    elif event.type == "tool_calls.function.arguments.delta":
                        trace.argument_deltas += 1
                    elif event.type == "chunk" and event.chunk.choices:
                        piece = (event.chunk.choices[0].delta.model_extra or {}).get("reasoning_content")
                        if piece:
                            trace.thinking_deltas.append(piece)
                            reasoning.append(piece)
                try:
                    completion = await s.get_final_completion()
                except openai.LengthFinishReasonError as exc:
                    # The helper refuses to "parse" a reply cut by max tokens, but hands over
                    # the completion it accumulated (what a caller then reads).
                    completion = exc.completion
                headers = _lower(s._response.headers)
        else:
            raw = await self.sdk.chat.completions.with_raw_response.create(**params)
            completion = raw.parse()
            headers = _lower(raw.headers)
            extra = (completion.choices[0].message.model_extra or {}) if completion.choices else {}
            if extra.get("reasoning_content"):
                reasoning.append(extra["reasoning_content"])
        [choice] = completion.choices
        assert completion.usage is not None, "no usage in the completion"
        return Reply(
            text=choice.message.content or "",
            thinking="".join(reasoning),
            calls=[
                ToolCall(tc.id, tc.function.name, _json_object(tc.function.arguments), tc.function.arguments)
                for tc in choice.message.tool_calls or []
            ],
            finish=str(choice.finish_reason),
            usage=from_openai(completion.usage),
            headers=headers,
            trace=trace,
            raw=completion,
            streamed=ask.stream,
        )


class ResponsesStreamFailed(Exception):
    """A Responses stream that ended in ``error`` / ``response.failed`` (the SDK raises nothing
    for those itself: they are ordinary events to it)."""

    def __init__(self, code: str | None, message: str, headers: dict[str, str]) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.headers = headers


def from_responses(usage: Any) -> ReportedUsage:
    """Responses usage: ``input_tokens`` includes cached tokens, ``output_tokens`` reasoning."""
    details = usage.input_tokens_details
    out = usage.output_tokens_details
    write = 0
    if details is not None:
        write = getattr(details, "cache_write_tokens", None) or (details.model_extra or {}).get(
            "cache_write_tokens", 0
        )
    return ReportedUsage(
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        cache_read=(details.cached_tokens or 0) if details is not None else 0,
        cache_write=write or 0,
        reasoning=(out.reasoning_tokens or 0) if out is not None else 0,
    )


class ResponsesClient(_OpenAIClient):
    """``openai.AsyncOpenAI().responses``: ``create`` / the ``stream`` helper."""

    name = "openai-responses"
    protocol = OPENAI_RESPONSES

    def params(self, model: str, ask: Ask) -> dict[str, Any]:
        items: list[dict[str, Any]] = []
        if ask.prior is not None:
            items += [
                {"role": "user", "content": ask.prior_prompt},
                *(item.model_dump(exclude_none=True) for item in ask.prior.raw.output),
                *(
                    {"type": "function_call_output", "call_id": c.id, "output": ask.tool_result}
                    for c in ask.prior.calls
                ),
            ]
        else:
            content: list[dict[str, Any]] = [{"type": "input_text", "text": ask.prompt}]
            if ask.image:
                content.append(
                    {
                        "type": "input_image",
                        "image_url": f"data:{PNG_MEDIA_TYPE};base64,{PNG_BASE64}",
                        "detail": "auto",
                    }
                )
            items.append({"role": "user", "content": content})
        params: dict[str, Any] = {"model": model, "input": items}
        if ask.tools:
            params["tools"] = [
                {"type": "function", "name": n, "description": d, "parameters": s, "strict": False}
                for n, d, s in TOOLS
            ]
            if ask.force_tool:
                params["tool_choice"] = {"type": "function", "name": ask.force_tool}
        if ask.thinking:
            params["reasoning"] = {"effort": "high", "summary": "auto"}
        if ask.json_schema:
            params["text"] = {
                "format": {"type": "json_schema", "name": "answer", "schema": ANSWER_SCHEMA, "strict": True}
            }
        # Responses has no stop sequences (protocols.md §5.6): Ask.stop is not sent.
        if ask.max_tokens is not None:
            params["max_output_tokens"] = ask.max_tokens
        if ask.temperature is not None:
            params["temperature"] = ask.temperature
        assert ask.top_k is None, "OpenAI Responses has no top_k"
        if ask.headers:
            params["extra_headers"] = dict(ask.headers)
        return params

    async def send(self, model: str, ask: Ask, trace: Trace | None = None) -> Reply:
        trace = trace if trace is not None else Trace()
        params = self.params(model, ask)
        if ask.stream:
            terminal: Any = None
            async with self.sdk.responses.stream(**params) as s:
                headers = _lower(s._response.headers)
                async for event in s:
                    trace.events += 1
                    if event.type == "response.output_text.delta" and event.delta:
                        trace.text_deltas.append(event.delta)
                    elif event.type in (
                        "response.reasoning_summary_text.delta",
                        "response.reasoning_text.delta",
                    ):
                        trace.thinking_deltas.append(event.delta)
                    elif event.type == "response.function_call_arguments.delta":
                        trace.argument_deltas += 1
                    elif event.type == "error":
                        raise ResponsesStreamFailed(event.code, event.message, headers)
                    elif event.type in ("response.completed", "response.incomplete", "response.failed"):
                        terminal = event
                if terminal is None:
                    raise AssertionError("the Responses stream ended without a terminal event")
                if terminal.type == "response.failed":
                    err = terminal.response.error
                    raise ResponsesStreamFailed(
                        err.code if err else None, err.message if err else "response.failed", headers
                    )
                # get_final_response() accepts only response.completed; an incomplete response
                # (max_output_tokens) is final in the response.incomplete event itself.
                response = (
                    await s.get_final_response()
                    if terminal.type == "response.completed"
                    else terminal.response
                )
        else:
            raw = await self.sdk.responses.with_raw_response.create(**params)
            response = raw.parse()
            headers = _lower(raw.headers)
        thinking: list[str] = []
        calls: list[ToolCall] = []
        for item in response.output:
            if item.type == "reasoning":
                thinking += [s.text for s in item.summary or []]
                thinking += [c.text for c in item.content or []]
            elif item.type == "function_call":
                calls.append(ToolCall(item.call_id, item.name, _json_object(item.arguments), item.arguments))
        finish = response.status or ""
        if response.incomplete_details is not None:
            finish = f"{finish}:{response.incomplete_details.reason}"
        assert response.usage is not None, "no usage in the response"
        return Reply(
            text=response.output_text,
            thinking="".join(thinking),
            calls=calls,
            finish=finish,
            usage=from_responses(response.usage),
            headers=headers,
            trace=trace,
            raw=response,
            streamed=ask.stream,
        )


class GeminiClient(Client):
    """``google.genai.Client(...).aio.models``: ``generate_content`` / ``generate_content_stream``."""

    name = "google-genai"
    protocol = GEMINI
    streams_arguments = False

    def __init__(self, base_url: str, secret: str) -> None:
        super().__init__(base_url, secret)
        options = types.HttpOptions(
            base_url=base_url, api_version="v1beta", retry_options=types.HttpRetryOptions(attempts=1)
        )
        self.sdk = genai.Client(api_key=secret, http_options=options).aio

    async def close(self) -> None:
        await self.sdk.aclose()

    def request(self, ask: Ask) -> tuple[list[types.Content], types.GenerateContentConfig]:
        if ask.prior is not None:
            model_turn: types.Content = ask.prior.raw
            contents = [
                types.Content(role="user", parts=[types.Part(text=ask.prior_prompt)]),
                model_turn,
                types.Content(
                    role="user",
                    parts=[
                        types.Part(
                            function_response=types.FunctionResponse(
                                id=c.id, name=c.name, response={"result": ask.tool_result}
                            )
                        )
                        for c in ask.prior.calls
                    ],
                ),
            ]
        else:
            parts = [types.Part(text=ask.prompt)]
            if ask.image:
                parts.append(
                    types.Part(
                        inline_data=types.Blob(mime_type=PNG_MEDIA_TYPE, data=base64.b64decode(PNG_BASE64))
                    )
                )
            contents = [types.Content(role="user", parts=parts)]
        config = types.GenerateContentConfig(
            automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True)
        )
        if ask.tools:
            config.tools = [
                types.Tool(
                    function_declarations=[
                        types.FunctionDeclaration(name=n, description=d, parameters_json_schema=s)
                        for n, d, s in TOOLS
                    ]
                )
            ]
            if ask.force_tool:
                config.tool_config = types.ToolConfig(
                    function_calling_config=types.FunctionCallingConfig(
                        mode=types.FunctionCallingConfigMode.ANY, allowed_function_names=[ask.force_tool]
                    )
                )
        if ask.thinking:
            config.thinking_config = types.ThinkingConfig(thinking_budget=1024, include_thoughts=True)
        if ask.json_schema:
            config.response_mime_type = "application/json"
            config.response_json_schema = ANSWER_SCHEMA
        if ask.stop:
            config.stop_sequences = list(ask.stop)
        if ask.max_tokens is not None:
            config.max_output_tokens = ask.max_tokens
        if ask.temperature is not None:
            config.temperature = ask.temperature
        if ask.top_k is not None:
            config.top_k = ask.top_k
        if ask.headers:
            config.http_options = types.HttpOptions(headers=dict(ask.headers))
        return contents, config

    async def send(self, model: str, ask: Ask, trace: Trace | None = None) -> Reply:
        trace = trace if trace is not None else Trace()
        contents, config = self.request(ask)
        parts: list[types.Part] = []
        usage: Any = None
        finish: Any = None
        headers: dict[str, str] = {}
        if ask.stream:
            async for chunk in await self.sdk.models.generate_content_stream(
                model=model, contents=contents, config=config
            ):
                trace.events += 1
                headers = headers or _lower(
                    chunk.sdk_http_response.headers if chunk.sdk_http_response else {}
                )
                usage = chunk.usage_metadata or usage
                for candidate in chunk.candidates or []:
                    finish = candidate.finish_reason or finish
                    for part in (candidate.content.parts if candidate.content else None) or []:
                        parts.append(part)
                        if part.text and part.thought:
                            trace.thinking_deltas.append(part.text)
                        elif part.text:
                            trace.text_deltas.append(part.text)
                        elif part.function_call is not None:
                            trace.argument_deltas += 1
        else:
            response = await self.sdk.models.generate_content(model=model, contents=contents, config=config)
            headers = _lower(response.sdk_http_response.headers if response.sdk_http_response else {})
            usage = response.usage_metadata
            [candidate] = response.candidates
            finish = candidate.finish_reason
            parts = list((candidate.content.parts if candidate.content else None) or [])
        assert usage is not None, "no usageMetadata in the reply"
        calls = [
            ToolCall(
                p.function_call.id,
                str(p.function_call.name),
                dict(p.function_call.args or {}),
                orjson.dumps(p.function_call.args or {}).decode(),
            )
            for p in parts
            if p.function_call is not None
        ]
        return Reply(
            text="".join(p.text for p in parts if p.text and not p.thought),
            thinking="".join(p.text for p in parts if p.text and p.thought),
            calls=calls,
            finish=finish.name if finish is not None else "",
            usage=from_gemini(usage),
            headers=headers,
            trace=trace,
            # The model turn as a caller sends it back (parts joined, signatures kept).
            raw=types.Content(role="model", parts=parts),
            streamed=ask.stream,
        )

    def failure(self, exc: BaseException) -> Failure | None:
        if not isinstance(exc, genai_errors.APIError):
            return None
        response = getattr(exc, "response", None)
        headers = getattr(response, "headers", None)
        # An in-band {"error": …} frame is raised with the code written in it (no HTTP status of
        # its own), so ``status`` is the error's code either way.
        return Failure(exc.code, exc.status, str(exc.message), _lower(headers) if headers else {})


CLIENTS: dict[str, type[Client]] = {
    c.name: c for c in (AnthropicClient, ChatClient, ResponsesClient, GeminiClient)
}
