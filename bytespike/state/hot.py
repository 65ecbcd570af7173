"""The hot-state interface: what admission and settlement need to be one atomic step each.

Two backends implement `HotState` with the same semantics: `state.memory.MemoryState` (the
embedded default, one process) and `state.redis.RedisState` (any number of processes; every
operation is one Lua script, so one round trip). The state holds a *hot copy* of three kinds of
entity, each loaded from the database on a miss:

- ``w:<wallet id>``: the wallet balance and the sum of holds on it;
- ``k:<key id>``: the key's lifetime spend (``used``) and the sum of holds through it;
- ``kw:<key id>``: the key's spend per time bucket of the rolling 5 h / 1 d / 7 d windows.

Beside them live the holds (one per admitted request, on the wallet and on every key of the
chain), the account's concurrency leases, and markers of revoked keys and rotated-out secrets
(admission refuses those first, so a revocation is exact even inside a process's key-cache
TTL). Holds and leases have a deadline: a process that dies stops renewing them and they
expire. Every settlement also writes a short-lived *journal* entry (request id, cost, time) per
entity, which is what makes reloading an entity exact while other processes are settling
(docs/billing.md "Consistency").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

WALLET = "w"
KEY = "k"
KEY_WINDOWS = "kw"

Entity = tuple[str, int]
"""``(kind, id)`` with kind one of `WALLET`, `KEY`, `KEY_WINDOWS`."""

JOURNAL_BUCKET_MS = 60_000
JOURNAL_BUCKETS = 6
"""Settlements are journaled per entity in one-minute buckets, kept for six of them."""
LOAD_DEADLINE_MS = 60_000
"""A load that took longer than this (from its ticket) is discarded: its journal may be gone."""
ENTITY_TTL_S = 86_400
"""Idle entities leave Redis after a day and are reloaded from the database on the next use."""


class StateUnavailable(Exception):
    """The shared hot state could not be reached (Redis down or timing out)."""


@dataclass(frozen=True, slots=True)
class KeyCaps:
    """One key of the chain as admission sees it: micro-USD caps, 0 = unlimited."""

    key_id: int
    quota: int
    windows: tuple[int, int, int] = (0, 0, 0)
    """Caps of the 5 h, 1 d and 7 d windows (`state.windows.WINDOWS` order)."""

    @property
    def has_windows(self) -> bool:
        return any(self.windows)


@dataclass(frozen=True, slots=True)
class AdmitRequest:
    hold_id: str
    amount: int
    """The worst-case cost to hold, micro-USD."""
    wallet_id: int
    account_id: int
    """Owner of the concurrency leases (the key's user)."""
    concurrency_cap: int
    """In-flight requests allowed for the account; 0 = unlimited."""
    keys: tuple[KeyCaps, ...]
    secret: str = ""
    """Fingerprint of the secret the caller presented (`secret_fingerprint`): a rotated-out
    secret is refused by admission itself once its deadline passed (`HotState.retire_keys`)."""
    expires_at_ms: int = 0
    """Unix ms when the key (or an ancestor) expires, compared with the state's clock; 0 = never."""
    grace_until_ms: int = 0
    """Unix ms when a rotated-out secret's grace period ends (it was presented); 0 = not one."""


@dataclass(frozen=True, slots=True)
class Hold:
    """A placed reservation: the hold on the wallet and keys, and the account's lease."""

    hold_id: str
    amount: int
    wallet_id: int
    account_id: int
    keys: tuple[KeyCaps, ...]
    placed: bool = True
    """False for a request let through without a hold (fail-open while Redis is down)."""

    @property
    def member(self) -> str:
        """How the hold is named in the per-entity hold sets: ``<id>|<amount>``."""
        return f"{self.hold_id}|{self.amount}"

    @property
    def key_ids(self) -> tuple[int, ...]:
        return tuple(k.key_id for k in self.keys)


class Limit(StrEnum):
    KEY_REVOKED = "key_revoked"
    KEY_EXPIRED = "key_expired"
    KEY_ROTATED = "key_rotated"
    BALANCE = "insufficient_balance"
    QUOTA = "quota_exceeded"
    WINDOW = "rate_limit"
    CONCURRENCY = "concurrency_limit"


KEY_LIMITS = frozenset({Limit.KEY_REVOKED, Limit.KEY_EXPIRED, Limit.KEY_ROTATED})
"""Refusals about the key itself (401), checked first, before any entity is loaded."""
RETIRED_TTL_S = ENTITY_TTL_S
"""Revocation and rotation markers outlive every key cache by far, then leave the state (the
database refuses those secrets anyway once a cache entry expires)."""


def secret_fingerprint(lookup_hash: str) -> str:
    """How the hot state names one secret of a key: a prefix of its lookup digest (an HMAC of
    the secret, already in the database; never the secret)."""
    return lookup_hash[:16]


@dataclass(frozen=True, slots=True)
class RetiredSecret:
    """A secret of ``key_id`` that stops working at ``until_ms`` (rotation, with or without grace)."""

    key_id: int
    fingerprint: str
    until_ms: int


@dataclass(frozen=True, slots=True)
class WindowView:
    name: str
    """``5h``, ``1d`` or ``7d``."""
    limit: int
    used: int
    """Settled spend in the window (holds excluded)."""
    reset_ms: int
    """Unix ms when the oldest spend ages out, or, when ``used >= limit``, when enough of it has
    aged out to bring the window below its cap; now when nothing was spent."""


@dataclass(frozen=True, slots=True)
class KeyView:
    key_id: int
    used: int
    held: int
    windows: tuple[WindowView, ...] = ()
    """Only the windows with a cap."""


@dataclass(frozen=True, slots=True)
class AccountView:
    """Settled values and holds as one atomic step saw them."""

    wallet_id: int
    balance: int
    held: int
    keys: tuple[KeyView, ...]
    at_ms: int


@dataclass(frozen=True, slots=True)
class Refusal:
    limit: Limit
    key_id: int | None = None
    window: str | None = None
    available: int = 0
    """Wallet available net of holds, or the key's quota left net of holds."""
    cap: int = 0
    used: int = 0
    held: int = 0
    reset_ms: int = 0
    in_flight: int = 0


@dataclass(frozen=True, slots=True)
class Admission:
    """Exactly one of: ``missing`` entities to load first, a ``refusal``, or a placed ``hold``."""

    hold: Hold | None = None
    refusal: Refusal | None = None
    view: AccountView | None = None
    missing: tuple[Entity, ...] = ()


@dataclass(frozen=True, slots=True)
class Settlement:
    at_ms: int
    """When the debit was applied (undo needs it to find the window bucket)."""
    view: AccountView | None
    """None when the wallet was not in the hot state (it will be loaded on the next use)."""
    duplicate: bool = False


@dataclass(frozen=True, slots=True)
class JournalEntry:
    request_id: str
    cost: int
    at_ms: int


@dataclass(frozen=True, slots=True)
class LoadTicket:
    """What a load must know before reading the database: generations and recent settlements."""

    at_ms: int
    gens: Mapping[Entity, int]
    journal: Mapping[Entity, tuple[JournalEntry, ...]]
    """Per wallet or key entity (windows share their key's journal)."""

    @property
    def request_ids(self) -> frozenset[str]:
        return frozenset(e.request_id for entries in self.journal.values() for e in entries)


@dataclass(frozen=True, slots=True)
class DatabaseValues:
    """What the database says about the entities of a ticket, read in one snapshot."""

    wallets: Mapping[int, int] = field(default_factory=dict)
    """Wallet balance."""
    key_used: Mapping[int, int] = field(default_factory=dict)
    key_spend: Mapping[int, Sequence[tuple[int, int]]] = field(default_factory=dict)
    """(unix ms, cost) of each billed request of the key (and its descendants) in the last 7 d."""
    committed: frozenset[str] = frozenset()
    """The ticket's journaled request ids whose usage record is in this snapshot."""
    ledger_ids: Mapping[int, frozenset[int]] = field(default_factory=dict)
    """Recent ledger entries per wallet that this snapshot's balance already includes."""


@dataclass(frozen=True, slots=True)
class Observation:
    view: AccountView | None = None
    missing: tuple[Entity, ...] = ()


@dataclass(frozen=True, slots=True)
class EntityPeek:
    """Raw state of one wallet or key, for operators and tests."""

    present: bool
    value: int
    """Balance (wallet) or lifetime spend (key)."""
    held: int
    holds: tuple[tuple[str, int, int], ...]
    """(hold id, amount, deadline ms) of every hold still recorded, expired or not."""


class HotState(Protocol):
    """Balances, quotas, windows, holds and leases; see the module docstring."""

    is_shared: bool
    """True when other processes share this state (Redis)."""

    async def start(self) -> None:
        """Get ready (load the scripts); must not fail when the backend is unreachable."""
        ...

    async def admit(self, req: AdmitRequest) -> Admission:
        """Check wallet, every key's quota and windows, and the account's concurrency, then place
        the hold and the lease: all or nothing, in one atomic step."""
        ...

    async def settle(self, hold: Hold, request_id: str, cost: int) -> Settlement:
        """Release the hold and the lease, debit ``cost`` from the wallet, add it to every key's
        lifetime spend and windows, journal it: one atomic step, idempotent on ``request_id``
        for as long as its journal entry lives (see `committed`)."""
        ...

    async def undo_settle(self, hold: Hold, request_id: str, cost: int, at_ms: int) -> None:
        """Reverse a settlement whose usage record could not be written."""
        ...

    def committed(self, hold: Hold, request_id: str, at_ms: int) -> None:
        """The settlement (made at ``at_ms``, `Settlement.at_ms`) has a durable usage record:
        any database snapshot read from now on includes it, so a reload no longer needs its
        journal entry. Both backends drop the entry, so the journal holds only settlements in
        flight, not minutes of traffic (memory at once; Redis with the process's next script).
        No I/O here: called from a done-callback."""
        ...

    async def release(self, hold: Hold) -> None:
        """Drop the hold and the lease with no debit (idempotent)."""
        ...

    async def renew(self, holds: Sequence[Hold]) -> None:
        """Push the deadlines of still-running requests' holds and leases one TTL ahead."""
        ...

    async def observe(self, wallet_id: int, keys: Sequence[KeyCaps]) -> Observation:
        """The current view, or which entities must be loaded first."""
        ...

    async def load_ticket(self, entities: Sequence[Entity]) -> LoadTicket: ...

    async def load(self, ticket: LoadTicket, values: DatabaseValues) -> bool:
        """Install the database values, corrected by the journal, for the ticket's entities that
        are still missing; False when a concurrent settlement made the ticket stale."""
        ...

    async def invalidate(self, entities: Sequence[Entity]) -> None:
        """Forget the hot copy of ``entities``: the next use reloads them from the database."""
        ...

    async def wallet_moved(self, wallet_id: int, entry_id: int, amount: int) -> None:
        """A committed ledger movement (top-up, grant, adjustment) changed the wallet."""
        ...

    async def retire_keys(self, revoked: Sequence[int], secrets: Sequence[RetiredSecret] = ()) -> None:
        """Mark keys revoked and secrets rotated out (committed in the database already), so
        that admission refuses them at once, whatever the key caches of the processes hold."""
        ...

    async def peek(self, kind: str, entity_id: int) -> EntityPeek: ...

    async def leases(self, account_id: int) -> tuple[tuple[str, int], ...]:
        """(hold id, deadline ms) of the account's recorded leases, expired or not."""
        ...

    async def close(self) -> None: ...
