"""The settlement journal stays as small as what is not yet durable.

Every settlement is journaled so that a reload can add back charges the database has not
committed yet. Once the usage record commits, a reload reads it from the database, so the entry
has done its job: both backends drop it (`committed`; Redis with the process's next script), and
whatever never resolves is swept after the journal's horizon. Without that, the embedded gateway
kept seven minutes of traffic in memory (about 30 MiB/min in bench/soak.py at 1,500 requests/s),
and with Redis every reload read the whole seven minutes back: at 1,600 requests/s on one key
that was ~600,000 request ids, more than PostgreSQL accepts in one query.
"""

from __future__ import annotations

from bytespike.state.hot import JOURNAL_BUCKET_MS, JOURNAL_BUCKETS, KEY, KEY_WINDOWS, WALLET, KeyCaps
from bytespike.state.memory import MemoryState
from tests.state.conftest import T0, Bench, Clock, FakeDatabase

CHAIN = (KeyCaps(10, 0, (1_000_000, 0, 0)), KeyCaps(11, 0))


async def test_a_reload_after_the_record_commits_counts_it_once(hot: Bench) -> None:
    a = await hot.admit(hot.request(1000, keys=CHAIN))
    assert a.hold is not None
    settled = await hot.state.settle(a.hold, "req_a", 100)
    hot.db.commit("req_a", 1, (10, 11), 100, T0)
    hot.state.committed(a.hold, "req_a", settled.at_ms)
    entities = [(WALLET, 1), (KEY, 10), (KEY, 11), (KEY_WINDOWS, 10)]
    await hot.state.invalidate(entities)
    assert await hot.load(tuple(entities))
    obs = await hot.state.observe(1, CHAIN)
    assert obs.view is not None
    assert obs.view.balance == 999_900
    assert [k.used for k in obs.view.keys] == [100, 100]
    assert obs.view.keys[0].windows[0].used == 100


def _memory() -> tuple[MemoryState, Clock, Bench]:
    clock = Clock()
    state = MemoryState(hold_ttl_s=10.0, clock_ms=clock)
    db = FakeDatabase(wallets={1: 1_000_000}, key_used={10: 0, 11: 0})
    return state, clock, Bench(state, clock, db, "memory")


async def test_the_journal_forgets_a_settlement_once_its_record_commits(hot: Bench) -> None:
    a = await hot.admit(hot.request(1000, keys=CHAIN))
    b = await hot.admit(hot.request(1000, keys=CHAIN))
    assert a.hold is not None and b.hold is not None
    at_a = (await hot.state.settle(a.hold, "req_a", 100)).at_ms
    at_b = (await hot.state.settle(b.hold, "req_b", 200)).at_ms
    hot.state.committed(a.hold, "req_a", at_a)
    everything = [(WALLET, 1), (KEY, 10), (KEY, 11)]
    ticket = await hot.state.load_ticket(everything)
    for entity in everything:
        assert [e.request_id for e in ticket.journal[entity]] == ["req_b"], entity
    hot.state.committed(b.hold, "req_b", at_b)
    hot.state.committed(b.hold, "req_b", at_b)  # twice is harmless
    ticket = await hot.state.load_ticket(everything)
    assert ticket.request_ids == frozenset()
    # Forgetting changes no value: the hot copy still carries both charges.
    assert (await hot.state.peek(WALLET, 1)).value == 1_000_000 - 300


async def test_memory_journal_sweeps_entries_that_never_resolve() -> None:
    state, clock, bench = _memory()
    a = await bench.admit(bench.request(1000, keys=CHAIN))
    assert a.hold is not None
    await state.settle(a.hold, "req_stuck", 100)
    clock.advance(JOURNAL_BUCKET_MS * (JOURNAL_BUCKETS + 1) + 1)
    b = await bench.admit(bench.request(1000, keys=CHAIN))
    assert b.hold is not None
    await state.settle(b.hold, "req_new", 50)
    ticket = await state.load_ticket([(WALLET, 1), (KEY, 10)])
    assert ticket.request_ids == frozenset({"req_new"})


async def test_memory_journal_is_still_idempotent_while_the_record_is_in_flight() -> None:
    state, _, bench = _memory()
    a = await bench.admit(bench.request(1000, keys=CHAIN))
    assert a.hold is not None
    assert not (await state.settle(a.hold, "req_a", 100)).duplicate
    assert (await state.settle(a.hold, "req_a", 100)).duplicate
    assert (await state.peek(WALLET, 1)).value == 999_900
