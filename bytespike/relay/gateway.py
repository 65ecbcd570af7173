"""The relay for text inference: one request from authentication to settlement.

`Gateway.handle` never raises for a caller's mistake or an upstream failure: it returns a
`Reply` carrying the error in the caller's protocol and the accounting headers. A failure
releases the hold and writes nothing (spec §4.4); a success settles the exact cost and returns
only after the usage record is committed (DESIGN.md §3).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from bytespike.access.authenticator import KeyResolver
from bytespike.access.cidr import is_address_allowed
from bytespike.access.principal import Principal
from bytespike.access.scopes import INFERENCE
from bytespike.accounting.meter import Meter
from bytespike.accounting.pricing import cost_micros, estimate_micros
from bytespike.canonical.usage import Usage
from bytespike.errors import GatewayError
from bytespike.money import micros_to_usd
from bytespike.protocols import anthropic_messages, gemini, openai_chat, openai_responses
from bytespike.protocols.anthropic_messages import requests as am_requests
from bytespike.protocols.codecs import CODECS
from bytespike.protocols.gemini import requests as gm_requests
from bytespike.protocols.openai_chat import requests as oc_requests
from bytespike.protocols.openai_chat.hosts import adapt_max_tokens_field
from bytespike.protocols.openai_responses import requests as orp_requests
from bytespike.relay.chaining import Chain, RecordingFrames, ResponseChains
from bytespike.relay.media import inline_remote_media
from bytespike.relay.modalities import check_input_modalities
from bytespike.relay.outcome import Headers, Inbound, Reply, StreamReply
from bytespike.relay.stream_modes import bridge_stream_modes, set_stream_mode
from bytespike.relay.translation import (
    Translation,
    decode_caller_request,
    encode_upstream_body,
    stream_frames,
    translate_response,
    upstream_protocol_for,
)
from bytespike.relay.upstream_errors import error_from_upstream, rewrite_error_body
from bytespike.routing.catalogue import Catalogue, ModelEntry
from bytespike.state.hot import Hold
from bytespike.storage.records import UsageRecord
from bytespike.upstreams.client import UpstreamClient, UpstreamResponse
from bytespike.upstreams.media_fetch import MediaFetcher
from bytespike.upstreams.registry import UpstreamRegistry
from bytespike.upstreams.targets import (
    Target,
    anthropic_request,
    gemini_request,
    openai_chat_request,
    openai_responses_request,
)

log = logging.getLogger("bytespike.relay")

CHECK_REQUEST = {
    anthropic_messages.NAME: am_requests.check_request,
    openai_chat.NAME: oc_requests.check_request,
    gemini.NAME: gm_requests.check_request,
    openai_responses.NAME: orp_requests.check_request,
}
PROVIDER_OF_PROTOCOL = {
    anthropic_messages.NAME: "anthropic",
    openai_chat.NAME: "openai",
    gemini.NAME: "gemini",
    openai_responses.NAME: "openai",
}
MAX_OUTPUT = {
    anthropic_messages.NAME: am_requests.max_output_tokens,
    openai_chat.NAME: oc_requests.max_output_tokens,
    gemini.NAME: gm_requests.max_output_tokens,
    openai_responses.NAME: orp_requests.max_output_tokens,
}


@dataclass(slots=True)
class Call:
    """Everything known about one admitted request, shared with the stream relay."""

    inbound: Inbound
    principal: Principal
    model: ModelEntry
    target: Target
    upstream_protocol: str
    hold: Hold | None
    forward_usage: bool = True
    upstream_started: float = 0.0
    upstream_ms: float = 0.0
    translation: Translation | None = None
    """Set when caller and upstream speak different protocols."""
    body: Any = None
    """The body to relay: the caller's, or with a stored conversation in front (chaining)."""
    chain: Chain | None = None
    """Set for Responses callers: the stored history used and whether to store this exchange."""
    upstream_stream: bool = False
    """Whether the upstream is called streaming: the caller's mode unless the model's vendor
    serves only the other (catalogue ``upstream_stream``, relay/stream_modes.py)."""


class Gateway:
    def __init__(
        self,
        *,
        resolver: KeyResolver,
        catalogue: Catalogue,
        meter: Meter,
        upstreams: UpstreamRegistry,
        client: UpstreamClient,
        same_protocol_upstream: bool = False,
        chains: ResponseChains | None = None,
        media: MediaFetcher | None = None,
    ) -> None:
        self.resolver = resolver
        self.catalogue = catalogue
        self.meter = meter
        self.upstreams = upstreams
        self.client = client
        self.same_protocol_upstream = same_protocol_upstream
        """Demo mode: the simulator speaks every protocol, so a model is called in the caller's."""
        self.chains = chains if chains is not None else ResponseChains(None, retention_s=0)
        """``previous_response_id`` chaining; without a store every id is unknown."""
        self.media = media
        """Fetches media URLs for upstreams that take only inline data (Gemini); None: never."""

    # ------------------------------------------------------------------ headers
    def headers(
        self, principal: Principal | None, inbound: Inbound, overhead_ms: float | None = None
    ) -> Headers:
        rid = inbound.request_id.encode()
        h: Headers = [(b"x-request-id", rid)]
        if inbound.protocol == anthropic_messages.NAME:
            h.append((b"request-id", rid))  # the Anthropic SDK exposes this one as ``_request_id``
        view = self.meter.quota_view(principal) if principal is not None else None
        if principal is not None and view is not None:
            h.append((b"x-quota-remaining-credits", micros_to_usd(view.remaining_micros).encode()))
            h.append((b"x-bytespike-quota-remaining-micros", str(view.remaining_micros).encode()))
            if principal.is_org_key:
                # Spec §4.2: org-owned keys also report the org wallet (their wallet_id is the org's).
                h.append(
                    (b"x-org-quota-remaining-credits", micros_to_usd(max(view.wallet_micros, 0)).encode())
                )
            if view.window is not None:
                # Spec §4.2: the tightest spend window; keys without window caps omit these.
                h.append((b"x-ratelimit-limit", micros_to_usd(view.window.limit_micros).encode()))
                h.append((b"x-ratelimit-remaining", micros_to_usd(view.window.remaining_micros).encode()))
                h.append((b"x-ratelimit-reset", str(view.window.reset_s).encode()))
        if overhead_ms is not None:
            h.append((b"x-bytespike-overhead-ms", f"{overhead_ms:.3f}".encode()))
            self.meter.metrics.observe("bytespike_overhead_ms", overhead_ms, protocol=inbound.protocol)
        return h

    def error_reply(self, err: GatewayError, inbound: Inbound, principal: Principal | None) -> Reply:
        codec = CODECS[inbound.protocol]
        headers = self.headers(principal, inbound, (time.perf_counter() - inbound.started) * 1000)
        headers.append((b"content-type", b"application/json"))
        if err.retry_after is not None:
            headers.append((b"retry-after", str(err.retry_after).encode()))
        return Reply(codec.error_status(err), codec.encode_error(err, inbound.request_id), headers)

    # ------------------------------------------------------------------ entry
    async def handle(self, inbound: Inbound) -> Reply | StreamReply:
        principal: Principal | None = None
        call: Call | None = None
        try:
            principal = await self.resolver.authenticate(inbound.credential)
            await self.meter.refresh(principal)
            if inbound.body_error is not None:
                raise inbound.body_error
            call = await self._admit(inbound, principal)
            await inline_remote_media(self.media, call)
            if call.upstream_stream != inbound.stream:
                return await bridge_stream_modes(self, call)
            if inbound.stream:
                return await self._start_stream(call)
            return await self._complete(call)
        except GatewayError as err:
            if call is not None and call.hold is not None:
                self.meter.release(call.hold)
                call.hold = None
            return self.error_reply(err, inbound, principal)
        except Exception:
            # A bug: free (the hold goes), logged, and a 500 in the caller's own envelope.
            if call is not None and call.hold is not None:
                self.meter.release(call.hold)
                call.hold = None
            log.exception("request %s failed unexpectedly", inbound.request_id)
            err = GatewayError(500, "internal_error", f"internal error (request {inbound.request_id}); not billed")
            return self.error_reply(err, inbound, principal)
        except BaseException:
            # Cancelled (the client left before the reply): the hold must not outlive it.
            if call is not None and call.hold is not None:
                self.meter.release(call.hold)
                call.hold = None
            raise

    def authorize(self, inbound: Inbound, principal: Principal) -> ModelEntry:
        """Address lists, the inference scope, the body's shape and the key's reach to the model."""
        if not is_address_allowed(inbound.client_ip, principal.ip_allow, principal.ip_deny):
            raise GatewayError(
                403, "permission_denied", f"address {inbound.client_ip} is not allowed for this key"
            )
        if INFERENCE not in principal.scopes:
            raise GatewayError(403, "permission_denied", "this key lacks the 'inference' scope")
        body = inbound.body
        CHECK_REQUEST[inbound.protocol](body)
        model = self.catalogue.resolve(inbound.model if inbound.model is not None else body.get("model"))
        self.catalogue.check_group(model, principal.group, principal.allowed_models)
        check_input_modalities(inbound.protocol, body, model)
        return model

    def upstream_protocol(self, inbound: Inbound, model: ModelEntry) -> str:
        if self.same_protocol_upstream:
            return inbound.protocol
        return upstream_protocol_for(inbound.protocol, model.provider, model.protocol)

    def target(self, model: ModelEntry, upstream_protocol: str) -> Target:
        if self.same_protocol_upstream:
            # Demo: the simulator answers any model in the caller's protocol, at that protocol's address.
            return self.upstreams.target_for(
                model.slug, PROVIDER_OF_PROTOCOL[upstream_protocol], upstream_protocol
            )
        return self.upstreams.target_for(model.slug, model.provider, model.protocol)

    async def _admit(self, inbound: Inbound, principal: Principal) -> Call:
        model = self.authorize(inbound, principal)
        body = inbound.body
        upstream_protocol = self.upstream_protocol(inbound, model)
        chain = None
        prompt_bytes = inbound.body_size
        if inbound.protocol == openai_responses.NAME:
            chain = await self.chains.open(principal, body, upstream_protocol)
            body = chain.body
            prompt_bytes += chain.history_bytes
        translation = None
        if upstream_protocol != inbound.protocol:
            translation = decode_caller_request(
                inbound.protocol, upstream_protocol, body, strict=inbound.strict, echo=inbound.body
            )
        target = self.target(model, upstream_protocol)
        max_out = MAX_OUTPUT[inbound.protocol](body) or model.max_output_tokens
        estimate = estimate_micros(prompt_bytes // 4 + 1, max_out, model)
        hold = await self.meter.admit(principal, estimate, model.slug)
        return Call(
            inbound,
            principal,
            model,
            target,
            upstream_protocol,
            hold,
            translation=translation,
            body=body,
            chain=chain,
            upstream_stream=model.streams_upstream(inbound.stream),
        )

    # ------------------------------------------------------------------ upstream request
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

    async def _complete(self, call: Call) -> Reply:
        obj = await self.read_whole(call)
        codec = CODECS[call.upstream_protocol]
        if call.translation is not None:
            response, translated = translate_response(
                call.translation, obj, slug=call.model.slug, request_id=call.inbound.request_id
            )
            usage = response.usage
            out = orjson.dumps(translated)
            obj = translated
        else:
            usage = codec.decode_usage(codec.usage_of_response(obj))
            if "model" in obj:
                obj["model"] = call.model.slug
            if obj.get("modelVersion") == call.model.upstream_model:
                obj["modelVersion"] = call.model.slug
            out = orjson.dumps(obj)
        if call.chain is not None:
            call.chain.recorder.observe_body(obj)
        await self.settle(call, usage, rule="completed", ttft_ms=None)
        return Reply(200, out, self.reply_headers(call, stream=False))

    def reply_headers(self, call: Call, *, stream: bool) -> Headers:
        """Headers of a successful answer, whole or streamed. Never raises: a whole answer is
        already billed when they are built, and a billed request must not turn into an error the
        caller would retry and pay again (docs/billing.md). Headers that cannot be computed are
        left out, and the failure logged."""
        try:
            overhead = (time.perf_counter() - call.inbound.started) * 1000 - call.upstream_ms
            headers = self.headers(call.principal, call.inbound, overhead)
            _add_degraded(headers, call)
            _add_model_quota(headers, call, self.meter)
        except Exception:
            log.exception("request %s: answer headers failed; sent without them", call.inbound.request_id)
            headers = self.headers(None, call.inbound)
        if not stream:
            headers.append((b"content-type", b"application/json"))
            return headers
        headers += [
            (b"content-type", b"text/event-stream; charset=utf-8"),
            (b"cache-control", b"no-cache"),
            (b"x-accel-buffering", b"no"),
        ]
        return headers

    # ------------------------------------------------------------------ streaming
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

    async def _start_stream(self, call: Call) -> Reply | StreamReply:
        from bytespike.relay.frames import PassthroughFrames
        from bytespike.relay.streaming import RelayStream  # local: streaming imports this module

        resp = await self.open_stream(call)
        headers = self.reply_headers(call, stream=True)
        frames: Any
        if call.translation is not None:
            frames = stream_frames(call.translation, slug=call.model.slug, request_id=call.inbound.request_id)
        else:
            frames = PassthroughFrames(
                call.upstream_protocol,
                upstream_model=call.model.upstream_model,
                slug=call.model.slug,
                forward_usage=call.forward_usage,
            )
        if call.chain is not None and call.chain.store:
            frames = RecordingFrames(frames, call.chain.recorder)
        return StreamReply(200, headers, RelayStream(self, call, resp, frames))

    # ------------------------------------------------------------------ settlement
    async def settle(self, call: Call, usage: Usage, *, rule: str, ttft_ms: float | None) -> int:
        """Debit the exact cost of ``usage`` and wait until its usage record is durable."""
        cost = cost_micros(usage, call.model)
        p, inbound = call.principal, call.inbound
        record = UsageRecord(
            request_id=inbound.request_id,
            created_at=datetime.now(UTC),
            api_key_id=p.key_id,
            user_id=p.user_id,
            org_id=p.org_id,
            wallet_id=p.wallet_id,
            key_chain=p.key_chain_ids,
            model=call.model.slug,
            provider=call.model.provider,
            endpoint=inbound.endpoint,
            caller_protocol=inbound.protocol,
            upstream_protocol=call.upstream_protocol,
            is_stream=inbound.stream,
            status=200,
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            cache_read_tokens=usage.cache_read_tokens,
            cache_write_tokens=usage.cache_write_tokens,
            reasoning_tokens=usage.reasoning_tokens,
            cost_micros=cost,
            latency_ms=(time.perf_counter() - inbound.started) * 1000,
            ttft_ms=ttft_ms,
            billing_rule=rule,
        )
        hold, call.hold = call.hold, None
        assert hold is not None, "settle called twice"
        if call.chain is not None and call.chain.store and rule == "completed":
            # The stored exchange is durable by the time the caller has the whole answer, and
            # its commit runs beside the usage record's instead of after it.
            await asyncio.gather(
                self.meter.settle(hold, record),
                self.chains.save(
                    call.chain, p, model=call.model.slug, upstream_protocol=call.upstream_protocol
                ),
            )
        else:
            await self.meter.settle(hold, record)
        return cost

    def release(self, call: Call) -> None:
        if call.hold is not None:
            self.meter.release(call.hold)
            call.hold = None


def _add_model_quota(headers: Headers, call: Call, meter: Meter) -> None:
    """A key with a per-model cap on the model called also reports what that cap leaves."""
    left = meter.model_cap_remaining(call.principal, call.model.slug) if call.principal.model_caps else None
    if left is not None:
        headers.append((b"x-bytespike-model-quota-remaining-credits", micros_to_usd(left).encode()))


def _add_degraded(headers: Headers, call: Call) -> None:
    if call.translation is not None:
        value = call.translation.degraded_header()
        if value:
            headers.append((b"x-bytespike-degraded", value.encode()))
