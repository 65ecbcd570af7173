"""`HotState` in this process, for the embedded default (one gateway process).

Each operation runs without an ``await`` inside, so on one event loop it is one critical
section, exactly like one Lua script in Redis. The data mirrors `state.redis` one to one
(entities, hold sets, leases, generations, journal) so both backends pass the same tests
(tests/state). Ledger movements made by another process (the CLI) cannot reach this memory:
the meter polls the ledger and calls `wallet_moved`, which applies each entry once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from bytespike.state.hot import (
    JOURNAL_BUCKET_MS,
    JOURNAL_BUCKETS,
    KEY,
    KEY_WINDOWS,
    LOAD_DEADLINE_MS,
    RETIRED_TTL_S,
    WALLET,
    AccountView,
    Admission,
    AdmitRequest,
    DatabaseValues,
    Entity,
    EntityPeek,
    Hold,
    JournalEntry,
    KeyCaps,
    KeyView,
    Limit,
    LoadTicket,
    Observation,
    Refusal,
    RetiredSecret,
    Settlement,
    WindowView,
)
from bytespike.state.journal import HotWindows, hot_values, journal_entity
from bytespike.state.windows import WINDOWS, WindowBuckets

LEDGER_MEMORY_MS = 30 * 60_000
"""How long applied ledger entry ids are remembered (longer than the meter's polling lookback)."""


def wall_clock_ms() -> int:
    return int(time.time() * 1000)


@dataclass(slots=True)
class _HoldSet:
    """The holds recorded on one wallet or key, with their running sum."""

    holds: dict[str, tuple[int, int]] = field(default_factory=dict)
    """member → (amount, deadline ms)."""
    earliest: float = float("inf")
    """A lower bound of the deadlines (renewals only push deadlines out), so a sweep scans the
    holds only when one of them may have expired: admission stays O(1) with many in flight."""

    def put(self, member: str, amount: int, deadline: int) -> None:
        self.holds[member] = (amount, deadline)
        self.earliest = min(self.earliest, deadline)

    def sweep(self, now: int) -> int:
        """Drop expired holds; returns the amount they held."""
        if now < self.earliest:
            return 0
        expired = [m for m, (_, deadline) in self.holds.items() if deadline <= now]
        freed = sum(self.holds.pop(m)[0] for m in expired)
        self.earliest = min((d for _, d in self.holds.values()), default=float("inf"))
        return freed

    def live_sum(self, now: int) -> int:
        return sum(amount for amount, deadline in self.holds.values() if deadline > now)


@dataclass(slots=True)
class _LeaseSet:
    """One account's concurrency leases: hold id → deadline ms."""

    deadlines: dict[str, int] = field(default_factory=dict)
    earliest: float = float("inf")
    """A lower bound of the deadlines, as in `_HoldSet`: admission scans only when one may have
    expired, so it stays O(1) with a thousand streams open."""

    def sweep(self, now: int) -> None:
        if now < self.earliest:
            return
        for hold_id in [h for h, deadline in self.deadlines.items() if deadline <= now]:
            del self.deadlines[hold_id]
        self.earliest = min(self.deadlines.values(), default=float("inf"))


@dataclass(slots=True)
class _Value:
    value: int
    held: int = 0


class MemoryState:
    """See the module docstring."""

    is_shared = False

    def __init__(self, *, hold_ttl_s: float = 60.0, clock_ms: Callable[[], int] | None = None) -> None:
        self._ttl_ms = int(hold_ttl_s * 1000)
        self._clock = clock_ms or wall_clock_ms
        self._values: dict[Entity, _Value] = {}
        self._windows: dict[int, tuple[WindowBuckets, ...]] = {}
        self._holds: dict[Entity, _HoldSet] = {}
        self._leases: dict[int, _LeaseSet] = {}
        self._gens: dict[Entity, int] = {}
        self._journal: dict[Entity, dict[str, JournalEntry]] = {}
        """Settlements whose usage record is not known to be durable yet, per entity."""
        self._journal_swept = 0
        self._applied_ledger: dict[int, dict[int, int]] = {}
        self._revoked: dict[int, int] = {}
        """Revoked key id → when it was marked (ms)."""
        self._retired: dict[tuple[int, str], int] = {}
        """(key id, secret fingerprint) → when that rotated-out secret stops (ms)."""

    # ------------------------------------------------------------------ helpers
    def _hold_set(self, entity: Entity) -> _HoldSet:
        s = self._holds.get(entity)
        if s is None:
            s = self._holds[entity] = _HoldSet()
        return s

    def _sweep(self, entity: Entity, now: int) -> None:
        s = self._holds.get(entity)
        if s is None:
            return
        freed = s.sweep(now)
        v = self._values.get(entity)
        if freed and v is not None:
            v.held -= freed

    def _missing(self, wallet_id: int, keys: Sequence[KeyCaps]) -> tuple[Entity, ...]:
        missing: list[Entity] = []
        if (WALLET, wallet_id) not in self._values:
            missing.append((WALLET, wallet_id))
        for k in keys:
            if (KEY, k.key_id) not in self._values:
                missing.append((KEY, k.key_id))
            if k.has_windows and k.key_id not in self._windows:
                missing.append((KEY_WINDOWS, k.key_id))
        return tuple(missing)

    def _view(self, wallet_id: int, keys: Sequence[KeyCaps], now: int) -> AccountView:
        w = self._values[(WALLET, wallet_id)]
        views = []
        for k in keys:
            kv = self._values[(KEY, k.key_id)]
            wins = []
            if k.has_windows:
                buckets = self._windows[k.key_id]
                for i, cap in enumerate(k.windows):
                    if cap:
                        b = buckets[i]
                        b.advance(now)
                        wins.append(WindowView(WINDOWS[i].name, cap, b.total, b.reset_ms(now, cap)))
            views.append(KeyView(k.key_id, kv.value, kv.held, tuple(wins)))
        return AccountView(wallet_id, w.value, w.held, tuple(views), now)

    def _bump(self, entity: Entity) -> None:
        """A settlement or undo missed this absent entity: any load in progress is stale."""
        self._gens[entity] = self._gens.get(entity, 0) + 1

    def _journal_add(self, entity: Entity, entry: JournalEntry) -> bool:
        j = self._journal.get(entity)
        if j is None:
            j = self._journal[entity] = {}
        elif entry.request_id in j:
            return False
        j[entry.request_id] = entry
        return True

    def _journal_sweep(self, now: int) -> None:
        """Drop entries past the journal's horizon (at most once a bucket).

        Entries normally leave when their usage record commits (`committed`), so what is left
        here is small: settlements whose record never resolved. Scanning from the front of a
        dict for the expired prefix is not cheap enough for the hot path (CPython skips the
        deleted slots one by one, so it was O(journal) per settlement: half the gateway's CPU
        and ~30 MiB/min of RSS in the 10-minute soak of bench/soak.py, before `committed`)."""
        if now < self._journal_swept + JOURNAL_BUCKET_MS:
            return
        self._journal_swept = now
        horizon = now - JOURNAL_BUCKET_MS * (JOURNAL_BUCKETS + 1)
        for entity in list(self._journal):
            live = {rid: e for rid, e in self._journal[entity].items() if e.at_ms >= horizon}
            if live:
                self._journal[entity] = live
            else:
                del self._journal[entity]

    # ------------------------------------------------------------------ HotState
    async def start(self) -> None:
        return None

    def _key_refusal(self, req: AdmitRequest, now: int) -> Refusal | None:
        """Expired, revoked or rotated-out: refused before anything else (state/lua/admit.lua)."""
        first = req.keys[0].key_id if req.keys else None
        if req.expires_at_ms and now >= req.expires_at_ms:
            return Refusal(Limit.KEY_EXPIRED, key_id=first)
        if req.grace_until_ms and now >= req.grace_until_ms:
            return Refusal(Limit.KEY_ROTATED, key_id=first)
        if self._revoked:
            for k in req.keys:
                if k.key_id in self._revoked:
                    return Refusal(Limit.KEY_REVOKED, key_id=k.key_id)
        if req.secret and self._retired:
            until = self._retired.get((first, req.secret))  # type: ignore[arg-type]
            if until is not None and now >= until:
                return Refusal(Limit.KEY_ROTATED, key_id=first)
        return None

    async def admit(self, req: AdmitRequest) -> Admission:
        now = self._clock()
        refused = self._key_refusal(req, now)
        if refused is not None:
            return Admission(refusal=refused)
        missing = self._missing(req.wallet_id, req.keys)
        if missing:
            return Admission(missing=missing)
        self._sweep((WALLET, req.wallet_id), now)
        for k in req.keys:
            self._sweep((KEY, k.key_id), now)
        view = self._view(req.wallet_id, req.keys, now)
        available = view.balance - view.held
        if available <= 0 or available < req.amount:
            return Admission(refusal=Refusal(Limit.BALANCE, available=available), view=view)
        for k, kv in zip(req.keys, view.keys, strict=True):
            if k.quota:
                left = k.quota - kv.used - kv.held
                if left <= 0 or left < req.amount:
                    return Admission(
                        refusal=Refusal(Limit.QUOTA, key_id=k.key_id, available=left, cap=k.quota), view=view
                    )
        for kv in view.keys:
            for wv in kv.windows:
                if wv.used + kv.held >= wv.limit:
                    return Admission(
                        refusal=Refusal(
                            Limit.WINDOW,
                            key_id=kv.key_id,
                            window=wv.name,
                            cap=wv.limit,
                            used=wv.used,
                            held=kv.held,
                            reset_ms=wv.reset_ms,
                        ),
                        view=view,
                    )
        leases = self._leases.get(req.account_id)
        if leases is None:
            leases = self._leases[req.account_id] = _LeaseSet()
        leases.sweep(now)
        if req.concurrency_cap and len(leases.deadlines) >= req.concurrency_cap:
            return Admission(
                refusal=Refusal(Limit.CONCURRENCY, cap=req.concurrency_cap, in_flight=len(leases.deadlines)),
                view=view,
            )
        hold = Hold(req.hold_id, req.amount, req.wallet_id, req.account_id, req.keys)
        deadline = now + self._ttl_ms
        member = hold.member
        for entity in [(WALLET, req.wallet_id), *((KEY, k.key_id) for k in req.keys)]:
            self._hold_set(entity).put(member, req.amount, deadline)
            self._values[entity].held += req.amount
        leases.deadlines[req.hold_id] = deadline
        leases.earliest = min(leases.earliest, deadline)
        return Admission(hold=hold, view=self._view(req.wallet_id, req.keys, now))

    def _drop_hold(self, hold: Hold) -> None:
        member = hold.member
        for entity in [(WALLET, hold.wallet_id), *((KEY, k.key_id) for k in hold.keys)]:
            s = self._holds.get(entity)
            if s is not None and s.holds.pop(member, None) is not None:
                v = self._values.get(entity)
                if v is not None:
                    v.held -= hold.amount
        leases = self._leases.get(hold.account_id)
        if leases is not None:
            leases.deadlines.pop(hold.hold_id, None)

    async def settle(self, hold: Hold, request_id: str, cost: int) -> Settlement:
        now = self._clock()
        self._journal_sweep(now)
        entry = JournalEntry(request_id, cost, now)
        if not self._journal_add((WALLET, hold.wallet_id), entry):
            self._drop_hold(hold)
            return Settlement(now, None, duplicate=True)
        self._drop_hold(hold)
        wallet = self._values.get((WALLET, hold.wallet_id))
        if wallet is not None:
            wallet.value -= cost
        else:
            self._bump((WALLET, hold.wallet_id))
        for k in hold.keys:
            self._journal_add((KEY, k.key_id), entry)
            kv = self._values.get((KEY, k.key_id))
            if kv is not None:
                kv.value += cost
            else:
                self._bump((KEY, k.key_id))
            buckets = self._windows.get(k.key_id)
            if buckets is not None:
                for b in buckets:
                    b.add(now, cost, now)
            else:
                self._bump((KEY_WINDOWS, k.key_id))
        if self._missing(hold.wallet_id, hold.keys):
            return Settlement(now, None)
        return Settlement(now, self._view(hold.wallet_id, hold.keys, now))

    async def undo_settle(self, hold: Hold, request_id: str, cost: int, at_ms: int) -> None:
        for entity in [(WALLET, hold.wallet_id), *((KEY, k) for k in hold.key_ids)]:
            j = self._journal.get(entity)
            if j is None or j.pop(request_id, None) is None:
                continue
            v = self._values.get(entity)
            if v is None:
                self._bump(entity)
            else:
                v.value += cost if entity[0] == WALLET else -cost
            if entity[0] == KEY:
                buckets = self._windows.get(entity[1])
                if buckets is None:
                    self._bump((KEY_WINDOWS, entity[1]))
                else:
                    for b in buckets:
                        b.remove(at_ms, cost)

    def committed(self, hold: Hold, request_id: str, at_ms: int) -> None:
        for entity in [(WALLET, hold.wallet_id), *((KEY, k) for k in hold.key_ids)]:
            j = self._journal.get(entity)
            if j is not None and j.pop(request_id, None) is not None and not j:
                del self._journal[entity]

    async def release(self, hold: Hold) -> None:
        self._drop_hold(hold)

    async def renew(self, holds: Sequence[Hold]) -> None:
        deadline = self._clock() + self._ttl_ms
        for hold in holds:
            for entity in [(WALLET, hold.wallet_id), *((KEY, k) for k in hold.key_ids)]:
                s = self._holds.get(entity)
                if s is not None and hold.member in s.holds:
                    s.holds[hold.member] = (hold.amount, deadline)
            leases = self._leases.get(hold.account_id)
            if leases is not None and hold.hold_id in leases.deadlines:
                leases.deadlines[hold.hold_id] = deadline

    async def observe(self, wallet_id: int, keys: Sequence[KeyCaps]) -> Observation:
        missing = self._missing(wallet_id, keys)
        if missing:
            return Observation(missing=missing)
        now = self._clock()
        self._sweep((WALLET, wallet_id), now)
        for k in keys:
            self._sweep((KEY, k.key_id), now)
        return Observation(view=self._view(wallet_id, keys, now))

    async def load_ticket(self, entities: Sequence[Entity]) -> LoadTicket:
        now = self._clock()
        horizon = now - JOURNAL_BUCKET_MS * JOURNAL_BUCKETS
        gens = {}
        journal = {}
        for entity in entities:
            je = journal_entity(entity)
            gens[entity] = self._gens.get(entity, 0)
            journal[je] = tuple(e for e in self._journal.get(je, {}).values() if e.at_ms >= horizon)
        return LoadTicket(now, gens, journal)

    async def load(self, ticket: LoadTicket, values: DatabaseValues) -> bool:
        now = self._clock()
        if now - ticket.at_ms > LOAD_DEADLINE_MS:
            return False
        entities = [e for e in ticket.gens if not self._present(e)]
        if any(self._gens.get(e, 0) != ticket.gens[e] for e in entities):
            return False
        for entity, value in hot_values(ticket, values, entities, now).items():
            kind, entity_id = entity
            if kind == KEY_WINDOWS:
                assert isinstance(value, HotWindows)
                self._windows[entity_id] = tuple(
                    WindowBuckets(w, dict(b), sum(b.values()), min(b) if b else None)
                    for w, b in zip(WINDOWS, value.buckets, strict=True)
                )
                continue
            assert isinstance(value, int)
            s = self._holds.get(entity)
            self._values[entity] = _Value(value, s.live_sum(now) if s is not None else 0)
            if s is not None:
                s.sweep(now)
            if kind == WALLET:
                applied = self._applied_ledger.setdefault(entity_id, {})
                for entry_id in values.ledger_ids.get(entity_id, ()):
                    applied[entry_id] = now
        return True

    def _present(self, entity: Entity) -> bool:
        kind, entity_id = entity
        return entity_id in self._windows if kind == KEY_WINDOWS else entity in self._values

    async def invalidate(self, entities: Sequence[Entity]) -> None:
        for entity in entities:
            kind, entity_id = entity
            if kind == KEY_WINDOWS:
                self._windows.pop(entity_id, None)
            else:
                self._values.pop(entity, None)
            self._bump(entity)

    async def wallet_moved(self, wallet_id: int, entry_id: int, amount: int) -> None:
        wallet = self._values.get((WALLET, wallet_id))
        if wallet is None:
            return  # not loaded: the load reads the balance that includes the entry
        now = self._clock()
        applied = self._applied_ledger.setdefault(wallet_id, {})
        if entry_id in applied:
            return
        applied[entry_id] = now
        wallet.value += amount
        if len(applied) > 256:
            for old in [i for i, at in applied.items() if now - at > LEDGER_MEMORY_MS]:
                del applied[old]

    async def retire_keys(self, revoked: Sequence[int], secrets: Sequence[RetiredSecret] = ()) -> None:
        now = self._clock()
        for key_id in revoked:
            self._revoked[key_id] = now
        for secret in secrets:
            self._retired[(secret.key_id, secret.fingerprint)] = secret.until_ms or now
        horizon = now - RETIRED_TTL_S * 1000
        for key_id in [k for k, at in self._revoked.items() if at < horizon]:
            del self._revoked[key_id]
        for name in [n for n, until in self._retired.items() if until < horizon]:
            del self._retired[name]

    async def peek(self, kind: str, entity_id: int) -> EntityPeek:
        v = self._values.get((kind, entity_id))
        s = self._holds.get((kind, entity_id))
        holds = tuple(
            (m.rsplit("|", 1)[0], amount, deadline) for m, (amount, deadline) in (s.holds.items() if s else ())
        )
        return EntityPeek(v is not None, v.value if v else 0, v.held if v else 0, holds)

    async def leases(self, account_id: int) -> tuple[tuple[str, int], ...]:
        leases = self._leases.get(account_id)
        return tuple(leases.deadlines.items()) if leases is not None else ()

    async def close(self) -> None:
        return None

