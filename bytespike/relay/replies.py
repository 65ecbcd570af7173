"""What every reply carries: the request id, the accounting headers (spec §4.2) and the
overhead measure; and a `GatewayError` rendered in the caller's protocol."""

from __future__ import annotations

import logging
import time

from bytespike.access.principal import Principal
from bytespike.accounting.meter import Meter
from bytespike.errors import GatewayError
from bytespike.money import micros_to_usd
from bytespike.protocols import anthropic_messages
from bytespike.protocols.codecs import CODECS
from bytespike.relay.call import Call
from bytespike.relay.outcome import Headers, Inbound, Reply

log = logging.getLogger("bytespike.relay")


class Replies:
    """Headers and error replies; reads the key's quota from the meter."""

    def __init__(self, meter: Meter) -> None:
        self.meter = meter

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
