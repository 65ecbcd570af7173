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
from bytespike.canonical.response import Response
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


def decode_caller_request(
    caller: str, upstream: str, body: dict[str, Any], *, strict: bool, echo: dict[str, Any] | None = None
) -> Translation:
    """``body`` as the canonical request for ``upstream``; ``echo`` is the body a Responses
    caller sent (before chaining put history in front), which its response objects repeat."""
    request = codec(caller).requests.decode_request(body)
    deg = Degradations(strict=strict)
    if caller == OPENAI_RESPONSES:
        if (request.extras.get(OPENAI_RESPONSES) or {}).get("previous_response_id"):
            # The relay resolves chaining before translating (relay/chaining.py) and removes the
            # id; one that reaches this point would be dropped silently by every encoder.
            raise GatewayError(
                400,
                "invalid_param",
                "previous_response_id: the stored conversation was not resolved before translation",
                "previous_response_id",
            )
        # Hosted tools and item references exist only on OpenAI: refuse or report them here,
        # since no other encoder reads the Responses extras.
        try:
            request = codec(caller).requests.require_translatable(request, deg)
        except StrictModeViolation as exc:
            raise _strict_error(exc) from exc
    return Translation(caller, upstream, request, deg, caller_options(caller, body, echo))


def caller_options(caller: str, body: dict[str, Any], echo: dict[str, Any] | None = None) -> dict[str, Any]:
    """What the caller's encoders need from its request: a Chat caller's ``include_usage``, the
    Responses body its response objects echo."""
    if caller == openai_chat.NAME:
        so = body.get("stream_options")
        return {"include_usage": isinstance(so, dict) and bool(so.get("include_usage"))}
    if caller == OPENAI_RESPONSES:
        return {"request": echo if echo is not None else body}
    return {}


def _upstream_decoder_options(t: Translation) -> dict[str, Any]:
    """Both OpenAI wires rewrite tool names they would reject; map them back for the caller."""
    if t.upstream == OPENAI_RESPONSES:
        return {"tool_names": codec(OPENAI_RESPONSES).tools.tool_name_map(t.request)}
    if t.upstream == openai_chat.NAME:
        from bytespike.protocols.openai_chat.identifiers import tool_name_map

        return {"tool_names": tool_name_map(tool.name for tool in t.request.tools)}
    return {}


def encode_upstream_body(
    t: Translation,
    *,
    upstream_model: str,
    provider: str,
    stream: bool,
    max_tokens_field: str | None = None,
) -> dict[str, Any]:
    """``max_tokens_field``: where a Chat upstream reads the token limit (the catalogue's
    ``ModelEntry.max_tokens_field``); None: its flavor's own."""
    opts: dict[str, Any] = {}
    if t.upstream == anthropic_messages.NAME:
        opts["version"] = "2023-06-01"
    elif t.upstream == openai_chat.NAME:
        opts["flavor"] = "deepseek" if provider == "deepseek" else "openai"
        opts["max_tokens_field"] = max_tokens_field
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


@dataclass(frozen=True, slots=True)
class AnswerCodecs:
    """How an upstream's answer reaches the caller through the canonical model: translated
    answers, and same-protocol answers whose stream mode had to change (relay/stream_modes.py)."""

    caller: str
    upstream: str
    decoder_options: dict[str, Any]
    """For the upstream's decoders (the tool names an OpenAI wire rewrote)."""
    caller_options: dict[str, Any]
    """For the caller's encoders (`caller_options`)."""

    def decode_response(self, body: dict[str, Any]) -> Response:
        return codec(self.upstream).responses.decode_response(body, **self.decoder_options)

    def encode_response(
        self, response: Response, *, slug: str, request_id: str, deg: Degradations | None = None
    ) -> dict[str, Any]:
        """``deg`` collects what the caller's wire could not carry (X-ByteSpike-Degraded)."""
        extra = {"request": self.caller_options["request"]} if self.caller == OPENAI_RESPONSES else {}
        return codec(self.caller).responses.encode_response(
            response, model=slug, request_id=request_id, deg=deg, **extra
        )

    def stream_decoder(self) -> Any:
        return codec(self.upstream).streaming.StreamDecoder(**self.decoder_options)

    def stream_encoder(self, *, slug: str, request_id: str) -> Any:
        return codec(self.caller).streaming.StreamEncoder(
            model=slug, request_id=request_id, **self.caller_options
        )


def answer_codecs(t: Translation) -> AnswerCodecs:
    return AnswerCodecs(t.caller, t.upstream, _upstream_decoder_options(t), t.caller_options)


def stream_frames(t: Translation, *, slug: str, request_id: str) -> Any:
    from bytespike.relay.frames import TranslatedFrames

    codecs = answer_codecs(t)
    return TranslatedFrames(codecs.stream_decoder(), codecs.stream_encoder(slug=slug, request_id=request_id))


def translate_response(
    t: Translation, body: dict[str, Any], *, slug: str, request_id: str
) -> tuple[Response, dict[str, Any]]:
    """(canonical response, caller-shaped body) of a complete upstream response."""
    codecs = answer_codecs(t)
    response = codecs.decode_response(body)
    return response, codecs.encode_response(response, slug=slug, request_id=request_id, deg=t.answer_deg)
