"""The caller-facing error for each refused admission (spec §4.3, §5.1, §5.2, §6.3).

Messages start with the spec's machine code so every protocol's envelope carries it, and the
window message is the spec's exact format (``rate_limit_5h exceeded: 50.00 / 50.00 used;
resets at 2026-05-25 14:00:00 UTC``); 429s carry ``Retry-After``.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

from bytespike.access.principal import Principal
from bytespike.errors import GatewayError, authentication_failed, insufficient_balance
from bytespike.money import micros_to_usd
from bytespike.money import micros_to_usd_exact as usd
from bytespike.state.hot import Limit, Refusal
from bytespike.storage.model_quotas import cap_entity_id

KEY_REFUSALS = {
    Limit.KEY_EXPIRED: "invalid x-api-key: the key has expired",
    Limit.KEY_REVOKED: "invalid x-api-key: the key was revoked",
    Limit.KEY_ROTATED: "invalid x-api-key: the key was rotated",
}


def state_unavailable() -> GatewayError:
    return GatewayError(
        503,
        "state_unavailable",
        "billing state (Redis) is unreachable, so the request cannot be admitted; it was not sent "
        "upstream and is not billed",
        retry_after=1,
    )


def _utc(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")


def refusal_error(principal: Principal, estimate: int, r: Refusal, now_ms: int) -> GatewayError:
    """The caller-facing error for a refused admission (spec §4.3, §5.1, §5.2, §6.3)."""
    if r.limit in KEY_REFUSALS:
        # The same 401 the key resolver gives once its cache catches up (spec §2.2).
        return authentication_failed(KEY_REFUSALS[r.limit])
    if r.limit is Limit.BALANCE:
        return insufficient_balance(
            f"insufficient_balance: this request may cost up to ${usd(estimate)} and the wallet has "
            f"${usd(max(r.available, 0))} available"
        )
    if r.limit is Limit.QUOTA and r.key_id is not None and r.key_id < 0:
        cap = next(c for c in principal.model_caps if cap_entity_id(c.cap_id) == r.key_id)
        return GatewayError(
            402,
            "quota_exceeded",
            f"quota_exceeded: key {cap.key_id} has ${usd(max(r.available, 0))} of its ${usd(r.cap)} cap on "
            f"model {cap.model} left; this request may cost up to ${usd(estimate)}",
        )
    if r.limit is Limit.QUOTA:
        return GatewayError(
            402,
            "quota_exceeded",
            f"quota_exceeded: key {r.key_id} has ${usd(max(r.available, 0))} of its ${usd(r.cap)} quota "
            f"left; this request may cost up to ${usd(estimate)}",
        )
    if r.limit is Limit.WINDOW:
        message = (
            f"rate_limit_{r.window} exceeded: {micros_to_usd(r.used)} / {micros_to_usd(r.cap)} used; "
            f"resets at {_utc(r.reset_ms)} UTC"
        )
        retry_after = max(1, math.ceil((r.reset_ms - now_ms) / 1000))
        if r.used < r.cap:
            # The rest of the window is held by requests still running; they settle shortly.
            message += f" (another ${micros_to_usd(r.held)} is held by requests in flight)"
            retry_after = 1
        if r.key_id != principal.key_id:
            message += f" (limit of parent key {r.key_id})"
        return GatewayError(429, "rate_limit_exceeded", message, retry_after=retry_after)
    return GatewayError(
        429,
        "concurrency_limit",
        f"concurrency_limit: {r.in_flight} requests of this account are already in flight (limit "
        f"{r.cap}); retry in 1-3 s",
        retry_after=1,
    )
