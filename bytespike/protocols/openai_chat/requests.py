"""OpenAI Chat requests: shape checks for the fast path, and decode/encode via the canonical model.

`decode_request` keeps what the canonical `Request` has no field for in
``extras["openai_chat"]``: ``fields`` holds top-level wire fields verbatim under their wire names
(``n``, ``seed``, ``logit_bias``, ``metadata``, ``store``, ``prompt_cache_key``,
unknown extensions such as vLLM's ``top_k`` …; other encoders read e.g. ``fields["n"]``), and
``layout`` the round-trip bookkeeping (``developer`` roles, ``name``s, which max-tokens field was
used, original ``tools``/``tool_choice``/``response_format``/media parts, re-sent verbatim while
they still decode to the same canonical value). Legacy ``functions``/``function_call`` decode to
tools and tool_choice (assistant ``function_call`` and ``function`` messages to tool calls and
results with ids ``call_legacy_<n>``) and are written back in the legacy form.

`encode_request` writes for ``flavor="openai"`` (OpenAI, any full-format host) or
``"deepseek"`` (see `hosts`). ``encode_request(decode_request(body))`` gives ``body`` back except
for these normalizations:

- a content that is exactly one plain text part is written as a string, an empty array as ``""``;
- an assistant message always has ``content`` (``null`` when it only calls tools);
- a tool call without ``type`` gets ``"type": "function"``; a ``function`` message's ``null``
  content becomes ``""``; an empty ``tools`` array is left out;
- ``stream: true`` always carries ``stream_options.include_usage: true`` (billing needs the usage
  chunk; whether the caller sees it is the `StreamEncoder`'s ``include_usage``), and
  ``stream_options`` without ``stream: true`` (which OpenAI rejects) is left out.

Nothing else is lost silently: whatever the host cannot take is reported to ``deg`` (field names
in ``X-ByteSpike-Degraded``) or, where dropping it would change the answer, is a 400 naming it.
"""

from __future__ import annotations

import hashlib
from typing import Any, assert_never

from bytespike.canonical.degradation import Degradations
from bytespike.canonical.request import (
    STANDARD_SERVICE_TIERS,
    Reasoning,
    Request,
    ResponseFormat,
)
from bytespike.errors import invalid_request
from bytespike.protocols.extras import foreign_fields
from bytespike.protocols.openai_chat import NAME
from bytespike.protocols.openai_chat.hosts import (
    DEEPSEEK_FIELDS,
    DEEPSEEK_THINKING_REJECTS,
    MAX_TOKENS_FIELD_OF_FLAVOR,
    Flavor,
    deepseek_effort,
)
from bytespike.protocols.openai_chat.identifiers import encode_tool_name
from bytespike.protocols.openai_chat.messages import MessageDecoder, MessageEncoder
from bytespike.protocols.openai_chat.tools import decode_tooling, encode_tooling
from bytespike.protocols.openai_chat.wire_fields import optional, required

ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "function"})
MODELED_FIELDS = frozenset(
    {
        "model",
        "messages",
        "max_completion_tokens",
        "max_tokens",
        "temperature",
        "top_p",
        "stop",
        "stream",
        "tools",
        "functions",
        "tool_choice",
        "function_call",
        "parallel_tool_calls",
        "response_format",
        "reasoning_effort",
        "thinking",
        "user",
        "safety_identifier",
        "service_tier",
    }
)
"""Top-level fields with a canonical home; every other field travels in ``extras``."""
EFFORT_FROM_BUDGET = ((1024, "low"), (2048, "medium"))
"""Thinking budget → effort, the inverse of LiteLLM's buckets (low 1024 / medium 2048 / high 4096,
protocols.md §5.7); larger budgets are ``high``."""
MAX_STOP_SEQUENCES = {"openai": 4, "deepseek": 16}
# OpenAI: "Up to 4 sequences" (CompletionCreateParams.stop); DeepSeek: "up to 16 strings".
MAX_USER_ID = 64
"""OpenAI rejects longer ``safety_identifier``/``user`` values (Claude Code's are ~150 chars)."""


def _int_field(body: dict[str, Any], name: str) -> None:
    v = body.get(name)
    if v is not None and (not isinstance(v, int) or isinstance(v, bool) or v < 0):
        raise invalid_request(f"{name}: must be a non-negative integer", name)


def check_request(body: Any) -> None:
    if not isinstance(body, dict):
        raise invalid_request("request body must be a JSON object")
    if not isinstance(body.get("model"), str):
        raise invalid_request("model: field required (string)", "model")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise invalid_request("messages: field required (non-empty array)", "messages")
    for i, m in enumerate(messages):
        if not isinstance(m, dict):
            raise invalid_request(f"messages[{i}]: must be an object", f"messages[{i}]")
        if m.get("role") not in ROLES:
            raise invalid_request(
                f"messages[{i}].role: must be one of {', '.join(sorted(ROLES))}", f"messages[{i}].role"
            )
        content = m.get("content")
        if content is not None and not isinstance(content, str | list):
            raise invalid_request(
                f"messages[{i}].content: must be a string or an array", f"messages[{i}].content"
            )
    for name in ("max_tokens", "max_completion_tokens", "n"):
        _int_field(body, name)
    if "stream" in body and not isinstance(body["stream"], bool):
        raise invalid_request("stream: must be a boolean", "stream")
    so = body.get("stream_options")
    if so is not None and not isinstance(so, dict):
        raise invalid_request("stream_options: must be an object", "stream_options")
    for name in ("temperature", "top_p", "presence_penalty", "frequency_penalty"):
        if (
            name in body
            and body[name] is not None
            and (not isinstance(body[name], int | float) or isinstance(body[name], bool))
        ):
            raise invalid_request(f"{name}: must be a number", name)
    if "tools" in body and not isinstance(body["tools"], list):
        raise invalid_request("tools: must be an array", "tools")


def max_output_tokens(body: dict[str, Any]) -> int:
    return int(body.get("max_completion_tokens") or body.get("max_tokens") or 0)


def wants_usage(body: dict[str, Any]) -> bool:
    so = body.get("stream_options")
    return isinstance(so, dict) and bool(so.get("include_usage"))


# ---------------------------------------------------------------------------------------- decode


def decode_response_format(fmt: Any) -> ResponseFormat:
    kind = fmt.get("type") if isinstance(fmt, dict) else None
    match kind:
        case "text" | "json_object":
            return ResponseFormat(kind)
        case "json_schema":
            spec = fmt.get("json_schema")
            return ResponseFormat(
                "json_schema",
                schema=optional(spec, "schema", dict, "response_format.json_schema"),
                name=required(spec, "name", str, "response_format.json_schema"),
                strict=optional(spec, "strict", bool, "response_format.json_schema"),
            )
        case _:
            raise invalid_request(
                "response_format.type: must be text, json_object or json_schema", "response_format.type"
            )


def _is_deepseek_thinking(thinking: Any) -> bool:
    return (
        isinstance(thinking, dict)
        and thinking.keys() == {"type"}
        and thinking["type"] in ("enabled", "disabled")
    )


def _decode_reasoning(
    body: dict[str, Any], layout: dict[str, Any], fields: dict[str, Any]
) -> Reasoning | None:
    effort = optional(body, "reasoning_effort", str, "")
    thinking = body.get("thinking")
    enabled: bool | None = None
    if effort == "none":
        enabled, effort = False, None
        layout["effort_none"] = True
    if _is_deepseek_thinking(thinking):
        # DeepSeek's switch: {"thinking": {"type": "enabled"|"disabled"}} (thinking mode guide).
        enabled = thinking["type"] == "enabled"
        layout["thinking"] = thinking
    elif thinking is not None:
        fields["thinking"] = thinking
    if enabled is None and effort is None:
        return None
    if enabled is None:
        # An effort level asks for reasoning (protocols.md §5.7: effort → adaptive thinking), as the
        # Responses decoder reads ``reasoning.effort``; without this Claude got effort and no thinking.
        enabled = True
    return Reasoning(enabled=enabled, effort=effort)


def _decode_stop(stop: Any, layout: dict[str, Any]) -> tuple[str, ...]:
    if stop is None:
        return ()
    if isinstance(stop, str):
        layout["stop_string"] = True
        return (stop,)
    if isinstance(stop, list) and all(isinstance(s, str) for s in stop):
        return tuple(stop)
    raise invalid_request("stop: must be a string or an array of strings", "stop")


def _decode_user_id(body: dict[str, Any], layout: dict[str, Any], fields: dict[str, Any]) -> str | None:
    safety, user = optional(body, "safety_identifier", str, ""), optional(body, "user", str, "")
    if safety is not None:
        if user is not None:
            fields["user"] = user
        return safety
    if user is not None:
        layout["user_field"] = "user"
    return user


def decode_request(body: dict[str, Any]) -> Request:
    """An OpenAI Chat (or DeepSeek) request body → canonical; 400 naming the field if malformed."""
    check_request(body)
    layout: dict[str, Any] = {}
    # A null modeled field means "absent"; it is kept verbatim so it can be written back.
    fields = {k: v for k, v in body.items() if k not in MODELED_FIELDS or (v is None and k != "model")}
    if body.get("stream") is False:
        fields["stream"] = False
    max_tokens = body.get("max_completion_tokens")
    if max_tokens is None and body.get("max_tokens") is not None:
        max_tokens = body["max_tokens"]
        layout["max_tokens_field"] = "max_tokens"
    elif body.get("max_tokens") is not None:
        fields["max_tokens"] = body["max_tokens"]
    tools, tool_choice = decode_tooling(body, layout)
    response_format = None
    if body.get("response_format") is not None:
        response_format = decode_response_format(body["response_format"])
        layout["response_format"] = body["response_format"]
    reasoning = _decode_reasoning(body, layout, fields)
    user_id = _decode_user_id(body, layout, fields)
    stop = _decode_stop(body.get("stop"), layout)
    messages = MessageDecoder(layout)
    messages.decode(body["messages"])
    return Request(
        model=body["model"],
        messages=tuple(messages.messages),
        system=tuple(messages.system),
        tools=tools,
        tool_choice=tool_choice,
        max_tokens=max_tokens,
        temperature=body.get("temperature"),
        top_p=body.get("top_p"),
        stop=stop,
        stream=body.get("stream") is True,
        response_format=response_format,
        reasoning=reasoning,
        user_id=user_id,
        service_tier=optional(body, "service_tier", str, ""),
        extras={NAME: {k: v for k, v in (("fields", fields), ("layout", layout)) if v}},
    )


# ---------------------------------------------------------------------------------------- encode


def _encode_response_format(
    fmt: ResponseFormat, layout: dict[str, Any], flavor: Flavor, deg: Degradations
) -> dict[str, Any]:
    original = layout.get("response_format")
    if flavor == "openai" and original is not None and decode_response_format(original) == fmt:
        return original
    match fmt.kind:
        case "text" | "json_object":
            return {"type": fmt.kind}
        case "json_schema":
            if flavor == "deepseek":
                deg.drop("response_format.json_schema", "DeepSeek offers JSON mode without a schema")
                return {"type": "json_object"}
            spec: dict[str, Any] = {"name": encode_tool_name(fmt.name or "response")}
            if fmt.schema is not None:
                spec["schema"] = fmt.schema
            if fmt.strict is not None:
                spec["strict"] = fmt.strict
            return {"type": "json_schema", "json_schema": spec}
        case _:
            assert_never(fmt.kind)


def effort_for_budget(budget: int) -> str:
    return next((effort for limit, effort in EFFORT_FROM_BUDGET if budget <= limit), "high")


def _encode_reasoning(
    body: dict[str, Any], reasoning: Reasoning, layout: dict[str, Any], flavor: Flavor, deg: Degradations
) -> None:
    effort = reasoning.effort
    if effort is None and reasoning.budget_tokens is not None:
        effort = effort_for_budget(reasoning.budget_tokens)
        deg.drop("reasoning.budget_tokens", f"OpenAI-style APIs take an effort level; sent {effort!r}")
    is_on = reasoning.enabled is not False
    if flavor == "deepseek":
        if reasoning.enabled is not None:
            body["thinking"] = {"type": "enabled" if reasoning.enabled else "disabled"}
        if effort is not None and is_on:
            body["reasoning_effort"] = deepseek_effort(effort)
        return
    thinking = layout.get("thinking")
    if thinking is not None and (thinking["type"] == "enabled") == reasoning.enabled:
        body["thinking"] = thinking  # the caller's own DeepSeek-style switch, for a compatible host
        if not is_on and layout.get("effort_none"):
            body["reasoning_effort"] = "none"
    elif not is_on:
        body["reasoning_effort"] = "none"
    if effort is not None and is_on:
        body["reasoning_effort"] = effort
    if reasoning.include_thoughts:
        deg.drop("reasoning.include_thoughts", "OpenAI Chat does not return reasoning text")


def _encode_stop(stop: tuple[str, ...], layout: dict[str, Any], flavor: Flavor, deg: Degradations) -> Any:
    limit = MAX_STOP_SEQUENCES[flavor]
    if len(stop) > limit:
        deg.drop("stop", f"at most {limit} stop sequences are accepted; the rest were left out")
        stop = stop[:limit]
    return stop[0] if len(stop) == 1 and layout.get("stop_string") else list(stop)


def _encode_user_id(
    body: dict[str, Any], req: Request, layout: dict[str, Any], flavor: Flavor, deg: Degradations
) -> None:
    user_id = req.user_id
    if user_id is None:
        return
    if flavor == "deepseek":
        deg.drop("user_id", "DeepSeek has no end-user identifier field")
        return
    if NAME not in req.extras and len(user_id) > MAX_USER_ID:
        # Still one stable id per end user, within OpenAI's length limit.
        user_id = hashlib.sha256(user_id.encode()).hexdigest()
    body[layout.get("user_field", "safety_identifier")] = user_id


def _encode_service_tier(body: dict[str, Any], tier: str | None, flavor: Flavor, deg: Degradations) -> None:
    if tier is None:
        return
    if flavor == "openai":
        body["service_tier"] = tier
    elif tier not in STANDARD_SERVICE_TIERS:
        deg.drop("service_tier", f"DeepSeek has no {tier!r} processing tier")


def _copy_fields(
    body: dict[str, Any], fields: dict[str, Any], req: Request, flavor: Flavor, deg: Degradations
) -> None:
    thinking = not (req.reasoning is not None and req.reasoning.enabled is False)
    for key, value in fields.items():
        if key in body or (key == "stream_options" and not req.stream):
            continue  # OpenAI rejects stream_options unless stream is true
        if flavor == "openai":
            body[key] = value
        elif value is None:
            continue
        elif key == "n":
            if value > 1:
                raise invalid_request("n: DeepSeek returns one choice; n > 1 cannot be served", "n")
        elif key in DEEPSEEK_THINKING_REJECTS and thinking:
            deg.drop(key, "DeepSeek rejects it in thinking mode, its default")
        elif key in DEEPSEEK_FIELDS:
            body[key] = value
        else:
            deg.drop(key, "DeepSeek does not accept it")


def encode_request(
    req: Request,
    *,
    model: str,
    deg: Degradations,
    flavor: Flavor = "openai",
    max_tokens_field: str | None = None,
) -> dict[str, Any]:
    """A canonical request as an OpenAI Chat body for ``flavor``'s host; drops go to ``deg``.

    ``max_tokens_field`` is the field the host reads the token limit from (the catalogue's
    ``max_tokens_field``); None means the flavor's own. A Chat caller's legacy ``max_tokens`` is
    written back as such unless the host reads only ``max_tokens`` anyway."""
    own = req.extras.get(NAME, {})
    for protocol, extras in req.extras.items():
        if protocol != NAME:
            for key in foreign_fields(protocol, extras):
                deg.drop(key, f"only {protocol} understands it")
    layout: dict[str, Any] = own.get("layout", {})
    fields: dict[str, Any] = own.get("fields", {})
    messages = MessageEncoder(flavor, deg, layout).encode(req.system, req.messages)
    if not messages:
        raise invalid_request("messages: at least one message is required", "messages")
    body: dict[str, Any] = {"model": model, "messages": messages}
    if req.max_tokens is not None:
        field = max_tokens_field or MAX_TOKENS_FIELD_OF_FLAVOR[flavor]
        body[layout.get("max_tokens_field", field)] = req.max_tokens
    if req.temperature is not None:
        body["temperature"] = req.temperature
    if req.top_p is not None:
        body["top_p"] = req.top_p
    if req.top_k is not None:
        deg.drop("top_k", "OpenAI Chat has no top_k")
    if req.stop:
        body["stop"] = _encode_stop(req.stop, layout, flavor, deg)
    if req.stream:
        # Always ask for the usage chunk: billing reads it (protocols.md §5.9).
        body["stream"] = True
        body["stream_options"] = {**(fields.get("stream_options") or {}), "include_usage": True}
    encode_tooling(body, req, layout, flavor, deg)
    if req.response_format is not None:
        body["response_format"] = _encode_response_format(req.response_format, layout, flavor, deg)
    if req.reasoning is not None:
        _encode_reasoning(body, req.reasoning, layout, flavor, deg)
    _encode_user_id(body, req, layout, flavor, deg)
    _encode_service_tier(body, req.service_tier, flavor, deg)
    if req.cache_control is not None:
        deg.drop("cache_control", "OpenAI Chat has no cache_control; its prompt caching is automatic")
    _copy_fields(body, fields, req, flavor, deg)
    return body
