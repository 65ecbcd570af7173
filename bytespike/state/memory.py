"""In-process hot state for the embedded default (one process): balances, quota use and holds.

Every admission and settlement happens without an ``await`` between the check and the change,
so on one event loop it is one critical section. Values are refreshed from the database every
``ttl`` seconds (to see credits granted by another process, e.g. the CLI); debits this process
has handed to the usage writer but not yet committed are kept in ``unflushed`` and subtracted
from what the database says, so a refresh never forgets a charge.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field


@dataclass(slots=True)
class Balance:
    """Settled value (wallet balance, or a key's lifetime spend) plus what is held against it."""

    settled: int = 0
    held: int = 0
    unflushed: int = 0
    """Debits applied here but not yet committed to the database."""
    loaded_at: float = float("-inf")


@dataclass(frozen=True, slots=True)
class Hold:
    """A reservation placed at admission; settled with the exact cost or released."""

    hold_id: int
    wallet_id: int
    key_chain: tuple[int, ...]
    amount: int


@dataclass(slots=True)
class MemoryState:
    """Wallet balances and per-key spend for one process."""

    wallets: dict[int, Balance] = field(default_factory=dict)
    key_spend: dict[int, Balance] = field(default_factory=dict)
    """``settled`` is the key's lifetime ``used_micros``."""
    _ids: itertools.count = field(default_factory=itertools.count)

    def wallet(self, wallet_id: int) -> Balance:
        b = self.wallets.get(wallet_id)
        if b is None:
            b = self.wallets[wallet_id] = Balance()
        return b

    def key(self, key_id: int) -> Balance:
        b = self.key_spend.get(key_id)
        if b is None:
            b = self.key_spend[key_id] = Balance()
        return b

    def refresh_wallet(self, wallet_id: int, db_balance: int, now: float) -> None:
        b = self.wallet(wallet_id)
        b.settled = db_balance - b.unflushed
        b.loaded_at = now

    def refresh_key(self, key_id: int, db_used: int, now: float) -> None:
        b = self.key(key_id)
        b.settled = db_used + b.unflushed
        b.loaded_at = now

    def place_hold(self, wallet_id: int, key_chain: tuple[int, ...], amount: int) -> Hold:
        self.wallet(wallet_id).held += amount
        for key_id in key_chain:
            self.key(key_id).held += amount
        return Hold(next(self._ids), wallet_id, key_chain, amount)

    def release(self, hold: Hold) -> None:
        self.wallet(hold.wallet_id).held -= hold.amount
        for key_id in hold.key_chain:
            self.key(key_id).held -= hold.amount

    def settle(self, hold: Hold, cost: int) -> None:
        """Release the hold and apply ``cost`` as an unflushed debit."""
        self.release(hold)
        w = self.wallet(hold.wallet_id)
        w.settled -= cost
        w.unflushed += cost
        for key_id in hold.key_chain:
            k = self.key(key_id)
            k.settled += cost
            k.unflushed += cost

    def flushed(self, wallet_id: int, key_chain: tuple[int, ...], cost: int) -> None:
        """The usage writer committed a debit applied earlier by `settle`."""
        self.wallet(wallet_id).unflushed -= cost
        for key_id in key_chain:
            self.key(key_id).unflushed -= cost
