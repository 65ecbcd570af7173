"""Admission and settlement: hold before the upstream call, exact debit after it.

`Meter.admit` checks the wallet and every key quota in the chain against the worst-case
estimate and places a hold (402 ``insufficient_balance`` / ``quota_exceeded`` otherwise);
`Meter.settle` turns the hold into the exact cost, writes the usage record through the group
commit writer and returns once it is durable; `Meter.release` frees a hold for a failure, which
is never billed. `Meter.quota_view` gives the values for the accounting headers.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from bytespike.access.principal import Principal
from bytespike.errors import GatewayError, insufficient_balance
from bytespike.money import micros_to_usd_exact as usd
from bytespike.state.memory import Hold, MemoryState
from bytespike.storage.accounts import wallet_balances
from bytespike.storage.batch_writer import UsageWriter
from bytespike.storage.keys import key_chain_used
from bytespike.storage.records import UsageRecord


@dataclass(frozen=True, slots=True)
class QuotaView:
    """What the accounting headers report, in micro-USD (settled values; holds excluded)."""

    remaining_micros: int
    """min(wallet balance, each quota'd key's remaining quota)."""
    wallet_micros: int


class Meter:
    def __init__(
        self, engine: AsyncEngine, state: MemoryState, writer: UsageWriter, *, ttl: float = 2.0
    ) -> None:
        self._engine = engine
        self._state = state
        self._writer = writer
        self._ttl = ttl

    async def refresh(self, principal: Principal) -> None:
        """Make sure the header values for ``principal`` are no older than the TTL."""
        await self._refresh(principal, time.monotonic())

    async def _refresh(self, principal: Principal, now: float) -> None:
        state = self._state
        wallet_stale = now - state.wallet(principal.wallet_id).loaded_at > self._ttl
        stale_keys = [
            k.key_id
            for k in principal.chain
            if k.quota_micros and now - state.key(k.key_id).loaded_at > self._ttl
        ]
        if not wallet_stale and not stale_keys:
            return
        async with self._engine.connect() as conn:
            balances = await wallet_balances(conn, [principal.wallet_id]) if wallet_stale else {}
            used = await key_chain_used(conn, stale_keys) if stale_keys else {}
        for wallet_id, balance in balances.items():
            state.refresh_wallet(wallet_id, balance, now)
        for key_id, value in used.items():
            state.refresh_key(key_id, value, now)

    async def admit(self, principal: Principal, estimate_micros: int) -> Hold:
        """Reserve ``estimate_micros`` or raise the 402 naming the limit that failed."""
        now = time.monotonic()
        await self._refresh(principal, now)
        state = self._state
        # No await between here and place_hold: on one event loop this is one critical section.
        wallet = state.wallet(principal.wallet_id)
        available = wallet.settled - wallet.held
        if available <= 0 or available < estimate_micros:
            raise insufficient_balance(
                f"insufficient_balance: this request may cost up to ${usd(estimate_micros)} "
                f"and the wallet has ${usd(max(available, 0))} available"
            )
        for limits in principal.chain:
            if limits.quota_micros:
                k = state.key(limits.key_id)
                left = limits.quota_micros - k.settled - k.held
                if left <= 0 or left < estimate_micros:
                    raise GatewayError(
                        402,
                        "quota_exceeded",
                        f"quota_exceeded: key {limits.key_id} has ${usd(max(left, 0))} of its "
                        f"${usd(limits.quota_micros)} quota left; this request may cost up to "
                        f"${usd(estimate_micros)}",
                    )
        return state.place_hold(principal.wallet_id, principal.key_chain_ids, estimate_micros)

    def release(self, hold: Hold) -> None:
        self._state.release(hold)

    async def settle(self, hold: Hold, record: UsageRecord) -> None:
        """Debit ``record.cost_micros``, release the rest of the hold, and wait until it is durable."""
        self._state.settle(hold, record.cost_micros)
        future = self._writer.submit(record)
        # Shielded: a client that goes away must not cancel the bookkeeping of what it consumed.
        await asyncio.shield(future)

    def on_committed(self, records: list[UsageRecord]) -> None:
        for r in records:
            self._state.flushed(r.wallet_id, r.key_chain, r.cost_micros)

    def quota_view(self, principal: Principal) -> QuotaView:
        wallet = self._state.wallet(principal.wallet_id).settled
        remaining = wallet
        for limits in principal.chain:
            if limits.quota_micros:
                remaining = min(remaining, limits.quota_micros - self._state.key(limits.key_id).settled)
        return QuotaView(remaining_micros=max(remaining, 0), wallet_micros=wallet)
