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
from collections.abc import Awaitable
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
from bytespike.protocols import anthropic_messages, gemini, openai_chat, openai_responses
from bytespike.protocols.anthropic_messages import requests as am_requests
from bytespike.protocols.codecs import CODECS
from bytespike.protocols.gemini import requests as gm_requests
from bytespike.protocols.openai_chat import requests as oc_requests
from bytespike.protocols.openai_responses import requests as orp_requests
from bytespike.relay.call import Call
from bytespike.relay.chaining import ResponseChains, chain_frames, echo_previous_id
from bytespike.relay.media import inline_remote_media
from bytespike.relay.modalities import check_input_modalities
from bytespike.relay.outcome import Inbound, Reply, StreamReply
from bytespike.relay.replies import Replies
from bytespike.relay.stream_modes import bridge_stream_modes
from bytespike.relay.translation import (
    decode_caller_request,
    stream_frames,
    translate_response,
    upstream_protocol_for,
)
from bytespike.relay.upstream_call import UpstreamCaller
from bytespike.relay.vendor_items import ChatAudioIds, VendorItems, asks_for_audio
from bytespike.relay.vendor_state import refuse_vendor_state
from bytespike.routing.catalogue import Catalogue, ModelEntry
from bytespike.storage.records import UsageRecord
from bytespike.upstreams.client import UpstreamClient
from bytespike.upstreams.media_fetch import MediaFetcher
from bytespike.upstreams.registry import UpstreamRegistry
from bytespike.upstreams.targets import Target

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
        replies = Replies(meter)
        # Bound once here: the web surfaces and the relay's other modules call them on the gateway.
        self.headers = replies.headers
        self.error_reply = replies.error_reply
        self.reply_headers = replies.reply_headers
        caller = UpstreamCaller(client)
        self.read_whole = caller.read_whole
        self.open_stream = caller.open_stream

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
        """Address lists, the inference scope, the body's shape, no reference to state of the
        gateway's shared vendor accounts (relay/vendor_state.py), and the key's reach to the model."""
        if not is_address_allowed(inbound.client_ip, principal.ip_allow, principal.ip_deny):
            raise GatewayError(
                403, "permission_denied", f"address {inbound.client_ip} is not allowed for this key"
            )
        if INFERENCE not in principal.scopes:
            raise GatewayError(403, "permission_denied", "this key lacks the 'inference' scope")
        body = inbound.body
        CHECK_REQUEST[inbound.protocol](body)
        refuse_vendor_state(inbound.protocol, body)
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
        target = self.target(model, upstream_protocol)
        items = self.chains.items
        # Vendor ids pass both ways as they are: the caller may send back only its own
        # (relay/vendor_items.py); checked on the caller's body, before any history is added.
        keeps_ids = VendorItems.applies(inbound.protocol, upstream_protocol, target.provider)
        if keeps_ids:
            await items.check(principal, inbound.protocol, body)
        chain = None
        prompt_bytes = inbound.body_size
        if inbound.protocol == openai_responses.NAME:
            chain = await self.chains.open(principal, body, upstream_protocol, index_items=keeps_ids)
            body = chain.body
            prompt_bytes += chain.history_bytes
        translation = None
        if upstream_protocol != inbound.protocol:
            translation = decode_caller_request(
                inbound.protocol, upstream_protocol, body, strict=inbound.strict, echo=inbound.body
            )
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
            audio_ids=ChatAudioIds() if keeps_ids and items.is_indexing and asks_for_audio(body) else None,
            upstream_stream=model.streams_upstream(inbound.stream),
        )

    # ------------------------------------------------------------------ non-streaming
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
            if call.chain is not None:
                echo_previous_id(call.chain, obj)
            out = orjson.dumps(obj)
        if call.chain is not None:
            call.chain.recorder.observe_body(obj)
        if call.audio_ids is not None:
            call.audio_ids.observe_body(obj)
        await self.settle(call, usage, rule="completed", ttft_ms=None)
        return Reply(200, out, self.reply_headers(call, stream=False))

    # ------------------------------------------------------------------ streaming
    async def _start_stream(self, call: Call) -> Reply | StreamReply:
        from bytespike.relay.frames import PassthroughFrames, TappedFrames
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
        if call.chain is not None:
            frames = chain_frames(call.chain, frames, is_passthrough=call.translation is None)
        if call.audio_ids is not None:
            frames = TappedFrames(frames, call.audio_ids.observe_stream)
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
        keep = self._keep_answer(call) if rule == "completed" else None
        if keep is not None:
            # The stored exchange and the ids the answer handed out are durable by the time the
            # caller has the whole answer, and their commit runs beside the usage record's.
            await asyncio.gather(self.meter.settle(hold, record), keep)
        else:
            await self.meter.settle(hold, record)
        return cost

    def _keep_answer(self, call: Call) -> Awaitable[None] | None:
        """The write that keeps a completed answer (relay/chaining.py, relay/vendor_items.py), if any."""
        p = call.principal
        if call.chain is not None and (call.chain.store or call.chain.index_items):
            return self.chains.save(
                call.chain, p, model=call.model.slug, upstream_protocol=call.upstream_protocol
            )
        if call.audio_ids is not None and call.audio_ids.ids:
            return self.chains.items.save(p, call.audio_ids.answer_id, tuple(call.audio_ids.ids))
        return None

    def release(self, call: Call) -> None:
        if call.hold is not None:
            self.meter.release(call.hold)
            call.hold = None
