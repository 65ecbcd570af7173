"""OpenAI Responses requests (protocols.md §3.1): shape checks, decode to and encode from `Request`.

Round trip: ``encode_request(decode_request(body))`` gives ``body`` back except for these
normalizations (none changes what the API does):

* ``input`` given as a string comes back as one user message item;
* every message item carries ``"type": "message"``; user, system and developer content is a
  list (a string becomes one ``input_text`` part);
* assistant content whose ``output_text`` parts carry nothing but text (empty or no
  ``annotations``, no item ``id``) is sent as one string, the ``EasyInputMessage`` form;
* an ``input_image`` without ``detail`` gets ``"detail": "auto"``;
* ``input_file.file_data`` without a ``data:`` prefix comes back as a data URL;
* a ``function_call_output.output`` that is a list of exactly one plain ``input_text`` comes back
  as a string, and an empty list as ``""``;
* a function tool without ``parameters`` gets ``"parameters": null``;
* a message item with empty ``content`` is dropped, and so are empty ``instructions`` and an
  empty ``tools`` array;
* mapped fields sent as ``null`` (``instructions``, ``max_output_tokens``, ``temperature``,
  ``top_p``, ``user``, ``service_tier``, ``tools``, ``tool_choice``, ``parallel_tool_calls``,
  ``text``, ``reasoning``) and ``stream: false`` are omitted;
* a ``reasoning`` effort sent as ``null`` is omitted.

Everything without a canonical field (``previous_response_id``, ``store``, ``metadata``,
``include``, ``truncation``, hosted tools, …) is kept verbatim in ``extras["openai_responses"]``;
the gateway reads ``previous_response_id`` there to chain stored responses itself.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from bytespike.canonical.degradation import Degradations
from bytespike.canonical.parts import OpaquePart, TextPart
from bytespike.canonical.request import Reasoning, Request, ResponseFormat
from bytespike.errors import invalid_request
from bytespike.protocols.extras import foreign_fields
from bytespike.protocols.openai_responses import NAME
from bytespike.protocols.openai_responses.items import ToolOutputFields, decode_input, encode_input
from bytespike.protocols.openai_responses.tools import (
    HOSTED_TOOLS,
    RAW_TOOL_CHOICE,
    decode_tool_choice,
    decode_tools,
    encode_tool_choice,
    encode_tools,
)

MEDIA_OPTIONS = "media_options"
TOOL_OUTPUT_FIELDS = "tool_output_fields"
REASONING_OPTIONS = "reasoning_options"
"""Extras key: ``reasoning`` fields besides ``effort`` (``summary``, ``context``, ``mode``, …)."""
TEXT_OPTIONS = "text_options"
"""Extras key: ``text`` fields besides ``format`` (``verbosity``)."""
FORMAT_FIELDS = "format_fields"
"""Extras key: ``text.format`` fields ResponseFormat has no slot for (``description``)."""
CODEC_KEYS = frozenset(
    {
        MEDIA_OPTIONS,
        TOOL_OUTPUT_FIELDS,
        REASONING_OPTIONS,
        TEXT_OPTIONS,
        FORMAT_FIELDS,
        "hosted_tools",
        "tool_fields",
        "strict_omitted",
        "raw_tool_choice",
        "tool_choice_omitted",
    }
)
"""Extras keys that are this codec's bookkeeping, not wire fields."""
MAPPED_FIELDS = frozenset(
    {
        "model",
        "input",
        "instructions",
        "tools",
        "tool_choice",
        "parallel_tool_calls",
        "max_output_tokens",
        "temperature",
        "top_p",
        "stream",
        "text",
        "reasoning",
        "user",
        "service_tier",
    }
)
"""Wire fields with a canonical home; every other field goes to extras verbatim."""
EFFORTS = frozenset({"none", "minimal", "low", "medium", "high", "xhigh", "max"})
EFFORT_FROM_BUDGET = ((2048, "low"), (16384, "medium"))
"""A thinking budget (tokens) → effort: ≤2048 low, ≤16384 medium, above that high (the inverse of
LiteLLM's effort→budget buckets, widened because Anthropic callers budget 10k–32k)."""
MIN_OUTPUT_TOKENS = 16
"""The API rejects ``max_output_tokens`` below 16 ("integer below minimum value")."""
FORMAT_KINDS = frozenset({"text", "json_object", "json_schema"})
HOSTED_WEB_SEARCH = frozenset({"web_search", "web_search_preview"})
"""Hosted tools another vendor may lose without refusing the request: Codex always sends
``web_search`` (anomalyco/opencode PR #40210), so refusing it would lock Codex out."""
GATEWAY_FIELDS = frozenset({"store", "stream_options", "previous_response_id"})
"""Served by the gateway itself on every route, so never lost: ``store`` and
``previous_response_id`` by its own response store, ``stream_options`` by the relay's streaming."""
DROP_REASONS = {
    "include": "no other vendor returns these extra outputs (encrypted reasoning, logprobs, …)",
    "metadata": "other vendors keep no tags with a response",
    "prompt_cache_key": "OpenAI's cache routing hint; other vendors cache by prefix alone",
    "prompt_cache_retention": "other vendors set cache lifetimes per breakpoint, if at all",
    "prompt_cache_options": "OpenAI's implicit/explicit cache mode and lifetime",
    "truncation": "other vendors do not cut an over-long input; they refuse it",
}
"""Why each Responses-only field is reported on a translated route (the strict-mode 400 says it)."""
NEUTRAL_VALUES: dict[str, Any] = {"truncation": "disabled"}
"""Values that ask for what every vendor does anyway (``truncation: disabled``: fail rather than
cut the input), so dropping them loses nothing."""
NATIVE_ONLY_EXTRAS = frozenset({"conversation", "prompt", "background", "context_management"})
"""Fields that need OpenAI's server-side state: a request carrying them cannot be translated."""


def _number(body: dict[str, Any], name: str) -> None:
    v = body.get(name)
    if v is not None and (not isinstance(v, int | float) or isinstance(v, bool)):
        raise invalid_request(f"{name}: must be a number", name)


def _typed(body: dict[str, Any], name: str, kind: type | tuple[type, ...], what: str) -> None:
    v = body.get(name)
    if v is not None and not isinstance(v, kind):
        raise invalid_request(f"{name}: must be {what}", name)


def check_request(body: Any) -> None:
    """Shape checks before relaying (fast path); each failure names the field."""
    if not isinstance(body, dict):
        raise invalid_request("request body must be a JSON object")
    if not isinstance(body.get("model"), str):
        raise invalid_request("model: field required (string)", "model")
    raw_input = body.get("input")
    if raw_input is not None and not isinstance(raw_input, str | list):
        raise invalid_request("input: must be a string or an array of items", "input")
    if isinstance(raw_input, list):
        for i, item in enumerate(raw_input):
            if not isinstance(item, dict):
                raise invalid_request(f"input[{i}]: must be an object", f"input[{i}]")
    v = body.get("max_output_tokens")
    if v is not None and (not isinstance(v, int) or isinstance(v, bool) or v < 0):
        raise invalid_request("max_output_tokens: must be a non-negative integer", "max_output_tokens")
    if "stream" in body and body["stream"] is not None and not isinstance(body["stream"], bool):
        raise invalid_request("stream: must be a boolean", "stream")
    _number(body, "temperature")
    _number(body, "top_p")
    _typed(body, "instructions", str, "a string")
    _typed(body, "tools", list, "an array")
    _typed(body, "tool_choice", str | dict, "a string or an object")
    for name in ("text", "reasoning", "metadata"):
        _typed(body, name, dict, "an object")
    _typed(body, "include", list, "an array")
    _typed(body, "previous_response_id", str, "a string")
    _typed(body, "user", str, "a string")
    _typed(body, "service_tier", str, "a string")


def max_output_tokens(body: dict[str, Any]) -> int:
    v = body.get("max_output_tokens")
    return v if isinstance(v, int) and not isinstance(v, bool) else 0


def decode_request(body: Any) -> Request:
    """A Responses request body as a canonical `Request` (400 naming the field if malformed)."""
    check_request(body)
    extras: dict[str, Any] = {k: v for k, v in body.items() if k not in MAPPED_FIELDS}
    media: dict[str, dict[str, Any]] = {}
    tool_outputs: ToolOutputFields = {}
    system, messages = decode_input(body.get("input"), media, tool_outputs)
    instructions = body.get("instructions")
    if instructions:
        system = (TextPart(instructions), *system)
    tools = decode_tools(body.get("tools"), extras)
    tool_choice = decode_tool_choice(body, extras)
    response_format = _decode_text(body.get("text"), extras)
    reasoning = _decode_reasoning(body.get("reasoning"), extras)
    for key, value in ((MEDIA_OPTIONS, media), (TOOL_OUTPUT_FIELDS, tool_outputs)):
        if value:
            extras[key] = value
    return Request(
        model=body["model"],
        messages=messages,
        system=system,
        tools=tools,
        tool_choice=tool_choice,
        max_tokens=body.get("max_output_tokens"),
        temperature=body.get("temperature"),
        top_p=body.get("top_p"),
        stream=body.get("stream") is True,
        response_format=response_format,
        reasoning=reasoning,
        user_id=body.get("user"),
        service_tier=body.get("service_tier"),
        extras={NAME: extras} if extras else {},
    )


def _decode_text(text: Any, extras: dict[str, Any]) -> ResponseFormat | None:
    if text is None:
        return None
    rest = {k: v for k, v in text.items() if k != "format"}
    if rest:
        extras[TEXT_OPTIONS] = rest
    fmt = text.get("format")
    if fmt is None:
        return None
    if not isinstance(fmt, dict) or fmt.get("type") not in FORMAT_KINDS:
        raise invalid_request(
            "text.format.type: must be text, json_object or json_schema", "text.format.type"
        )
    kind = fmt["type"]
    if kind != "json_schema":
        fields = {k: v for k, v in fmt.items() if k != "type"}
        if fields:
            extras[FORMAT_FIELDS] = fields
        return ResponseFormat(kind)
    name, schema, strict = fmt.get("name"), fmt.get("schema"), fmt.get("strict")
    if not isinstance(name, str):
        raise invalid_request("text.format.name: field required (string)", "text.format.name")
    if not isinstance(schema, dict):
        raise invalid_request("text.format.schema: field required (object)", "text.format.schema")
    if strict is not None and not isinstance(strict, bool):
        raise invalid_request("text.format.strict: must be a boolean", "text.format.strict")
    fields = {k: v for k, v in fmt.items() if k not in ("type", "name", "schema", "strict")}
    if fields:
        extras[FORMAT_FIELDS] = fields
    return ResponseFormat("json_schema", schema, name, strict)


def _decode_reasoning(raw: Any, extras: dict[str, Any]) -> Reasoning | None:
    if raw is None:
        return None
    effort = raw.get("effort")
    if effort is not None and effort not in EFFORTS:
        raise invalid_request(
            f"reasoning.effort: must be one of {', '.join(sorted(EFFORTS))}", "reasoning.effort"
        )
    rest = {k: v for k, v in raw.items() if k != "effort"}
    if rest:
        extras[REASONING_OPTIONS] = rest
    summary = raw.get("summary") or raw.get("generate_summary")
    return Reasoning(
        enabled=None if effort is None else effort != "none",
        effort=None if effort in (None, "none") else effort,
        include_thoughts=True if summary else None,
    )


def encode_request(req: Request, *, model: str, deg: Degradations) -> dict[str, Any]:
    """A Responses body for ``req``; what the wire cannot express is reported to ``deg`` (or is a
    400 when losing it would change the prompt: audio/video, another vendor's file id)."""
    extras = req.extras.get(NAME, {})
    for protocol, theirs in req.extras.items():
        if protocol != NAME:
            for key in foreign_fields(protocol, theirs):
                deg.drop(key, f"only {protocol} understands it")
    media = extras.get(MEDIA_OPTIONS, {})
    instructions, items = encode_input(req, deg, media, extras.get(TOOL_OUTPUT_FIELDS, {}))
    body: dict[str, Any] = {"model": model, "input": items}
    if instructions is not None:
        body["instructions"] = instructions
    if req.tools or extras.get(HOSTED_TOOLS):
        body["tools"] = encode_tools(req, extras, deg)
    if req.tool_choice is not None:
        encode_tool_choice(req.tool_choice, extras, body)
    if req.max_tokens is not None:
        if req.max_tokens < MIN_OUTPUT_TOKENS:
            deg.drop("max_tokens", f"raised to {MIN_OUTPUT_TOKENS}, the Responses minimum")
        body["max_output_tokens"] = max(req.max_tokens, MIN_OUTPUT_TOKENS)
    if req.temperature is not None:
        body["temperature"] = req.temperature
    if req.top_p is not None:
        body["top_p"] = req.top_p
    if req.top_k is not None:
        deg.drop("top_k", "OpenAI Responses has no top_k")
    if req.stop:
        # protocols.md §5.6/§5.14: Responses has no stop sequences.
        deg.drop("stop", "OpenAI Responses has no stop sequences")
    if req.stream:
        body["stream"] = True
    text = _encode_text(req.response_format, extras)
    if text is not None:
        body["text"] = text
    if req.reasoning is not None:
        body["reasoning"] = _encode_reasoning(req.reasoning, extras, deg)
    if req.user_id is not None:
        body["user"] = req.user_id
    if req.service_tier is not None:
        body["service_tier"] = req.service_tier
    if req.cache_control is not None:
        deg.drop("cache_control", "OpenAI Responses has no cache_control breakpoints")
    for key, value in extras.items():
        if key not in CODEC_KEYS and key not in body:
            body[key] = value
    return body


def _encode_text(fmt: ResponseFormat | None, extras: dict[str, Any]) -> dict[str, Any] | None:
    rest = extras.get(TEXT_OPTIONS)
    if fmt is None:
        return dict(rest) if rest else None
    wire: dict[str, Any] = {"type": fmt.kind}
    if fmt.kind == "json_schema":
        # The wire requires a name (^[a-zA-Z0-9_-]{1,64}$) and a schema; other vendors have neither.
        wire["name"] = fmt.name or "response"
        wire["schema"] = fmt.schema if fmt.schema is not None else {"type": "object"}
        if fmt.strict is not None:
            wire["strict"] = fmt.strict
    wire.update(extras.get(FORMAT_FIELDS, {}))
    return {**(rest or {}), "format": wire}


def _encode_reasoning(r: Reasoning, extras: dict[str, Any], deg: Degradations) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if r.enabled is False:
        out["effort"] = "none"
    elif r.effort is not None:
        if r.effort in EFFORTS:
            out["effort"] = r.effort
        else:
            deg.drop("reasoning.effort", f"OpenAI has no effort {r.effort!r}")
    elif r.budget_tokens is not None:
        out["effort"] = next((e for limit, e in EFFORT_FROM_BUDGET if r.budget_tokens <= limit), "high")
    out.update(extras.get(REASONING_OPTIONS, {}))
    if r.include_thoughts and "summary" not in out and "generate_summary" not in out:
        out["summary"] = "auto"
    return out


def require_translatable(req: Request, deg: Degradations) -> Request:
    """Call before sending a Responses caller's request to ANOTHER protocol: that encoder never
    reads ``extras["openai_responses"]``, so what lives only there is refused here (400 naming
    the field), lifted into a canonical field (``safety_identifier`` → ``user_id``) or reported
    to ``deg``; returns the request to encode. ``previous_response_id`` must already be resolved
    (`GATEWAY_FIELDS`)."""
    extras = req.extras.get(NAME, {})
    for index, tool in extras.get(HOSTED_TOOLS, ()):
        if tool.get("type") in HOSTED_WEB_SEARCH:
            deg.drop(f"tools[{index}]", "hosted web search runs only on OpenAI")
        else:
            raise invalid_request(
                f"tools[{index}]: the hosted {tool.get('type')} tool runs only on OpenAI models",
                f"tools[{index}]",
            )
    if RAW_TOOL_CHOICE in extras:
        raise invalid_request("tool_choice: this tool_choice needs an OpenAI model", "tool_choice")
    for key in sorted(NATIVE_ONLY_EXTRAS & extras.keys()):
        if extras[key]:
            raise invalid_request(f"{key}: needs an OpenAI model (server-side state)", key)
    for msg in req.messages:
        for part in msg.parts:
            if isinstance(part, OpaquePart) and part.protocol == NAME:
                path = part.data.get("path", "input")
                raise invalid_request(f"{path}: this item can only be sent to an OpenAI model", path)
    for key in sorted(extras.keys() - CODEC_KEYS - GATEWAY_FIELDS - NATIVE_ONLY_EXTRAS - {"safety_identifier"}):
        value = extras[key]
        if value is None or value == {} or value == [] or NEUTRAL_VALUES.get(key) == value:
            continue
        deg.drop(key, DROP_REASONS.get(key, "only OpenAI Responses understands it"))
    text_options = extras.get(TEXT_OPTIONS, {})
    for key in sorted(text_options):
        deg.drop(f"text.{key}", "only OpenAI Responses understands it")
    return _with_end_user(req, extras.get("safety_identifier"), deg)


def _with_end_user(req: Request, safety_identifier: Any, deg: Degradations) -> Request:
    """``safety_identifier`` (OpenAI's successor of ``user``) is the canonical end-user id other
    vendors take (Anthropic ``metadata.user_id``); it wins over ``user``, as in OpenAI Chat."""
    if not isinstance(safety_identifier, str) or not safety_identifier:
        return req
    if req.user_id not in (None, safety_identifier):
        deg.drop("user", "safety_identifier is sent as the end-user id instead")
    return replace(req, user_id=safety_identifier)
