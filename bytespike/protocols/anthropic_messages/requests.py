"""Anthropic Messages request bodies: shape checks for the fast path, and the codec both ways.

`check_request` guards the same-protocol fast path. `decode_request` maps a body of either
``anthropic-version`` (2023-06-01 with sampling params, 2026-10-21 without) to the canonical
`Request`; `encode_request` builds a body the real API accepts from any canonical request.

Round trip. ``encode_request(decode_request(body), model=body["model"], …)`` gives ``body``
back, except for these normalizations:

* a string ``content`` (message, ``system``, ``tool_result``) becomes a list of one text block;
  an empty string there is dropped (``system: ""``, ``content: ""``);
* turns that end up empty are dropped, consecutive same-role turns are merged (the API merges
  them too), ``tool_result`` blocks move to the front of their user turn, a text block that is
  blank in a turn without other text is dropped, and a misplaced inline ``system`` message is
  appended to ``system``;
* a final assistant turn (prefill) loses trailing whitespace, which Anthropic rejects;
* legacy top-level ``output_format`` stays legacy under 2023-06-01 only (2026-10-21 gets
  ``output_config.format``);
* ``cache_control.ttl: null`` is omitted, and so are unknown keys of image/document ``source``
  objects;
* a thinking block with an empty signature is dropped (Anthropic rejects it; it can only come
  from a translated stream, protocols.md §5.7).

Everything else — unknown keys at any level, explicit nulls and defaults such as
``stream: false`` or ``is_error: false`` — comes back verbatim.

Whatever has no canonical field is kept in ``Request.extras["anthropic_messages"]`` and put back
only when the request goes to Anthropic: ``body`` (unmapped top-level fields: ``speed``, ``container``, ``context_management``, …, and fields whose value maps to nothing such
as ``stream: false``), ``nested`` (unmapped keys of ``metadata``, ``output_config``,
``thinking``, ``tool_choice``, ``output_config.format``), ``server_tools`` (``[[position,
tool]]``), ``tool_fields`` (per client-tool name: ``type``, ``defer_loading``, …),
``part_fields`` (per ``"i.j"`` media/tool-result block: see `blocks.BlockFields`),
``thinking_type`` (``"between_tools"``) and ``output_format`` (legacy placement).
"""

from __future__ import annotations

import re
from typing import Any

from bytespike.canonical.degradation import Degradations
from bytespike.canonical.parts import Part, TextPart
from bytespike.canonical.request import STANDARD_SERVICE_TIERS, Message, Request
from bytespike.errors import invalid_request
from bytespike.protocols.anthropic_messages import NAME
from bytespike.protocols.anthropic_messages.blocks import (
    BlockFields,
    decode_block,
    decode_cache_control,
    encode_cache_control,
    encode_text,
)
from bytespike.protocols.anthropic_messages.cache_breakpoints import cap_cache_breakpoints
from bytespike.protocols.anthropic_messages.fields import (
    leftovers,
    opt_bool,
    opt_int,
    opt_list,
    opt_number,
    with_leftovers,
)
from bytespike.protocols.anthropic_messages.messages import (
    MessageEncoder,
    continues_tool_turn_without_thinking,
)
from bytespike.protocols.anthropic_messages.reasoning import (
    decode_output,
    encode_format,
    encode_reasoning,
    fit_budget,
)
from bytespike.protocols.anthropic_messages.tools import (
    decode_tool_choice,
    decode_tools,
    encode_tool_choice,
    encode_tools,
)
from bytespike.protocols.anthropic_messages.versions import (
    SAMPLING_PARAMS,
    V2023_06_01,
    rejects_sampling_params,
)
from bytespike.protocols.extras import foreign_fields

ROLES = frozenset({"user", "assistant", "system"})

DEFAULT_MAX_TOKENS = 4096
"""``max_tokens`` is required by Anthropic; a caller that gave none gets LiteLLM's default
(protocols.md §5.6)."""

COUNT_TOKENS_FIELDS = frozenset(
    {"model", "messages", "system", "tools", "tool_choice", "thinking", "output_config", "cache_control"}
    | {"speed", "context_management", "mcp_servers"}
)
"""What ``/v1/messages/count_tokens`` takes (protocols.md §1.8): no ``max_tokens``."""
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
SERVICE_TIER_TO_ANTHROPIC = {"auto": "auto", "default": "standard_only"}
"""Canonical (OpenAI) tier → ``service_tier`` (``auto``: priority capacity when the account has
it, else standard; ``standard_only``). OpenAI's ``flex``/``scale``/``priority`` have no match."""
SERVICE_TIER_FROM_ANTHROPIC = {v: k for k, v in SERVICE_TIER_TO_ANTHROPIC.items()}


def check_request(body: Any, *, count_tokens: bool = False) -> None:
    if not isinstance(body, dict):
        raise invalid_request("request body must be a JSON object")
    if not isinstance(body.get("model"), str):
        raise invalid_request("model: field required (string)", "model")
    if not count_tokens:
        mt = body.get("max_tokens")
        if mt is None:
            raise invalid_request("max_tokens: field required", "max_tokens")
        if not isinstance(mt, int) or isinstance(mt, bool) or mt < 0:
            raise invalid_request("max_tokens: must be a non-negative integer", "max_tokens")
    messages = body.get("messages")
    if not isinstance(messages, list):
        raise invalid_request("messages: field required (array)", "messages")
    for i, m in enumerate(messages):
        if not isinstance(m, dict):
            raise invalid_request(f"messages.{i}: must be an object", f"messages.{i}")
        if m.get("role") not in ROLES:
            raise invalid_request(
                f"messages.{i}.role: must be one of user, assistant, system", f"messages.{i}.role"
            )
        content = m.get("content")
        if not isinstance(content, str | list):
            raise invalid_request(
                f"messages.{i}.content: must be a string or an array", f"messages.{i}.content"
            )
        if isinstance(content, list):
            for j, block in enumerate(content):
                if not isinstance(block, dict) or not isinstance(block.get("type"), str):
                    raise invalid_request(
                        f"messages.{i}.content.{j}: must be an object with a type",
                        f"messages.{i}.content.{j}",
                    )
    system = body.get("system")
    if system is not None and not isinstance(system, str | list):
        raise invalid_request("system: must be a string or an array of text blocks", "system")
    if "stream" in body and not isinstance(body["stream"], bool):
        raise invalid_request("stream: must be a boolean", "stream")
    for name in ("temperature", "top_p"):
        if name in body and (not isinstance(body[name], int | float) or isinstance(body[name], bool)):
            raise invalid_request(f"{name}: must be a number", name)
    if "tools" in body and not isinstance(body["tools"], list):
        raise invalid_request("tools: must be an array", "tools")
    if "stop_sequences" in body and not (
        isinstance(body["stop_sequences"], list) and all(isinstance(s, str) for s in body["stop_sequences"])
    ):
        raise invalid_request("stop_sequences: must be an array of strings", "stop_sequences")


def max_output_tokens(body: dict[str, Any]) -> int:
    return int(body.get("max_tokens") or 0)


# ---------------------------------------------------------------------------------------------
# decode


def decode_request(body: Any, *, count_tokens: bool = False) -> Request:
    """An Anthropic body (``/v1/messages``, or ``count_tokens`` without ``max_tokens``) as a
    canonical `Request`; anything malformed is a 400 naming the field."""
    if not isinstance(body, dict):
        raise invalid_request("request body must be a JSON object")
    consumed = {"model", "messages"}
    extras: dict[str, Any] = {}
    nested: dict[str, dict[str, Any]] = {}
    model = body.get("model")
    if not isinstance(model, str):
        raise invalid_request("model: field required (string)", "model")
    max_tokens = opt_int(body, "max_tokens", "max_tokens")
    if max_tokens is None and not count_tokens:
        raise invalid_request("max_tokens: field required", "max_tokens")
    raw_messages = body.get("messages")
    if not isinstance(raw_messages, list):
        raise invalid_request("messages: field required (array)", "messages")
    part_fields: dict[str, BlockFields] = {}
    messages = tuple(_decode_message(m, i, part_fields) for i, m in enumerate(raw_messages))

    system = _decode_system(body.get("system"))
    stop = tuple(opt_list(body, "stop_sequences", "stop_sequences") or ())
    for k, s in enumerate(stop):
        if not isinstance(s, str):
            raise invalid_request(f"stop_sequences[{k}]: must be a string", f"stop_sequences[{k}]")
    stream = opt_bool(body, "stream", "stream")
    sampling = {
        "temperature": opt_number(body, "temperature", "temperature"),
        "top_p": opt_number(body, "top_p", "top_p"),
        "top_k": opt_int(body, "top_k", "top_k"),
    }
    tools, server_tools, tool_fields = decode_tools(opt_list(body, "tools", "tools") or [])
    tool_choice = decode_tool_choice(body.get("tool_choice"), nested)
    reasoning, response_format, output_fields = decode_output(body, nested, extras)
    user_id = _decode_metadata(body.get("metadata"), nested)
    cache_control = decode_cache_control(body.get("cache_control"), "cache_control")
    tier = body.get("service_tier")
    service_tier = SERVICE_TIER_FROM_ANTHROPIC.get(tier) if isinstance(tier, str) else None

    for key, present in (
        ("max_tokens", max_tokens is not None),
        ("system", bool(system)),
        ("stop_sequences", bool(stop)),
        ("stream", bool(stream)),
        ("tools", bool(body.get("tools"))),
        ("tool_choice", tool_choice is not None),
        ("metadata", user_id is not None),
        ("cache_control", cache_control is not None),
        ("service_tier", service_tier is not None),
        *((name, value is not None) for name, value in sampling.items()),
    ):
        if present:
            consumed.add(key)
    consumed |= output_fields
    if rest := leftovers(body, consumed):
        extras["body"] = rest
    if nested:
        extras["nested"] = nested
    if server_tools:
        extras["server_tools"] = server_tools
    if tool_fields:
        extras["tool_fields"] = tool_fields
    if part_fields:
        extras["part_fields"] = part_fields
    return Request(
        model=model,
        messages=messages,
        system=system,
        tools=tools,
        tool_choice=tool_choice,
        max_tokens=max_tokens,
        temperature=sampling["temperature"],
        top_p=sampling["top_p"],
        top_k=sampling["top_k"],
        stop=stop,
        stream=bool(stream),
        response_format=response_format,
        reasoning=reasoning,
        user_id=user_id,
        cache_control=cache_control,
        service_tier=service_tier,
        extras={NAME: extras} if extras else {},
    )


def _decode_message(m: Any, i: int, part_fields: dict[str, BlockFields]) -> Message:
    path = f"messages[{i}]"
    if not isinstance(m, dict):
        raise invalid_request(f"{path}: must be an object", path)
    role = m.get("role")
    if role not in ROLES:
        raise invalid_request(f"{path}.role: must be one of user, assistant, system", f"{path}.role")
    content = m.get("content")
    parts: list[Part] = []
    if isinstance(content, str):
        if content:
            parts.append(TextPart(content))
    elif isinstance(content, list):
        for j, block in enumerate(content):
            part, fields = decode_block(block, f"{path}.content[{j}]")
            if role == "system" and not isinstance(part, TextPart):
                raise invalid_request(
                    f"{path}.content[{j}]: a system message holds only text blocks", f"{path}.content[{j}]"
                )
            if fields:
                part_fields[f"{i}.{j}"] = fields
            parts.append(part)
    else:
        raise invalid_request(f"{path}.content: must be a string or an array", f"{path}.content")
    return Message(role, tuple(parts))


def _decode_system(system: Any) -> tuple[TextPart, ...]:
    if system is None:
        return ()
    if isinstance(system, str):
        return (TextPart(system),) if system else ()
    if not isinstance(system, list):
        raise invalid_request("system: must be a string or an array of text blocks", "system")
    parts = []
    for j, block in enumerate(system):
        part, _ = decode_block(block, f"system[{j}]")
        if not isinstance(part, TextPart):
            raise invalid_request(f"system[{j}]: must be a text block", f"system[{j}]")
        parts.append(part)
    return tuple(parts)


def _decode_metadata(metadata: Any, nested: dict[str, dict[str, Any]]) -> str | None:
    if not isinstance(metadata, dict) or not isinstance(metadata.get("user_id"), str):
        return None  # kept verbatim among the body leftovers
    if rest := leftovers(metadata, ("user_id",)):
        nested["metadata"] = rest
    return metadata["user_id"]


# ---------------------------------------------------------------------------------------------
# encode


def encode_request(
    req: Request,
    *,
    model: str,
    deg: Degradations,
    version: str = V2023_06_01,
    count_tokens: bool = False,
) -> dict[str, Any]:
    """A body for ``POST /v1/messages`` (or ``count_tokens``) under ``anthropic-version``
    ``version``; what Anthropic cannot take is reported to ``deg`` or is a 400."""
    ours: dict[str, Any] = req.extras.get(NAME, {})
    for protocol, fields in req.extras.items():
        if protocol != NAME:
            for key in foreign_fields(protocol, fields):
                deg.drop(key, f"only {protocol} understands it")
    nested: dict[str, dict[str, Any]] = ours.get("nested", {})
    body: dict[str, Any] = {"model": model}

    hoisted, messages = MessageEncoder(deg, version, ours.get("part_fields", {})).encode(req.messages)
    system = [b for j, p in enumerate(req.system) if (b := encode_text(p, f"system[{j}]", deg)) is not None]
    system += hoisted
    if system and not any(b["text"].strip() for b in system):
        system = []  # blank-only system text is rejected like blank message text
    if system:
        body["system"] = system
    body["messages"] = messages

    thinking, effort = encode_reasoning(req, deg, ours, nested.get("thinking"), model)
    if (
        thinking is not None
        and thinking["type"] == "enabled"
        and continues_tool_turn_without_thinking(messages)
    ):
        deg.drop("thinking", "the tool-use turn being answered has no Anthropic thinking block")
        thinking = None
    max_tokens = req.max_tokens
    if thinking is not None and thinking["type"] == "enabled":
        max_tokens = fit_budget(thinking, max_tokens, DEFAULT_MAX_TOKENS, deg)
    elif max_tokens is None and thinking is not None and req.reasoning and req.reasoning.budget_tokens:
        # A budget sent as adaptive thinking keeps the room the budget would have had.
        max_tokens = req.reasoning.budget_tokens + DEFAULT_MAX_TOKENS
    thinking_on = thinking is not None and thinking["type"] != "disabled"
    if thinking is not None:
        body["thinking"] = thinking

    output_config = dict(nested.get("output_config", {}))
    if effort is not None:
        output_config["effort"] = effort
    if (fmt := encode_format(req.response_format, deg, nested.get("format"))) is not None:
        if ours.get("output_format") and not rejects_sampling_params(version):
            body["output_format"] = fmt
        else:
            output_config["format"] = fmt
    if output_config:
        body["output_config"] = output_config

    tools = encode_tools(req.tools, deg, ours.get("tool_fields", {}))
    for position, tool in ours.get("server_tools", ()):
        tools.insert(min(position, len(tools)), tool)
    if tools:
        body["tools"] = tools
    if (choice := encode_tool_choice(req.tool_choice, bool(tools), thinking_on, deg)) is not None:
        body["tool_choice"] = with_leftovers(choice, nested.get("tool_choice"))
    if req.cache_control is not None:
        body["cache_control"] = encode_cache_control(req.cache_control, "cache_control", deg)

    if not count_tokens:
        body["max_tokens"] = max_tokens if max_tokens is not None else DEFAULT_MAX_TOKENS
        if req.stream:
            body["stream"] = True
        stop = [s for s in req.stop if s.strip()]
        if len(stop) != len(req.stop):
            # Anthropic rejects whitespace-only stop sequences (LiteLLM drops them too).
            deg.drop("stop_sequences", "blank stop sequences are rejected by Anthropic")
        if stop:
            body["stop_sequences"] = stop
        body.update(_encode_sampling(req, version, thinking_on, deg))
        if (metadata := _encode_metadata(req.user_id, nested.get("metadata"), deg)) is not None:
            body["metadata"] = metadata
        _encode_service_tier(body, req.service_tier, deg)

    with_leftovers(body, ours.get("body"))
    if rejects_sampling_params(version):
        for name in SAMPLING_PARAMS:
            body.pop(name, None)
    if count_tokens:
        body = {k: v for k, v in body.items() if k in COUNT_TOKENS_FIELDS}
    cap_cache_breakpoints(body, deg)
    return body


def _encode_sampling(req: Request, version: str, thinking_on: bool, deg: Degradations) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in (("temperature", req.temperature), ("top_p", req.top_p), ("top_k", req.top_k)):
        if value is None:
            continue
        if rejects_sampling_params(version):
            deg.drop(name, f"Anthropic API version {version} rejects it")
            continue
        if thinking_on and (
            (name == "temperature" and value != 1) or name == "top_k" or (name == "top_p" and value < 0.95)
        ):
            # Thinking is incompatible with temperature/top_k changes; top_p must be ≥ 0.95.
            deg.drop(name, "Anthropic does not allow it with thinking")
            continue
        if name == "temperature" and value > 1:
            deg.drop(name, "Anthropic's temperature range is 0–1; clamped to 1")
            value = 1
        out[name] = value
    return out


def _encode_service_tier(body: dict[str, Any], tier: str | None, deg: Degradations) -> None:
    if tier is None:
        return
    if (wire := SERVICE_TIER_TO_ANTHROPIC.get(tier)) is not None:
        body["service_tier"] = wire
    elif tier not in STANDARD_SERVICE_TIERS:
        deg.drop("service_tier", f"Anthropic's tiers are auto and standard_only, not {tier!r}")


def _encode_metadata(
    user_id: str | None, leftover: dict[str, Any] | None, deg: Degradations
) -> dict[str, Any] | None:
    metadata = dict(leftover or {})
    if user_id is not None:
        if _EMAIL.fullmatch(user_id):
            # metadata.user_id must be an opaque id, no PII (LiteLLM checks the same).
            deg.drop(
                "metadata.user_id", "looks like an e-mail address; Anthropic forbids personal data there"
            )
        else:
            metadata["user_id"] = user_id
    return metadata or None
