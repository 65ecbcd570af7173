"""Gemini ``generateContent`` requests: the fast-path shape check, and decode/encode ↔ canonical.

`decode_request` reads a request body (camelCase, snake_case accepted) into a canonical `Request`;
`encode_request` writes a body for the Gemini API *without* ``model`` (it goes in the URL path).
What only Gemini understands is kept in ``Request.extras["gemini"]``: ``safetySettings``,
``cachedContent`` and any other unknown top-level field verbatim; ``tools`` (non-function tools);
``generationConfig`` (knobs with no canonical slot); ``toolConfig`` (when the tool choice cannot
say all of it); ``functionDeclarations`` (per-name declaration fields such as ``behavior``, and
an OpenAPI ``parameters``); ``responseSchema`` (an OpenAPI response schema); ``partExtras``
(part fields such as ``videoMetadata``, `contents.PART_EXTRAS`; other protocols' encoders report
them, `contents.foreign_part_fields`).

Thought signatures (protocols.md §4.7): Gemini's own come back byte-exact; signatures issued by
other protocols are never sent to Gemini (reported as dropped); in each model turn that has
``functionCall`` parts and no signature on any part, the first call gets the documented sentinel
``skip_thought_signature_validator``.

Round trip ``encode_request(decode_request(body))`` gives ``body`` back except for these
normalizations:

* ``model`` in the body is dropped (it belongs in the URL); snake_case field names become
  camelCase; a string ``systemInstruction`` becomes ``{"parts": [{"text": …}]}`` and its ``role``
  is dropped (Gemini ignores it); roles ``function``/``tool`` and a missing role become ``user``;
* integral numbers sent as floats (``"topK": 3.0``) become integers; ``thinkingLevel`` is
  upper-cased; ``functionCall.args`` and ``functionResponse.response`` are always present;
* consecutive contents of the same role are merged; text parts that are empty and unsigned are
  dropped (Gemini rejects them); a model turn with function calls and no ``thoughtSignature``
  gets the sentinel on its first call;
* all ``functionDeclarations`` go into one Tool object placed before the other tools;
* a ``functionResponse`` without ``id`` answering a call that has one gets that id; a response
  ``{"output": "<JSON object text>"}`` becomes that object, and a non-string scalar ``error``
  becomes a string;
* a ``responseSchema``/``responseJsonSchema`` without ``responseMimeType`` gets
  ``application/json`` (Gemini requires it); an empty ``generationConfig`` is left out.

`encode_request` reports with ``deg.drop`` (canonical field paths): ``messages[i].parts[j]``
(another vendor's opaque block, non-text content of a system message),
``….signature`` (thinking signed by another vendor; its text is still sent as a thought),
``….provider_data`` (another vendor's part data), ``….cache_control`` and ``system[k].cache_control``,
``….filename``/``….title`` of media, ``tools[i].strict``, ``tools[i].cache_control``,
``tool_choice.parallel`` (False), ``tool_choice`` (forcing a call with no declarations),
``toolConfig`` (a kept Gemini toolConfig the tool choice no longer matches), ``stop`` (more than
five: the first five are sent), ``response_format.name``, ``user_id``, ``cache_control``,
``service_tier`` (one Gemini does not offer), and
each field another protocol kept in ``Request.extras`` (by its own name). It raises a 400
`GatewayError` naming the field for: a tool result whose function name cannot be found, media
Gemini cannot read (another vendor's file id, inline data of unknown MIME type, nothing to
send), a function name outside Gemini's rule, and a conversation with nothing left to send.
"""

from __future__ import annotations

import re
from typing import Any

from bytespike.canonical.degradation import Degradations
from bytespike.canonical.parts import TextPart
from bytespike.canonical.request import STANDARD_SERVICE_TIERS, Request
from bytespike.errors import invalid_request
from bytespike.protocols.extras import foreign_fields
from bytespike.protocols.gemini import NAME
from bytespike.protocols.gemini.casing import camel_keys
from bytespike.protocols.gemini.contents import PART_EXTRAS, decode_contents, encode_messages
from bytespike.protocols.gemini.generation import (
    GenerationSettings,
    decode_generation_config,
    encode_generation_config,
)
from bytespike.protocols.gemini.tools import (
    decode_tool_config,
    decode_tools,
    encode_tool_config,
    encode_tools,
)

_GEMINI_GENERATION = re.compile(r"gemini-(\d+)")
_DECODED_FIELDS = ("contents", "systemInstruction", "tools", "toolConfig", "generationConfig", "model")
_BOOKKEEPING = (
    "tools",
    "functionDeclarations",
    "toolConfig",
    "generationConfig",
    "responseSchema",
    PART_EXTRAS,
)
"""``extras["gemini"]`` keys `encode_request` places itself; the rest are top-level fields."""
SERVICE_TIER_TO_GEMINI = {"flex": "flex", "priority": "priority"}
"""Canonical (OpenAI) tier → ``serviceTier`` (google-genai ``ServiceTier`` values); the standard
tiers are Gemini's default and are left out, OpenAI's ``scale`` has no match."""


def check_request(body: Any) -> None:
    if not isinstance(body, dict):
        raise invalid_request("request body must be a JSON object")
    contents = body.get("contents")
    if not isinstance(contents, list) or not contents:
        raise invalid_request("contents: field required (non-empty array)", "contents")
    for i, c in enumerate(contents):
        if not isinstance(c, dict):
            raise invalid_request(f"contents[{i}]: must be an object", f"contents[{i}]")
        if "role" in c and c["role"] not in ("user", "model", "function", "tool", None):
            raise invalid_request(f"contents[{i}].role: must be 'user' or 'model'", f"contents[{i}].role")
        parts = c.get("parts")
        if not isinstance(parts, list):
            raise invalid_request(f"contents[{i}].parts: field required (array)", f"contents[{i}].parts")
        for j, p in enumerate(parts):
            if not isinstance(p, dict):
                raise invalid_request(
                    f"contents[{i}].parts[{j}]: must be an object", f"contents[{i}].parts[{j}]"
                )
    gc = body.get("generationConfig")
    if gc is not None:
        if not isinstance(gc, dict):
            raise invalid_request("generationConfig: must be an object", "generationConfig")
        mot = gc.get("maxOutputTokens")
        if mot is not None and (not isinstance(mot, int) or isinstance(mot, bool) or mot < 0):
            raise invalid_request(
                "generationConfig.maxOutputTokens: must be a non-negative integer",
                "generationConfig.maxOutputTokens",
            )
    si = body.get("systemInstruction")
    if si is not None and not isinstance(si, dict | str):
        raise invalid_request("systemInstruction: must be a Content object", "systemInstruction")


def max_output_tokens(body: dict[str, Any]) -> int:
    gc = body.get("generationConfig") or {}
    return int(gc.get("maxOutputTokens") or 0)


def media_in_function_responses(model: str) -> bool:
    """Whether ``model`` takes images inside ``functionResponse.parts`` (Gemini 3 onwards;
    https://ai.google.dev/gemini-api/docs/function-calling#multimodal). Unknown names: yes."""
    match = _GEMINI_GENERATION.search(model)
    return match is None or int(match.group(1)) >= 3


def decode_request(body: dict[str, Any]) -> Request:
    """A Gemini request body → canonical `Request` (400 naming the field for malformed input).

    ``model`` is the body's ``model`` field when present, else ``""`` (it normally comes from the
    URL path); ``stream`` is False (the URL decides it)."""
    check_request(body)
    body = camel_keys(body)
    messages, part_extras = decode_contents(body["contents"])
    extras: dict[str, Any] = {k: v for k, v in body.items() if k not in _DECODED_FIELDS}
    tools: tuple = ()
    if body.get("tools") is not None:
        tools, other_tools, declaration_extras = decode_tools(body["tools"])
        if other_tools:
            extras["tools"] = other_tools
        if declaration_extras:
            extras["functionDeclarations"] = declaration_extras
    tool_choice = None
    if body.get("toolConfig") is not None:
        tool_choice, original = decode_tool_config(body["toolConfig"])
        if original is not None:
            extras["toolConfig"] = original
    settings = GenerationSettings()
    if body.get("generationConfig") is not None:
        settings = decode_generation_config(body["generationConfig"])
    if settings.extra:
        extras["generationConfig"] = settings.extra
    if settings.openapi_response_schema is not None:
        extras["responseSchema"] = settings.openapi_response_schema
    if part_extras:
        extras[PART_EXTRAS] = part_extras
    model = body.get("model")
    if model is not None and not isinstance(model, str):
        raise invalid_request("model: must be a string", "model")
    return Request(
        model=model or "",
        messages=messages,
        system=_decode_system(body.get("systemInstruction")),
        tools=tools,
        tool_choice=tool_choice,
        max_tokens=settings.max_tokens,
        temperature=settings.temperature,
        top_p=settings.top_p,
        top_k=settings.top_k,
        stop=settings.stop,
        response_format=settings.response_format,
        reasoning=settings.reasoning,
        extras={NAME: extras} if extras else {},
    )


def _decode_system(raw: Any) -> tuple[TextPart, ...]:
    if raw is None:
        return ()
    if isinstance(raw, str):
        return (TextPart(raw),)
    if not isinstance(raw, dict):
        raise invalid_request("systemInstruction: must be a Content object", "systemInstruction")
    raw = camel_keys(raw)
    parts = raw.get("parts")
    if not isinstance(parts, list):
        raise invalid_request("systemInstruction.parts: field required (array)", "systemInstruction.parts")
    out = []
    for k, part in enumerate(parts):
        path = f"systemInstruction.parts[{k}]"
        if not isinstance(part, dict) or not isinstance(part.get("text"), str):
            raise invalid_request(f"{path}: only text parts are allowed in systemInstruction", path)
        out.append(TextPart(part["text"]))
    return tuple(out)


def encode_request(req: Request, *, model: str, deg: Degradations) -> dict[str, Any]:
    """A ``generateContent`` body for ``req`` (``model`` goes in the URL path, not the body).

    Drops are reported on ``deg``; content Gemini cannot read raises a 400 `GatewayError`."""
    gemini: dict[str, Any] = req.extras.get(NAME) or {}
    for protocol, fields in req.extras.items():
        if protocol != NAME:
            for key in foreign_fields(protocol, fields):
                deg.drop(key, f"a {protocol} field Gemini has no counterpart for")
    contents, hoisted = encode_messages(
        req.messages, deg, gemini.get(PART_EXTRAS) or {}, media_in_results=media_in_function_responses(model)
    )
    if not contents:
        raise invalid_request("messages: no content Gemini can take is left in the conversation", "messages")
    body: dict[str, Any] = {"contents": contents}
    system = []
    for k, part in enumerate(req.system):
        if part.cache_control is not None:
            deg.drop(f"system[{k}].cache_control", "Gemini has no prompt-cache breakpoints")
        if part.text:
            system.append({"text": part.text})
    system += hoisted
    if system:
        body["systemInstruction"] = {"parts": system}
    tools = encode_tools(req.tools, gemini, deg)
    if tools:
        body["tools"] = tools
    tool_config = encode_tool_config(req.tool_choice, gemini.get("toolConfig"), bool(req.tools), deg)
    if tool_config is not None:
        body["toolConfig"] = tool_config
    body.update({key: value for key, value in gemini.items() if key not in _BOOKKEEPING})
    generation_config = encode_generation_config(req, gemini, deg)
    if generation_config:
        body["generationConfig"] = generation_config
    if req.user_id is not None:
        deg.drop("user_id", "Gemini has no end-user id field")
    if req.cache_control is not None:
        deg.drop("cache_control", "Gemini has no prompt-cache breakpoints")
    if req.service_tier is not None and "serviceTier" not in body:
        if (tier := SERVICE_TIER_TO_GEMINI.get(req.service_tier)) is not None:
            body["serviceTier"] = tier
        elif req.service_tier not in STANDARD_SERVICE_TIERS:
            deg.drop("service_tier", f"Gemini has no {req.service_tier!r} service tier")
    return body
