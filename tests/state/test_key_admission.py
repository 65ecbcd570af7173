"""Key status and expiry are part of the one atomic admission step (issue 5 #2), on both
backends: an expired key, a revoked key (or ancestor) and a rotated-out secret past its
deadline are refused by admission itself, before any entity is loaded or anything is placed,
whatever a process's key cache still says."""

from __future__ import annotations

from dataclasses import replace

from bytespike.state.hot import KEY, WALLET, KeyCaps, Limit, RetiredSecret
from tests.state.conftest import T0, Bench

CHAIN = (KeyCaps(10, 0), KeyCaps(11, 0))


async def _nothing_placed(hot: Bench) -> None:
    for kind, entity_id in ((WALLET, 1), (KEY, 10), (KEY, 11)):
        assert (await hot.state.peek(kind, entity_id)).holds == ()
    assert await hot.state.leases(1) == ()


async def test_an_expired_key_is_refused_at_the_states_clock(hot: Bench) -> None:
    req = replace(hot.request(1000, keys=CHAIN), expires_at_ms=T0 + 5_000)
    first = await hot.admit(req)
    assert first.hold is not None, "not expired yet"
    await hot.state.release(first.hold)
    hot.clock.now = T0 + 5_000
    late = await hot.state.admit(replace(req, hold_id="h_late"))
    assert late.refusal is not None and late.hold is None and not late.missing
    assert (late.refusal.limit, late.refusal.key_id) == (Limit.KEY_EXPIRED, 10)
    await _nothing_placed(hot)


async def test_an_expired_key_is_refused_before_anything_is_loaded(hot: Bench) -> None:
    hot.clock.now = T0 + 1
    adm = await hot.state.admit(replace(hot.request(1000), expires_at_ms=T0))
    assert adm.refusal is not None and adm.refusal.limit is Limit.KEY_EXPIRED and not adm.missing
    assert hot.db.reads == 0
    assert not (await hot.state.peek(WALLET, 1)).present


async def test_a_revoked_key_or_ancestor_is_refused(hot: Bench) -> None:
    own = await hot.admit(hot.request(1000, keys=CHAIN))
    assert own.hold is not None
    await hot.state.retire_keys([11])  # the parent (an ancestor of key 10)
    adm = await hot.state.admit(hot.request(1000, keys=CHAIN))
    assert adm.refusal is not None and (adm.refusal.limit, adm.refusal.key_id) == (Limit.KEY_REVOKED, 11)
    assert adm.view is None
    other = await hot.admit(hot.request(1000, keys=(KeyCaps(12, 0),)))
    assert other.hold is not None, "other keys are untouched"
    await hot.state.release(own.hold)
    await hot.state.release(other.hold)
    await _nothing_placed(hot)


async def test_a_rotated_out_secret_stops_at_its_deadline_and_the_new_one_works(hot: Bench) -> None:
    old = replace(hot.request(1000, keys=CHAIN), secret="aaaa1111aaaa1111")
    new = replace(hot.request(1000, keys=CHAIN), secret="bbbb2222bbbb2222")
    await hot.state.retire_keys([], [RetiredSecret(10, "aaaa1111aaaa1111", T0 + 30_000)])
    grace = await hot.admit(old)
    assert grace.hold is not None, "inside its grace period"
    await hot.state.release(grace.hold)
    hot.clock.now = T0 + 30_000
    late = await hot.state.admit(replace(old, hold_id="h_old_late"))
    assert late.refusal is not None and (late.refusal.limit, late.refusal.key_id) == (Limit.KEY_ROTATED, 10)
    ok = await hot.admit(new)
    assert ok.hold is not None
    await hot.state.release(ok.hold)
    await hot.state.retire_keys([], [RetiredSecret(10, "bbbb2222bbbb2222", 0)])  # rotated again, no grace
    assert (await hot.state.admit(replace(new, hold_id="h_new_late"))).refusal.limit is Limit.KEY_ROTATED  # type: ignore[union-attr]
    await _nothing_placed(hot)


async def test_a_grace_period_carried_by_the_request_ends_at_the_states_clock(hot: Bench) -> None:
    req = replace(hot.request(1000), grace_until_ms=T0 + 1_000)
    assert (await hot.admit(req)).hold is not None
    hot.clock.advance(1_000)
    late = await hot.state.admit(replace(req, hold_id="h_grace_late"))
    assert late.refusal is not None and late.refusal.limit is Limit.KEY_ROTATED


async def test_a_per_model_cap_is_one_more_quota_entry_named_by_a_negative_id(hot: Bench) -> None:
    """storage/model_quotas.py names a key's cap on one model ``-row id``: it is loaded, held,
    settled, journaled and refused exactly like a key's lifetime quota, on both backends."""
    hot.db.key_used[-7] = 400_000  # what the cap already counts in the database
    chain = (KeyCaps(10, 0), KeyCaps(-7, 500_000))
    adm = await hot.admit(hot.request(60_000, keys=chain))
    assert adm.hold is not None and adm.view is not None
    assert [(k.key_id, k.used, k.held) for k in adm.view.keys] == [(10, 0, 60_000), (-7, 400_000, 60_000)]
    refused = await hot.admit(hot.request(60_000, keys=chain))
    assert refused.refusal is not None
    assert (refused.refusal.limit, refused.refusal.key_id, refused.refusal.available) == (Limit.QUOTA, -7, 40_000)
    s = await hot.state.settle(adm.hold, "req_cap", 30_000)
    assert s.view is not None and s.view.keys[1].used == 430_000
    # Reloaded from the database while the charge is uncommitted: the journal keeps it exact.
    await hot.state.invalidate([(KEY, -7)])
    again = await hot.admit(hot.request(70_000, keys=chain))
    assert again.hold is not None and again.view is not None and again.view.keys[1].used == 430_000
    assert (await hot.admit(hot.request(1, keys=chain))).refusal is not None
