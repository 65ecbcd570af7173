"""From database values to hot values: add back settlements the database has not committed yet.

The hot state applies a settlement *before* its usage record is committed (so the charge is
visible to every process at once). When an entity is (re)loaded, the database therefore lags
the hot copy by exactly the journaled settlements whose request id is not in the same database
snapshot; `hot_values` adds those back. Both backends load through this one function.
"""

from __future__ import annotations

from dataclasses import dataclass

from bytespike.state.hot import KEY, KEY_WINDOWS, WALLET, DatabaseValues, Entity, LoadTicket
from bytespike.state.windows import WINDOWS, bucketize


@dataclass(frozen=True, slots=True)
class HotWindows:
    """Buckets per window (`WINDOWS` order), ready to install."""

    buckets: tuple[dict[int, int], dict[int, int], dict[int, int]]


def _pending(ticket: LoadTicket, values: DatabaseValues, journal_entity: Entity) -> list[tuple[int, int]]:
    """(at ms, cost) of the journaled settlements the snapshot does not include."""
    return [
        (e.at_ms, e.cost)
        for e in ticket.journal.get(journal_entity, ())
        if e.request_id not in values.committed
    ]


def hot_values(
    ticket: LoadTicket, values: DatabaseValues, entities: list[Entity], now_ms: int
) -> dict[Entity, int | HotWindows]:
    """The value each entity must hold in the hot state (those the database knows about)."""
    out: dict[Entity, int | HotWindows] = {}
    for kind, entity_id in entities:
        if kind == WALLET:
            if entity_id in values.wallets:
                pending = _pending(ticket, values, (WALLET, entity_id))
                out[(kind, entity_id)] = values.wallets[entity_id] - sum(c for _, c in pending)
        elif kind == KEY:
            if entity_id in values.key_used:
                pending = _pending(ticket, values, (KEY, entity_id))
                out[(kind, entity_id)] = values.key_used[entity_id] + sum(c for _, c in pending)
        elif kind == KEY_WINDOWS:
            spend = list(values.key_spend.get(entity_id, ()))
            spend += _pending(ticket, values, (KEY, entity_id))
            out[(kind, entity_id)] = HotWindows(
                (bucketize(WINDOWS[0], spend, now_ms), bucketize(WINDOWS[1], spend, now_ms), bucketize(WINDOWS[2], spend, now_ms))
            )
        else:  # pragma: no cover - programming error
            raise ValueError(f"unknown entity kind {kind!r}")
    return out


def journal_entity(entity: Entity) -> Entity:
    """Windows are journaled (and versioned) with their key."""
    kind, entity_id = entity
    return (KEY, entity_id) if kind == KEY_WINDOWS else entity
