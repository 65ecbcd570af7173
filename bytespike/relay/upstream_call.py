"""Calling the upstream: the vendor request of a call (fast path or translated), and its answer
read whole or opened as a stream; every failure is the caller-facing `GatewayError`."""

from __future__ import annotations

import time
from typing import Any

import orjson

from bytespike.errors import GatewayError
from bytespike.protocols import anthropic_messages, gemini, openai_chat
from bytespike.protocols.codecs import CODECS
from bytespike.protocols.openai_chat import requests as oc_requests
from bytespike.protocols.openai_chat.hosts import adapt_max_tokens_field
from bytespike.relay.call import Call
from bytespike.relay.stream_modes import set_stream_mode
from bytespike.relay.translation import encode_upstream_body
from bytespike.relay.upstream_errors import error_from_upstream, rewrite_error_body
from bytespike.upstreams.client import UpstreamClient, UpstreamResponse
from bytespike.upstreams.targets import (
    anthropic_request,
    gemini_request,
    openai_chat_request,
    openai_responses_request,
)


class UpstreamCaller:
    """Sends calls to their upstream over the shared HTTP client."""

    def __init__(self, client: UpstreamClient) -> None:
        self.client = client

    def _upstream_request(self, call: Call) -> tuple[str, list, bytes]:
        inbound, model, target = call.inbound, call.model, call.target
        if call.translation is not None:
            body = encode_upstream_body(
                call.translation,
                upstream_model=model.upstream_model,
                provider=model.provider,
                stream=call.upstream_stream,
                max_tokens_field=model.max_tokens_field,
            )
        else:
            body = dict(call.body)
            if call.upstream_stream != inbound.stream:
                set_stream_mode(body, call.upstream_protocol, stream=call.upstream_stream)
        if call.translation is not None and call.upstream_protocol == anthropic_messages.NAME:
            url, headers = anthropic_request(
                target,
                count_tokens=False,
                version="2023-06-01",
                beta=inbound.vendor_headers.get("anthropic-beta"),
            )
        elif call.translation is not None and call.upstream_protocol == openai_chat.NAME:
            url, headers = openai_chat_request(target)
        elif call.upstream_protocol == anthropic_messages.NAME:
            body["model"] = model.upstream_model
            url, headers = anthropic_request(
                target,
                count_tokens=False,
                version=inbound.vendor_headers.get("anthropic-version", "2023-06-01"),
                beta=inbound.vendor_headers.get("anthropic-beta"),
            )
        elif call.upstream_protocol == openai_chat.NAME:
            body["model"] = model.upstream_model
            adapt_max_tokens_field(body, model.max_tokens_field)
            if call.upstream_stream:
                # Always ask for the usage chunk: billing needs it (spec §3.3, issue 2 #6).
                call.forward_usage = oc_requests.wants_usage(body)
                options = dict(body.get("stream_options") or {})
                options["include_usage"] = True
                body["stream_options"] = options
            url, headers = openai_chat_request(target)
        elif call.upstream_protocol == gemini.NAME:
            body.pop("model", None)
            url, headers = gemini_request(target, model.upstream_model, stream=call.upstream_stream)
        else:
            body["model"] = model.upstream_model
            url, headers = openai_responses_request(target)
        return url, headers, orjson.dumps(body)

    async def _send(self, call: Call):  # type: ignore[no-untyped-def]
        url, headers, payload = self._upstream_request(call)
        call.upstream_started = time.perf_counter()
        return await self.client.post(url, headers, payload)

    # ------------------------------------------------------------------ non-streaming
    async def read_whole(self, call: Call) -> dict[str, Any]:
        """Call the upstream without streaming and read its answer: a JSON object, or the
        caller-facing error."""
        codec = CODECS[call.upstream_protocol]
        resp = await self._send(call)
        raw = await resp.read()
        call.upstream_ms = (time.perf_counter() - call.upstream_started) * 1000
        try:
            obj = orjson.loads(raw) if raw else None
        except orjson.JSONDecodeError:
            obj = None
        if resp.status >= 400:
            raise error_from_upstream(resp.status, codec, obj, resp.headers.get("retry-after"))
        if not isinstance(obj, dict):
            raise GatewayError(
                502, "upstream_error", "the upstream answered 200 with a body that is not a JSON object"
            )
        if codec.is_error_body(obj):
            raise rewrite_error_body(codec, obj)
        return obj

    async def open_stream(self, call: Call) -> UpstreamResponse:
        """Call the upstream streaming; an answer that is not an event stream is the
        caller-facing error."""
        codec = CODECS[call.upstream_protocol]
        resp = await self._send(call)
        content_type = resp.headers.get("content-type", "")
        if resp.status >= 400 or not content_type.startswith("text/event-stream"):
            # An error status, or a 200 whose body is a whole JSON object instead of an event
            # stream (vendors do this for errors, spec §4.3 #4): read it and answer with a status.
            raw = await resp.read()
            try:
                obj: Any = orjson.loads(raw) if raw else None
            except orjson.JSONDecodeError:
                obj = None
            if resp.status >= 400:
                raise error_from_upstream(resp.status, codec, obj, resp.headers.get("retry-after"))
            if codec.is_error_body(obj):
                raise rewrite_error_body(codec, obj)
            raise GatewayError(
                502,
                "upstream_error",
                f"the upstream answered a streaming request with {content_type or 'no content type'}",
            )
        call.upstream_ms = (time.perf_counter() - call.upstream_started) * 1000
        return resp
