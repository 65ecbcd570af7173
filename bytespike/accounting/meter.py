"""Admission and settlement: hold before the upstream call, exact debit after it.

`Meter.admit` asks the hot state (`state.hot.HotState`) for one atomic step that checks the
wallet net of holds, every key quota of the chain, the keys' rolling 5 h / 1 d / 7 d windows
and the account's concurrency, and places the hold and the lease; it raises the error naming
the limit that failed (402 ``insufficient_balance`` / ``quota_exceeded``, 429
``rate_limit_exceeded`` / ``concurrency_limit``). `Meter.settle` applies the exact cost in one
step, writes the usage record through the group-commit writer and returns once it is durable;
`Meter.release` frees a hold for a failure, which is never billed. A background task renews the
holds and leases of requests still running, so only a dead process's ones expire.

Entities missing from the hot state are loaded from the database here (one snapshot, corrected
by the state's journal). When Redis is unreachable, requests fail closed with a 503 unless
``BYTESPIKE_REDIS_FAIL_OPEN`` lets them through without holds (docs/billing.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from bytespike.access.principal import Principal
from bytespike.accounting.refusals import refusal_error, state_unavailable
from bytespike.errors import GatewayError
from bytespike.ids import new_hold_id
from bytespike.metrics import Metrics
from bytespike.single_flight import SingleFlight
from bytespike.state.hot import (
    KEY,
    KEY_WINDOWS,
    WALLET,
    AccountView,
    AdmitRequest,
    DatabaseValues,
    Entity,
    Hold,
    HotState,
    KeyCaps,
    KeyView,
    StateUnavailable,
)
from bytespike.state.windows import WINDOWS
from bytespike.storage.batch_writer import UsageWriter
from bytespike.storage.generations import GenerationRecord, find_usage_record
from bytespike.storage.hot_snapshot import account_concurrency, read_snapshot, recent_ledger
from bytespike.storage.model_quotas import cap_entity_id
from bytespike.storage.records import UsageRecord

log = logging.getLogger("bytespike.accounting")

TIER_CONCURRENCY = {"free": 5, "pro": 25, "max": 100, "enterprise": 500}
"""In-flight requests per account by tier (spec §4.7, §5.2); ``users.concurrency_limit``
overrides it (0 = unlimited). Enterprise is "custom, typically 500-2000": 500 until set."""
TIER_CAPS_TEXT = ", ".join(f"{tier} {cap}" for tier, cap in TIER_CONCURRENCY.items())
"""The caps as people read them ("free 5, pro 25, …"): the API schema's and the console's."""
ADMIT_ATTEMPTS = 8
"""Admission retries after loading missing entities (a load can be made stale by a concurrent
settlement and is then simply redone)."""
_MAX_CACHED = 100_000


@dataclass(frozen=True, slots=True)
class MeterConfig:
    hold_ttl_s: float = 60.0
    """Holds and leases expire this long after admission unless renewed (every third of it)."""
    cache_ttl_s: float = 2.0
    """How often the ledger is polled for movements made elsewhere, and the account's
    concurrency cap re-read."""
    fail_open: bool = False
    """Admit without holds while Redis is unreachable (instead of 503)."""
    ledger_lookback_s: float = 600.0
    max_request_s: float = 3600.0
    """Holds are renewed for at most this long: a request stuck past it (a bug) lets them expire."""


@dataclass(frozen=True, slots=True)
class RateLimitView:
    """One capped spend window of a key of the chain; the tightest one is ``X-RateLimit-*``."""

    limit_micros: int
    remaining_micros: int
    """cap − settled spend, never below 0."""
    reset_s: int
    """Unix seconds when the window lifts (state.hot.WindowView.reset_ms, rounded up)."""
    window: str = ""
    """``5h``, ``1d`` or ``7d``."""
    key_id: int = 0
    """The key of the chain (the caller's or an ancestor) whose cap this is."""
    used_micros: int = 0
    """Settled spend in the window (holds excluded)."""


@dataclass(frozen=True, slots=True)
class QuotaView:
    """What the accounting headers report, in micro-USD (settled values; holds excluded)."""

    remaining_micros: int
    """min(wallet balance, each quota'd key's remaining quota)."""
    wallet_micros: int
    window: RateLimitView | None = None
    """None when no key of the chain has a window cap."""


def key_caps(principal: Principal, model: str | None = None) -> tuple[KeyCaps, ...]:
    """The chain as admission checks it; a per-model cap of ``model`` is one more quota'd entry,
    named by its negative id (storage/model_quotas.py), so it is held, settled and loaded like a key."""
    keys = tuple(
        KeyCaps(k.key_id, k.quota_micros, (k.rate_limit_5h_micros, k.rate_limit_1d_micros, k.rate_limit_7d_micros))
        for k in principal.chain
    )
    if model is None or not principal.model_caps:
        return keys
    return keys + tuple(
        KeyCaps(cap_entity_id(c.cap_id), c.quota_micros) for c in principal.model_caps if c.model == model
    )


class Meter:
    def __init__(
        self,
        engine: AsyncEngine,
        state: HotState,
        writer: UsageWriter,
        config: MeterConfig | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self._engine = engine
        self._state = state
        self._writer = writer
        self.config = config or MeterConfig()
        self.metrics = metrics or Metrics()
        self._wallets: dict[int, tuple[int, int]] = {}
        """Last (balance, held) seen per wallet: what headers report between round trips."""
        self._stale_wallets: set[int] = set()
        """Wallets moved by a ledger entry since last seen: re-read before the next request, but
        their last values still serve the headers of requests already admitted."""
        self._keys: dict[int, KeyView] = {}
        self._caps: dict[int, tuple[int, float]] = {}
        self._cap_loads: SingleFlight[int, Any] = SingleFlight()
        """Re-reads of accounts' concurrency caps, shared by the requests that need one meanwhile."""
        self._polled: dict[int, float] = {}
        self._seen_ledger: dict[int, dict[int, float]] = {}
        self._live: dict[str, tuple[Hold, float]] = {}
        """Holds of requests still running here, with their admission time (renewed)."""
        self._tasks: set[asyncio.Task[Any]] = set()
        self._dirty: set[Entity] = set()
        self._loads: dict[Entity, asyncio.Future[None]] = {}
        self._renewer: asyncio.Task[None] | None = None

    @property
    def state(self) -> HotState:
        return self._state

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        await self._state.start()
        if self._renewer is None:
            self._renewer = asyncio.get_running_loop().create_task(self._renew_loop(), name="hold-renewer")

    async def close(self) -> None:
        """Stop renewing, finish pending releases, close the state."""
        if self._renewer is not None:
            self._renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._renewer
            self._renewer = None
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._state.close()

    async def _renew_loop(self) -> None:
        interval = self.config.hold_ttl_s / 3
        while True:
            await asyncio.sleep(interval)
            oldest = time.monotonic() - self.config.max_request_s
            holds = [h for h, at in self._live.values() if h.placed and at > oldest]
            if not holds:
                continue
            try:
                await self._state.renew(holds)
            except StateUnavailable:
                pass  # counted by the backend; the holds expire if this lasts a TTL
            except Exception:  # pragma: no cover - a bug must not stop renewals for good
                log.exception("renewing %d holds failed", len(holds))

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            exc = task.exception()
            if not isinstance(exc, StateUnavailable):
                log.error("background billing task failed: %r", exc)

    # ------------------------------------------------------------------ caches
    def _remember(self, view: AccountView) -> None:
        if len(self._wallets) > _MAX_CACHED or len(self._keys) > _MAX_CACHED:
            self._wallets.clear()
            self._keys.clear()
        self._wallets[view.wallet_id] = (view.balance, view.held)
        self._stale_wallets.discard(view.wallet_id)
        for kv in view.keys:
            self._keys[kv.key_id] = kv

    def _cached(self, principal: Principal) -> bool:
        if principal.wallet_id not in self._wallets or principal.wallet_id in self._stale_wallets:
            return False
        for k in principal.chain:
            kv = self._keys.get(k.key_id)
            if kv is None:
                return False
            names = {w.name for w in kv.windows}
            caps = (k.rate_limit_5h_micros, k.rate_limit_1d_micros, k.rate_limit_7d_micros)
            if any(cap and w.name not in names for w, cap in zip(WINDOWS, caps, strict=True)):
                return False
        return True

    def held_micros(self, wallet_id: int) -> int:
        """What in-flight requests hold on the wallet, as of the last state round trip."""
        return self._wallets.get(wallet_id, (0, 0))[1]

    async def held_now(self, principal: Principal) -> int:
        """What in-flight requests (of every process) hold on the principal's wallet right now
        (one state read; the last known value if the state is unreachable)."""
        with contextlib.suppress(StateUnavailable):
            await self._observe(principal)
        return self.held_micros(principal.wallet_id)

    def quota_view(self, principal: Principal) -> QuotaView | None:
        """Header values from the last state round trip; None if this process never saw them."""
        wallet = self._wallets.get(principal.wallet_id)
        if wallet is None:
            return None
        remaining = wallet[0]
        for limits in principal.chain:
            kv = self._keys.get(limits.key_id)
            if kv is not None and limits.quota_micros:
                remaining = min(remaining, limits.quota_micros - kv.used)
        tightest: RateLimitView | None = None
        for candidate in self.window_views(principal):
            if tightest is None or candidate.remaining_micros < tightest.remaining_micros:
                tightest = candidate
        return QuotaView(max(remaining, 0), wallet[0], tightest)

    def model_cap_remaining(self, principal: Principal, model: str) -> int | None:
        """What the tightest per-model cap of ``model`` leaves (settled spend), or None: uncapped
        or not seen by this process yet."""
        left = None
        for c in principal.model_caps:
            kv = self._keys.get(cap_entity_id(c.cap_id)) if c.model == model else None
            if kv is not None:
                remaining = max(c.quota_micros - kv.used, 0)
                left = remaining if left is None else min(left, remaining)
        return left

    def window_views(self, principal: Principal) -> list[RateLimitView]:
        """Every capped window of the key and its ancestors, as of the last state round trip."""
        out = []
        for limits in principal.chain:
            kv = self._keys.get(limits.key_id)
            if kv is None:
                continue
            caps = (limits.rate_limit_5h_micros, limits.rate_limit_1d_micros, limits.rate_limit_7d_micros)
            by_name = {w.name: w for w in kv.windows}
            for window, cap in zip(WINDOWS, caps, strict=True):
                wv = by_name.get(window.name)
                if cap and wv is not None:
                    out.append(
                        RateLimitView(
                            cap,
                            max(cap - wv.used, 0),
                            math.ceil(wv.reset_ms / 1000),
                            window.name,
                            limits.key_id,
                            wv.used,
                        )
                    )
        return out

    # ------------------------------------------------------------------ refresh
    async def refresh(self, principal: Principal) -> None:
        """Before a request: make sure header values and the account's cap are known, and pick
        up ledger movements made by other processes. Never fails the request."""
        now = time.monotonic()
        await self._refresh_cap(principal, now)
        polled = self._polled.get(principal.wallet_id)
        if polled is None or now - polled > self.config.cache_ttl_s:
            self._polled[principal.wallet_id] = now
            await self._poll_ledger(principal.wallet_id, now)
        if not self._cached(principal):
            with contextlib.suppress(StateUnavailable):
                await self._observe(principal)

    async def _refresh_cap(self, principal: Principal, now: float) -> int:
        hit = self._caps.get(principal.user_id)
        if hit is not None and now - hit[1] <= self.config.cache_ttl_s:
            if now - hit[1] > self.config.cache_ttl_s / 2 and not self._cap_loads.is_running(principal.user_id):
                # Re-read before expiry, off the request path (the value in hand is still fresh).
                self._spawn(self._reload_cap(principal, now))
            return hit[0]
        return await self._reload_cap(principal, now)

    async def _reload_cap(self, principal: Principal, now: float) -> int:
        row = await self._cap_loads.run(
            principal.user_id, lambda: account_concurrency(self._engine, principal.user_id)
        )
        tier, explicit = row if row is not None else (principal.tier, None)
        cap = explicit if explicit is not None else TIER_CONCURRENCY.get(tier, TIER_CONCURRENCY["free"])
        if len(self._caps) > _MAX_CACHED:
            self._caps.clear()
        self._caps[principal.user_id] = (cap, now)
        return cap

    async def _poll_ledger(self, wallet_id: int, now: float) -> None:
        """Apply ledger movements committed by anyone (CLI, console, another process) once."""
        entries = await recent_ledger(self._engine, wallet_id)
        seen = self._seen_ledger.setdefault(wallet_id, {})
        fresh = [(i, a) for i, a in entries if i not in seen]
        for entry_id, amount in fresh:
            try:
                await self._state.wallet_moved(wallet_id, entry_id, amount)
            except StateUnavailable:
                self._dirty.add((WALLET, wallet_id))
            seen[entry_id] = now
        if len(seen) > 64:
            horizon = now - 2 * self.config.ledger_lookback_s
            for old in [i for i, at in seen.items() if at < horizon]:
                del seen[old]
        if fresh:
            self._stale_wallets.add(wallet_id)

    async def wallet_moved(self, wallet_id: int, entry_id: int, amount: int) -> None:
        """A ledger movement this process just committed: make it visible at once."""
        self._seen_ledger.setdefault(wallet_id, {})[entry_id] = time.monotonic()
        await self._state.wallet_moved(wallet_id, entry_id, amount)
        self._stale_wallets.add(wallet_id)

    async def _observe(self, principal: Principal) -> None:
        await self._observe_caps(principal.wallet_id, key_caps(principal))

    async def _observe_caps(self, wallet_id: int, caps: tuple[KeyCaps, ...]) -> None:
        for _ in range(2):
            obs = await self._state.observe(wallet_id, caps)
            if obs.view is not None:
                self._remember(obs.view)
                return
            await self._load(obs.missing)

    # ------------------------------------------------------------------ loading
    async def _load(self, missing: tuple[Entity, ...]) -> None:
        """Load ``missing`` from the database (once per entity at a time in this process)."""
        waits = [self._loads[e] for e in missing if e in self._loads]
        todo = [e for e in missing if e not in self._loads]
        if todo:
            done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            for e in todo:
                self._loads[e] = done
            try:
                ticket = await self._state.load_ticket(todo)
                snap = await read_snapshot(
                    self._engine,
                    wallet_ids=[i for k, i in todo if k == WALLET],
                    key_ids=[i for k, i in todo if k == KEY],
                    window_key_ids=[i for k, i in todo if k == KEY_WINDOWS],
                    request_ids=ticket.request_ids,
                )
                await self._state.load(
                    ticket,
                    DatabaseValues(snap.wallets, snap.key_used, snap.key_spend, snap.committed, snap.ledger_ids),
                )
            finally:
                for e in todo:
                    self._loads.pop(e, None)
                done.set_result(None)
        for w in waits:
            # Shielded: a waiter cancelled (its client went away) would otherwise cancel the
            # shared future, failing every other waiter and the loader's set_result.
            await asyncio.shield(w)

    async def _flush_dirty(self) -> None:
        """After an outage in fail-open mode: reload what was charged while Redis was away."""
        if self._dirty:
            dirty = list(self._dirty)
            await self._state.invalidate(dirty)
            self._dirty.difference_update(dirty)

    # ------------------------------------------------------------------ admission
    async def admit(self, principal: Principal, estimate_micros: int, model: str | None = None) -> Hold:
        """Reserve ``estimate_micros`` and a concurrency slot, or raise the error naming the limit;
        ``model`` (the catalogue slug called) brings in the chain's per-model caps of it."""
        cap = await self._refresh_cap(principal, time.monotonic())
        caps = key_caps(principal, model)
        req = AdmitRequest(
            new_hold_id(),
            estimate_micros,
            principal.wallet_id,
            principal.user_id,
            cap,
            caps,
            secret=principal.secret_fingerprint,
            expires_at_ms=_ms(principal.expires_at),
            grace_until_ms=_ms(principal.grace_until),
        )
        try:
            await self._flush_dirty()
            for _ in range(ADMIT_ATTEMPTS):
                adm = await self._state.admit(req)
                if adm.missing:
                    await self._load(adm.missing)
                    continue
                if adm.view is not None:
                    self._remember(adm.view)
                if adm.refusal is not None:
                    self.metrics.inc("bytespike_admissions_total", result=adm.refusal.limit.value)
                    now_ms = adm.view.at_ms if adm.view is not None else int(time.time() * 1000)
                    raise refusal_error(principal, estimate_micros, adm.refusal, now_ms)
                assert adm.hold is not None
                self._live[adm.hold.hold_id] = (adm.hold, time.monotonic())
                self.metrics.inc("bytespike_admissions_total", result="ok")
                return adm.hold
        except StateUnavailable:
            if not self.config.fail_open:
                self.metrics.inc("bytespike_admissions_total", result="state_unavailable")
                raise state_unavailable() from None
            self.metrics.inc("bytespike_admissions_total", result="fail_open")
            log.warning("Redis unreachable: admitting %s without a hold (fail-open)", req.hold_id)
            return Hold(req.hold_id, 0, principal.wallet_id, principal.user_id, caps, placed=False)
        raise GatewayError(
            503, "state_busy", "billing state kept changing while loading; retry", retry_after=1
        )

    def release(self, hold: Hold) -> None:
        """Free a failed request's hold and lease (in the background: nothing waits on it)."""
        self._live.pop(hold.hold_id, None)
        if hold.placed:
            self._spawn(self._release(hold))

    async def _release(self, hold: Hold) -> None:
        with contextlib.suppress(StateUnavailable):  # the hold then expires with its TTL
            await self._state.release(hold)

    # ------------------------------------------------------------------ settlement
    async def settle(self, hold: Hold, record: UsageRecord) -> None:
        """Debit ``record.cost_micros``, release the rest of the hold, and wait until it is durable.

        Raises a 503 `GatewayError` (the request is then not billed) when the hot state or the
        database cannot take the charge; never raises once the usage record is durable."""
        self._live.pop(hold.hold_id, None)
        settlement = None
        try:
            await self._flush_dirty()
            settlement = await self._state.settle(hold, record.request_id, record.cost_micros)
        except StateUnavailable:
            if not self.config.fail_open:
                self.metrics.inc("bytespike_settlements_total", result="state_unavailable")
                self.release(hold)
                raise state_unavailable() from None
            self.metrics.inc("bytespike_settlements_total", result="fail_open")
            self._dirty.update(_entities(hold))
        try:
            durable = self._writer.submit(record)
        except RuntimeError as exc:  # the writer is closed: shutting down
            durable = asyncio.get_running_loop().create_future()
            durable.set_exception(exc)
        if settlement is not None and not settlement.duplicate:
            durable.add_done_callback(lambda f: self._after_write(f, hold, record, settlement))
        try:
            # Shielded: a client that goes away must not cancel the bookkeeping of what it consumed.
            await asyncio.shield(durable)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self.metrics.inc("bytespike_settlements_total", result="write_failed")
            raise GatewayError(
                503,
                "billing_unavailable",
                "the usage record could not be written, so this request is not billed; retry",
                retry_after=1,
            ) from exc
        try:
            self.metrics.inc(
                "bytespike_settlements_total", result="duplicate" if settlement and settlement.duplicate else "ok"
            )
            await self._refresh_after_settle(hold, settlement)
        except Exception:
            # The request is billed: it must not fail now (the caller would retry and pay twice).
            # The cached view is only for headers; the next request reads the state again.
            self._stale_wallets.add(hold.wallet_id)
            log.exception("request %s: billed, but the cached balance was not updated", record.request_id)

    async def _refresh_after_settle(self, hold: Hold, settlement: Any) -> None:
        """Cache the balance after a charge, for the reply's accounting headers."""
        if settlement is not None and settlement.view is not None:
            self._remember(settlement.view)
        elif settlement is not None and (
            hold.wallet_id not in self._wallets or hold.wallet_id in self._stale_wallets
        ):
            # Rare: the wallet was invalidated (a ledger movement) while this request ran; read
            # it again so the reply's accounting headers show the balance after this charge.
            with contextlib.suppress(StateUnavailable):
                await self._observe_caps(hold.wallet_id, hold.keys)

    def _after_write(self, durable: asyncio.Future[None], hold: Hold, record: UsageRecord, settlement: Any) -> None:
        """Runs when the usage record's write resolves, whether or not anyone still waits for it.
        Written: the journal entry has done its job. Not written: the request is not billed after
        all, so take its charge back out of the hot state."""
        if durable.cancelled():
            return
        if durable.exception() is None:
            self._state.committed(hold, record.request_id, settlement.at_ms)
        else:
            self._spawn(self._undo(hold, record, settlement))

    async def _undo(self, hold: Hold, record: UsageRecord, settlement: Any) -> None:
        with contextlib.suppress(StateUnavailable):
            await self._state.undo_settle(hold, record.request_id, record.cost_micros, settlement.at_ms)

    # ------------------------------------------------------------------ lookups
    async def generation(self, principal: Principal, request_id: str) -> GenerationRecord | None:
        """The usage record of ``request_id`` if the caller's account owns it."""
        record = await find_usage_record(self._engine, request_id)
        if record is None or record.user_id != principal.user_id:
            return None
        return record


def _ms(unix_s: float | None) -> int:
    """Unix seconds → ms for the state (0 = none); rounded up, so a deadline is never early."""
    return math.ceil(unix_s * 1000) if unix_s is not None else 0


def _entities(hold: Hold) -> list[Entity]:
    out: list[Entity] = [(WALLET, hold.wallet_id)]
    for k in hold.keys:
        out += [(KEY, k.key_id), (KEY_WINDOWS, k.key_id)]
    return out
