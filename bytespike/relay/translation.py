"""Cross-protocol requests: which upstream protocol serves a call, and the codecs that bridge.

A request whose model is served over another protocol is decoded once into the canonical
`Request`, encoded for the upstream, and the answer (whole or streamed) comes back through the
canonical `Response`/events in the caller's protocol. Every field an encoder cannot carry is
recorded in `Degradations` (``X-ByteSpike-Degraded``), or refused under ``X-ByteSpike-Strict``.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from functools import cache
from types import ModuleType
from typing import Any

from bytespike.canonical.degradation import Degradations, StrictModeViolation
from bytespike.canonical.request import Request
from bytespike.errors import GatewayError
from bytespike.protocols import anthropic_messages, gemini, openai_chat, openai_responses

OPENAI_RESPONSES = openai_responses.NAME

PROTOCOLS_OF_PROVIDER = {
    "anthropic": (anthropic_messages.NAME,),
    "openai": (openai_chat.NAME, OPENAI_RESPONSES),
    "gemini": (gemini.NAME,),
    "deepseek": (openai_chat.NAME,),
}
"""Wire protocols each vendor serves; a caller speaking one of them keeps the fast path."""


def refuse_response_chaining(protocol: str, body: dict[str, Any]) -> None:
    """``previous_response_id`` is refused on every route (docs/translation.md).

    On the fast path the id would be resolved by the vendor account the gateway shares among all
    its keys, so one key could continue another key's conversation; translated routes have no
    vendor store at all. Callers resend the conversation in ``input`` (as Codex does with
    ``store: false``)."""
    if protocol == OPENAI_RESPONSES and body.get("previous_response_id"):
        raise GatewayError(
            400,
            "invalid_param",
            "previous_response_id: response chaining is not offered by this gateway; send the "
            "conversation in input (and store: false)",
            "previous_response_id",
        )


def upstream_protocol_for(caller: str, provider: str, default: str) -> str:
    """The caller's own protocol when the vendor speaks it for this model, else the model's."""
    if default == anthropic_messages.NAME:
        # Anthropic-shape routes (including deepseek-v3-anthropic) are served only in that shape.
        return default
    return caller if caller in PROTOCOLS_OF_PROVIDER.get(provider, ()) else default


@dataclass(frozen=True, slots=True)
class Codec:
    """The translation functions of one protocol package."""

    requests: ModuleType
    responses: ModuleType
    streaming: ModuleType
    tools: ModuleType | None


@cache
def codec(protocol: str) -> Codec:
    base = f"bytespike.protocols.{protocol}"
    return Codec(
        requests=importlib.import_module(base + ".requests"),
        responses=importlib.import_module(base + ".responses"),
        streaming=importlib.import_module(base + ".streaming"),
        tools=importlib.import_module(base + ".tools") if protocol == OPENAI_RESPONSES else None,
    )


@dataclass(slots=True)
class Translation:
    caller: str
    upstream: str
    request: Request
    deg: Degradations
    caller_options: dict[str, Any] = field(default_factory=dict)
    """Options for the caller-side stream encoder (e.g. OpenAI ``include_usage``)."""
    answer_deg: Degradations = field(default_factory=Degradations)
    """What the caller's protocol could not show of a whole answer; never strict (the answer
    is already generated and billed)."""

    def degraded_header(self) -> str | None:
        """``X-ByteSpike-Degraded``: the request's drops, then the answer's (``response.…``)."""
        return ", ".join(name for name, _ in (*self.deg.dropped, *self.answer_deg.dropped)) or None


def _strict_error(exc: StrictModeViolation) -> GatewayError:
    return GatewayError(400, "invalid_param", str(exc), exc.field)


def decode_caller_request(caller: str, upstream: str, body: dict[str, Any], *, strict: bool) -> Translation:
    request = codec(caller).requests.decode_request(body)
    deg = Degradations(strict=strict)
    options: dict[str, Any] = {}
    if caller == openai_chat.NAME:
        so = body.get("stream_options")
        options["include_usage"] = isinstance(so, dict) and bool(so.get("include_usage"))
    elif caller == OPENAI_RESPONSES:
        if (request.extras.get(OPENAI_RESPONSES) or {}).get("previous_response_id"):
            # Chaining is served by OpenAI's own response store; for other vendors the caller
            # sends the conversation itself (docs/translation.md).
            raise GatewayError(
                400,
                "invalid_param",
                f"previous_response_id: chaining is supported on OpenAI models only; resend the "
                f"conversation in input to reach {upstream}",
                "previous_response_id",
            )
        # Hosted tools and item references exist only on OpenAI: refuse or report them here,
        # since no other encoder reads the Responses extras.
        try:
            request = codec(caller).requests.require_translatable(request, deg)
        except StrictModeViolation as exc:
            raise _strict_error(exc) from exc
        options["request"] = body
    return Translation(caller, upstream, request, deg, options)


def _upstream_decoder_options(t: Translation) -> dict[str, Any]:
    """Both OpenAI wires rewrite tool names they would reject; map them back for the caller."""
    if t.upstream == OPENAI_RESPONSES:
        return {"tool_names": codec(OPENAI_RESPONSES).tools.tool_name_map(t.request)}
    if t.upstream == openai_chat.NAME:
        from bytespike.protocols.openai_chat.identifiers import tool_name_map

        return {"tool_names": tool_name_map(tool.name for tool in t.request.tools)}
    return {}


def encode_upstream_body(
    t: Translation, *, upstream_model: str, provider: str, stream: bool
) -> dict[str, Any]:
    opts: dict[str, Any] = {}
    if t.upstream == anthropic_messages.NAME:
        opts["version"] = "2023-06-01"
    elif t.upstream == openai_chat.NAME:
        opts["flavor"] = "deepseek" if provider == "deepseek" else "openai"
    try:
        body = codec(t.upstream).requests.encode_request(t.request, model=upstream_model, deg=t.deg, **opts)
    except StrictModeViolation as exc:
        raise _strict_error(exc) from exc
    if t.upstream != gemini.NAME:
        body["stream"] = stream
        if not stream:
            body.pop("stream_options", None)
    if stream and t.upstream == openai_chat.NAME:
        body["stream_options"] = {**(body.get("stream_options") or {}), "include_usage": True}
    return body


def stream_frames(t: Translation, *, slug: str, request_id: str) -> Any:
    from bytespike.relay.frames import TranslatedFrames

    decoder = codec(t.upstream).streaming.StreamDecoder(**_upstream_decoder_options(t))
    encoder = codec(t.caller).streaming.StreamEncoder(model=slug, request_id=request_id, **t.caller_options)
    return TranslatedFrames(decoder, encoder)


def translate_response(
    t: Translation, body: dict[str, Any], *, slug: str, request_id: str
) -> tuple[Any, dict]:
    """(canonical response, caller-shaped body) of a complete upstream response."""
    response = codec(t.upstream).responses.decode_response(body, **_upstream_decoder_options(t))
    extra = {"request": t.caller_options["request"]} if t.caller == OPENAI_RESPONSES else {}
    out = codec(t.caller).responses.encode_response(
        response, model=slug, request_id=request_id, deg=t.answer_deg, **extra
    )
    return response, out
