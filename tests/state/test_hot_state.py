"""`HotState` semantics, the same test functions on the memory and the Redis backend."""

from __future__ import annotations

from bytespike.state.hot import KEY, KEY_WINDOWS, WALLET, KeyCaps, Limit
from tests.state.conftest import HOLD_TTL_S, T0, Bench

HOUR = 3_600_000
MINUTE = 60_000
TTL_MS = int(HOLD_TTL_S * 1000)


async def test_first_admission_loads_the_entities_then_places_hold_and_lease(hot: Bench) -> None:
    req = hot.request(1000)
    first = await hot.state.admit(req)
    assert set(first.missing) == {(WALLET, 1), (KEY, 10)} and first.hold is None
    adm = await hot.admit(req)
    assert adm.hold is not None and adm.refusal is None
    assert adm.view is not None and (adm.view.balance, adm.view.held) == (1_000_000, 1000)
    wallet = await hot.state.peek(WALLET, 1)
    assert wallet.present and wallet.held == 1000
    assert [(h, a) for h, a, _ in wallet.holds] == [(req.hold_id, 1000)]
    assert wallet.holds[0][2] == T0 + TTL_MS
    assert (await hot.state.peek(KEY, 10)).held == 1000
    assert await hot.state.leases(1) == ((req.hold_id, T0 + TTL_MS),)


async def test_release_frees_hold_and_lease_and_is_idempotent(hot: Bench) -> None:
    adm = await hot.admit(hot.request(1000, cap=1))
    assert adm.hold is not None
    await hot.state.release(adm.hold)
    await hot.state.release(adm.hold)
    assert (await hot.state.peek(WALLET, 1)).held == 0
    assert (await hot.state.peek(KEY, 10)).held == 0
    assert await hot.state.leases(1) == ()
    assert (await hot.admit(hot.request(1000, cap=1))).hold is not None


async def test_wallet_refusal_is_net_of_holds(hot: Bench) -> None:
    a = await hot.admit(hot.request(600_000))
    assert a.hold is not None
    b = await hot.admit(hot.request(600_000))
    assert b.hold is None and b.refusal is not None
    assert (b.refusal.limit, b.refusal.available) == (Limit.BALANCE, 400_000)
    assert (await hot.state.peek(WALLET, 1)).held == 600_000, "a refusal places nothing"
    assert (await hot.admit(hot.request(400_000))).hold is not None, "exactly the rest fits"
    await hot.state.release(a.hold)
    assert (await hot.admit(hot.request(600_000))).hold is not None


async def test_an_empty_wallet_refuses_even_a_free_estimate(hot: Bench) -> None:
    hot.db.wallets[1] = 0
    adm = await hot.admit(hot.request(0))
    assert adm.refusal is not None and adm.refusal.limit is Limit.BALANCE


async def test_every_key_quota_of_the_chain_is_checked_net_of_holds(hot: Bench) -> None:
    chain = (KeyCaps(10, 0), KeyCaps(11, 500_000))
    assert (await hot.admit(hot.request(300_000, keys=chain))).hold is not None
    adm = await hot.admit(hot.request(300_000, keys=chain))
    assert adm.refusal is not None
    assert (adm.refusal.limit, adm.refusal.key_id, adm.refusal.available) == (Limit.QUOTA, 11, 200_000)
    assert (await hot.state.peek(KEY, 11)).held == 300_000


async def test_settle_debits_releases_and_is_idempotent_on_the_request_id(hot: Bench) -> None:
    chain = (KeyCaps(10, 0), KeyCaps(11, 500_000))
    adm = await hot.admit(hot.request(50_000, cap=3, keys=chain))
    assert adm.hold is not None
    s = await hot.state.settle(adm.hold, "req_1", 123)
    assert not s.duplicate and s.view is not None and s.at_ms == T0
    assert (s.view.balance, s.view.held) == (1_000_000 - 123, 0)
    assert [(k.key_id, k.used, k.held) for k in s.view.keys] == [(10, 123, 0), (11, 123, 0)]
    again = await hot.state.settle(adm.hold, "req_1", 123)
    assert again.duplicate
    wallet = await hot.state.peek(WALLET, 1)
    assert (wallet.value, wallet.held, wallet.holds) == (1_000_000 - 123, 0, ())
    assert (await hot.state.peek(KEY, 11)).value == 123
    assert await hot.state.leases(1) == ()


async def test_window_admits_while_something_is_left_and_counts_holds(hot: Bench) -> None:
    """Spec §5.1: admitted while remaining > 0, even if the request overshoots; in-flight holds
    count as spent, so concurrent requests cannot all take the same remainder."""
    key = (KeyCaps(10, 0, (1000, 0, 0)),)
    first = await hot.admit(hot.request(900, keys=key))
    assert first.hold is not None
    await hot.state.settle(first.hold, "r1", 900)
    hot.clock.advance(60_000)
    over = await hot.admit(hot.request(5000, keys=key))
    assert over.hold is not None, "100 left: admitted although it may cost 5000"
    blocked = await hot.admit(hot.request(1, keys=key))
    r = blocked.refusal
    assert r is not None and (r.limit, r.key_id, r.window, r.used, r.cap, r.held) == (
        Limit.WINDOW,
        10,
        "5h",
        900,
        1000,
        5000,
    )
    await hot.state.settle(over.hold, "r2", 200)
    hot.clock.advance(60_000)
    after = await hot.admit(hot.request(1, keys=key))
    r = after.refusal
    assert r is not None and (r.used, r.held) == (1100, 0)
    # The 900 spent at T0 leaves the window 5 h after the end of its minute bucket: 200 < 1000.
    assert r.reset_ms == T0 + 5 * HOUR + MINUTE
    assert after.view is not None and after.view.keys[0].windows[0].reset_ms == T0 + 5 * HOUR + MINUTE
    hot.clock.now = T0 + 5 * HOUR + MINUTE - 1
    assert (await hot.admit(hot.request(1, keys=key))).refusal is not None
    hot.clock.now = T0 + 5 * HOUR + MINUTE
    ok = await hot.admit(hot.request(1, keys=key))
    assert ok.hold is not None and ok.view is not None
    assert ok.view.keys[0].windows[0].used == 200


async def test_window_views_report_every_capped_window_and_reset(hot: Bench) -> None:
    key = (KeyCaps(10, 0, (10_000, 20_000, 0)),)
    adm = await hot.admit(hot.request(10, keys=key))
    assert adm.view is not None
    w5, w1 = adm.view.keys[0].windows
    assert (w5.name, w5.limit, w5.used, w5.reset_ms) == ("5h", 10_000, 0, T0), "nothing spent: resets now"
    assert (w1.name, w1.limit) == ("1d", 20_000)
    assert adm.hold is not None
    hot.clock.advance(90_000)
    s = await hot.state.settle(adm.hold, "r", 300)
    assert s.view is not None
    w5, w1 = s.view.keys[0].windows
    assert (w5.used, w5.reset_ms) == (300, T0 + 2 * MINUTE + 5 * HOUR), "oldest bucket's end + window"
    assert (w1.used, w1.reset_ms) == (300, T0 + 5 * MINUTE + 24 * HOUR)
    hot.clock.advance(6 * HOUR)
    obs = await hot.state.observe(1, key)
    assert obs.view is not None
    assert [w.used for w in obs.view.keys[0].windows] == [0, 300]


async def test_windows_are_loaded_from_the_databases_spend(hot: Bench) -> None:
    hot.db.spend[10] = [(T0 - 6 * HOUR, 1), (T0 - 4 * HOUR, 10), (T0 - 23 * HOUR, 100), (T0 - 8 * 24 * HOUR, 1000)]
    key = (KeyCaps(10, 0, (1, 1, 1)),)
    obs = await hot.state.observe(1, key)
    assert (KEY_WINDOWS, 10) in obs.missing
    assert await hot.load(obs.missing)
    obs = await hot.state.observe(1, key)
    assert obs.view is not None
    assert [w.used for w in obs.view.keys[0].windows] == [10, 111, 111]


async def test_concurrency_cap_counts_leases_of_the_account(hot: Bench) -> None:
    holds = [await hot.admit(hot.request(10, cap=2, keys=(KeyCaps(k, 0),))) for k in (10, 11)]
    assert all(a.hold is not None for a in holds)
    third = await hot.admit(hot.request(10, cap=2, keys=(KeyCaps(12, 0),)))
    assert third.refusal is not None
    assert (third.refusal.limit, third.refusal.in_flight, third.refusal.cap) == (Limit.CONCURRENCY, 2, 2)
    other_account = await hot.admit(hot.request(10, cap=2, account=2))
    assert other_account.hold is not None, "leases are per account"
    assert holds[0].hold is not None
    await hot.state.settle(holds[0].hold, "r", 5)
    assert (await hot.admit(hot.request(10, cap=2))).hold is not None


async def test_holds_and_leases_of_a_dead_process_expire_after_the_ttl(hot: Bench) -> None:
    dead = await hot.admit(hot.request(700_000, cap=1))
    assert dead.hold is not None
    hot.clock.advance(TTL_MS - 1)
    refused = await hot.admit(hot.request(700_000, cap=1))
    assert refused.refusal is not None and refused.refusal.limit is Limit.BALANCE
    hot.clock.advance(1)
    fresh = await hot.admit(hot.request(700_000, cap=1))
    assert fresh.hold is not None
    wallet = await hot.state.peek(WALLET, 1)
    assert wallet.held == 700_000 and [h for h, _, _ in wallet.holds] == [fresh.hold.hold_id]
    assert [h for h, _ in await hot.state.leases(1)] == [fresh.hold.hold_id]
    # The dead request's settlement, should it ever come, debits but frees nothing twice.
    await hot.state.settle(dead.hold, "late", 10)
    wallet = await hot.state.peek(WALLET, 1)
    assert (wallet.value, wallet.held) == (1_000_000 - 10, 700_000)


async def test_renewal_keeps_a_running_requests_hold_and_lease(hot: Bench) -> None:
    adm = await hot.admit(hot.request(10, cap=1))
    assert adm.hold is not None
    for _ in range(3):
        hot.clock.advance(TTL_MS - 1000)
        await hot.state.renew([adm.hold])
    blocked = await hot.admit(hot.request(10, cap=1))
    assert blocked.refusal is not None and blocked.refusal.limit is Limit.CONCURRENCY
    hot.clock.advance(TTL_MS)
    assert (await hot.admit(hot.request(10, cap=1))).hold is not None


async def test_reload_while_settlements_are_uncommitted_is_exact(hot: Bench) -> None:
    """The journal: a reload adds back what the hot state charged but the database has not
    committed yet, and does not count twice what it has."""
    key = (KeyCaps(10, 0, (1_000_000, 0, 0)),)
    a = await hot.admit(hot.request(1000, keys=key))
    assert a.hold is not None
    await hot.state.settle(a.hold, "req_a", 100)
    entities = [(WALLET, 1), (KEY, 10), (KEY_WINDOWS, 10)]
    await hot.state.invalidate(entities)
    assert await hot.load(tuple(entities))
    obs = await hot.state.observe(1, key)
    assert obs.view is not None
    assert (obs.view.balance, obs.view.keys[0].used, obs.view.keys[0].windows[0].used) == (999_900, 100, 100)
    hot.db.commit("req_a", 1, (10,), 100, T0)
    await hot.state.invalidate(entities)
    assert await hot.load(tuple(entities))
    obs = await hot.state.observe(1, key)
    assert obs.view is not None
    assert (obs.view.balance, obs.view.keys[0].used, obs.view.keys[0].windows[0].used) == (999_900, 100, 100)


async def test_a_load_that_missed_a_settlement_is_refused(hot: Bench) -> None:
    a = await hot.admit(hot.request(1000))
    assert a.hold is not None
    await hot.state.invalidate([(WALLET, 1)])
    ticket = await hot.state.load_ticket([(WALLET, 1)])
    stale = hot.db.values(ticket.request_ids)  # read before the settlement commits
    await hot.state.settle(a.hold, "req_a", 100)  # misses the absent wallet
    hot.db.commit("req_a", 1, (10,), 100, T0)
    assert not await hot.state.load(ticket, stale)
    assert not (await hot.state.peek(WALLET, 1)).present
    assert await hot.load(((WALLET, 1),))
    assert (await hot.state.peek(WALLET, 1)).value == 999_900


async def test_undo_settle_takes_the_charge_back(hot: Bench) -> None:
    key = (KeyCaps(10, 0, (1_000_000, 0, 0)),)
    a = await hot.admit(hot.request(1000, keys=key))
    assert a.hold is not None
    s = await hot.state.settle(a.hold, "req_a", 250)
    await hot.state.undo_settle(a.hold, "req_a", 250, s.at_ms)
    await hot.state.undo_settle(a.hold, "req_a", 250, s.at_ms)
    obs = await hot.state.observe(1, key)
    assert obs.view is not None
    assert (obs.view.balance, obs.view.keys[0].used, obs.view.keys[0].windows[0].used) == (1_000_000, 0, 0)
    await hot.state.invalidate([(WALLET, 1)])
    assert await hot.load(((WALLET, 1),))
    assert (await hot.state.peek(WALLET, 1)).value == 1_000_000, "no longer journaled"


async def test_a_ledger_movement_reaches_the_hot_balance_once(hot: Bench) -> None:
    await hot.admit(hot.request(10))
    hot.db.wallets[1] += 500_000
    await hot.state.wallet_moved(1, 77, 500_000)
    await hot.state.wallet_moved(1, 77, 500_000)
    obs = await hot.state.observe(1, (KeyCaps(10, 0),))
    if obs.missing:  # Redis reloads the wallet from the database instead of adding
        assert await hot.load(obs.missing)
        obs = await hot.state.observe(1, (KeyCaps(10, 0),))
    assert obs.view is not None and obs.view.balance == 1_500_000 and obs.view.held == 10
