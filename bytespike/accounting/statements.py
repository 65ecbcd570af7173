"""What a key may read about its money: account summary, balance, usage rows and rollups, ledger.

All reads are free (spec §3.9) and scoped like key management: a top-level key sees its user's
usage; a sub-key only its own subtree's. Wallet values are the database balance net of what
in-flight requests of every process hold right now ("after pending holds", spec §3.9.1): one
read of the billing meter's hot state per call. Spend windows come from that same read, so
``/v1/balance`` reports exactly what the ``X-RateLimit-*`` headers of the reply say. Amounts
leave as ``*_usd`` numbers rounded to the cent, with exact ``*_micros`` integers beside the
ones a program would add up. ``allowed_models`` reports each model's tightest per-model cap
(storage/model_quotas.py) and the spend it counts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from bytespike.access.principal import Principal
from bytespike.accounting.meter import Meter, RateLimitView
from bytespike.errors import GatewayError
from bytespike.money import micros_to_usd
from bytespike.money import micros_to_usd_float as usd
from bytespike.routing.catalogue import Catalogue
from bytespike.storage import (
    accounts,
    directory,
    key_changes,
    ledger_queries,
    model_quotas,
    orgs,
    usage_queries,
)
from bytespike.storage import keys as key_rows
from bytespike.storage.usage_queries import ROLLUP_DIMENSIONS, UsageFilter

MAX_ROLLUP_WINDOW = timedelta(days=90)
WINDOWS = (("5h", timedelta(hours=5)), ("1d", timedelta(days=1)), ("7d", timedelta(days=7)))


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def usage_row(d: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": d["id"],
        "request_id": d["request_id"],
        "created_at": _iso(d["created_at"]),
        "api_key_id": d["api_key_id"],
        "model": d["model"],
        "endpoint": d["endpoint"],
        "is_stream": bool(d["is_stream"]),
        "prompt_tokens": d["input_tokens"],
        "completion_tokens": d["output_tokens"],
        "cache_read_tokens": d["cache_read_tokens"],
        "cache_write_tokens": d["cache_write_tokens"],
        "reasoning_tokens": d["reasoning_tokens"],
        "credits": d["cost_micros"],
        "cost_usd": usd(d["cost_micros"]),
    }


@dataclass(frozen=True, slots=True)
class UsageQuery:
    api_key_id: int | None = None
    model: str | None = None
    since: datetime | None = None
    until: datetime | None = None


ORG_WIDE_ROLES = frozenset({"owner", "admin"})
"""Org roles that see every member's usage of the org wallet (plain members see their own)."""


class Statements:
    def __init__(self, engine: AsyncEngine, catalogue: Catalogue, meter: Meter | None = None) -> None:
        self._engine = engine
        self._catalogue = catalogue
        self._meter = meter
        """The billing meter: live holds and spend windows (None: no holds, windows from the database)."""

    async def _held_now(self, p: Principal) -> int:
        """Micro-USD held on the principal's wallet by in-flight requests of every process."""
        return await self._meter.held_now(p) if self._meter is not None else 0

    async def _visible_keys(self, conn: Any, p: Principal) -> list[int] | None:
        if len(p.chain) == 1:
            return None
        return [p.key_id, *await key_changes.descendant_ids(conn, p.key_id)]

    async def _filter(self, conn: Any, p: Principal, q: UsageQuery, org_id: int | None = None) -> UsageFilter:
        """The caller's requests; with ``org_id``, those billed to that org's wallet: every
        member's for its owners and admins, only the caller's own for plain members."""
        visible = await self._visible_keys(conn, p)
        keys: Sequence[int] | None = visible
        if q.api_key_id is not None:
            if visible is not None and q.api_key_id not in visible:
                raise GatewayError(404, "not_found", f"no key with id {q.api_key_id}", "api_key_id")
            keys = [q.api_key_id]
        user_id: int | None = p.user_id
        if org_id is not None:
            role = await self._org_role(conn, p, org_id)
            user_id = None if role in ORG_WIDE_ROLES else p.user_id
        return UsageFilter(
            user_id=user_id, api_key_ids=keys, model=q.model, since=q.since, until=q.until, org_id=org_id
        )

    @staticmethod
    async def _org_role(conn: Any, p: Principal, org_id: int) -> str:
        role = await orgs.membership(conn, org_id, p.user_id)
        if role is None:
            raise GatewayError(
                404, "not_found", f"no organization with id {org_id} of which you are a member", "org_id"
            )
        return role

    @staticmethod
    def _wallet(balance: int, held: int) -> dict[str, Any]:
        return {
            "available_usd": usd(balance - held),
            "available_micros": balance - held,
            "held_usd": usd(held),
            "held_micros": held,
            "balance_usd": usd(balance),
        }

    # ------------------------------------------------------------------ /api/v1/me/account
    async def account(self, p: Principal) -> dict[str, Any]:
        async with self._engine.connect() as conn:
            user = await directory.get_user(conn, p.user_id)
            wallet = await accounts.get_wallet(conn, p.wallet_id)
            thresholds = await accounts.wallet_thresholds(conn, p.wallet_id)
            membership = await orgs.first_membership(conn, p.user_id)
            spent = await usage_queries.rollup(conn, UsageFilter(user_id=p.user_id), ["model"])
            cap_spent = await model_quotas.spent(conn, [c.cap_id for c in p.model_caps])
        assert user is not None and wallet is not None
        available = wallet.balance_micros - await self._held_now(p)
        models = self._catalogue.models_for_group(p.group)
        if p.allowed_models is not None:
            models = [m for m in models if m.slug in p.allowed_models]
        used = {r["model"]: r["cost_micros"] for r in spent}
        return {
            "user": {
                "id": user.id,
                "username": user.email.split("@", 1)[0],
                "email": user.email,
                "created_at": _iso(user.created_at),
                "tier": "enterprise" if p.org_id is not None else "individual",
                "plan": user.tier,
                "role": user.role,
            },
            "balance": {
                "available_usd": usd(available),
                "lifetime_topup_usd": usd(wallet.lifetime_topup_micros),
                "lifetime_spent_usd": usd(wallet.lifetime_spent_micros),
                "low_balance_threshold_usd": usd(thresholds),
                "low_balance_flagged": available <= thresholds,
            },
            "allowed_models": [_model_line(m.slug, used.get(m.slug, 0), p, cap_spent) for m in models],
            "org": (
                {"id": membership[0].id, "name": membership[0].name, "role": membership[1]}
                if membership is not None
                else None
            ),
        }

    # ------------------------------------------------------------------ /v1/balance
    async def balance(self, p: Principal, now: datetime | None = None) -> dict[str, Any]:
        now = now or datetime.now(UTC)
        held = await self._held_now(p)  # also refreshes the meter's view of the chain's windows
        live = self._meter.window_views(p) if self._meter is not None else []
        async with self._engine.connect() as conn:
            key = await key_rows.get_key(conn, p.key_id)
            wallet = await accounts.get_wallet(conn, p.wallet_id)
            subtree = [p.key_id, *await key_changes.descendant_ids(conn, p.key_id)]
            if not live:  # no meter, or its state was never reachable: the key's own, from the database
                live = await self._stored_windows(conn, p, subtree, now)
            by_model = await usage_queries.rollup(
                conn,
                UsageFilter(user_id=p.user_id, api_key_ids=subtree, since=now - timedelta(days=30)),
                ["model"],
            )
        assert key is not None and wallet is not None
        remaining = key.quota_micros - key.used_micros if key.quota_micros else None
        windows = [_window(w) for w in live]
        tightest = min(live, key=lambda w: w.remaining_micros) if live else None
        body: dict[str, Any] = {
            "key": {
                "id": key.id,
                "quota_usd": usd(key.quota_micros),
                "used_usd": usd(key.used_micros),
                "used_micros": key.used_micros,
                "remaining_usd": usd(max(remaining, 0)) if remaining is not None else None,
            },
            "wallet": self._wallet(wallet.balance_micros, held),
            "window": _window(tightest) if tightest is not None else None,
            "windows": windows,
            "by_model": [
                {
                    "model": r["model"],
                    "call_count": r["call_count"],
                    "total_usd": usd(r["cost_micros"]),
                    "input_tokens": r["input_tokens"],
                    "output_tokens": r["output_tokens"],
                }
                for r in by_model
            ],
        }
        if p.org_id is not None:
            body["org_wallet"] = {"org_id": p.org_id, **body["wallet"]}
        return body

    @staticmethod
    async def _stored_windows(conn: Any, p: Principal, subtree: list[int], now: datetime) -> list[RateLimitView]:
        """The key's own capped windows from its usage records (no reset: the hot state knows it)."""
        out = []
        limits = p.chain[0]
        caps = (limits.rate_limit_5h_micros, limits.rate_limit_1d_micros, limits.rate_limit_7d_micros)
        for (name, span), cap in zip(WINDOWS, caps, strict=True):
            if cap:
                spent = await usage_queries.spend_since(conn, subtree, now - span)
                out.append(RateLimitView(cap, max(cap - spent, 0), 0, name, p.key_id, spent))
        return out

    # ------------------------------------------------------------------ usage rows and rollups
    async def usage_rows(
        self,
        p: Principal,
        q: UsageQuery,
        *,
        before_id: int | None,
        page: int,
        limit: int,
        org_id: int | None = None,
    ) -> tuple[list[dict[str, Any]], bool]:
        async with self._engine.connect() as conn:
            f = await self._filter(conn, p, q, org_id)
            rows = await usage_queries.usage_rows(
                conn, f, before_id=before_id, offset=(page - 1) * limit, limit=limit + 1
            )
        return [usage_row(r) for r in rows[:limit]], len(rows) > limit

    async def rollup(
        self,
        p: Principal,
        q: UsageQuery,
        group_by: Sequence[str],
        now: datetime | None = None,
        *,
        org_id: int | None = None,
    ) -> dict[str, Any]:
        now = now or datetime.now(UTC)
        since = q.since or now - timedelta(days=30)
        until = q.until or now
        if until - since > MAX_ROLLUP_WINDOW:
            raise GatewayError(400, "invalid_param", "the window is capped at 90 days of history", "since")
        unknown = [d for d in group_by if d not in ROLLUP_DIMENSIONS]
        if unknown or not group_by or len(set(group_by)) != len(group_by) or {"day", "hour"} <= set(group_by):
            raise GatewayError(
                400,
                "invalid_param",
                "group_by is a comma list of day|hour, model, api_key, each once",
                "group_by",
            )
        async with self._engine.connect() as conn:
            f = await self._filter(conn, p, UsageQuery(q.api_key_id, q.model, since, until), org_id)
            rows = await usage_queries.rollup(conn, f, group_by)
        buckets = []
        totals = {"total_usd": 0.0, "total_micros": 0, "input_tokens": 0, "output_tokens": 0, "call_count": 0}
        for r in rows:
            bucket: dict[str, Any] = {"bucket": str(r[group_by[0]])}
            if "model" in group_by:
                bucket["model"] = r["model"]
            if "api_key" in group_by:
                bucket["api_key_id"] = r["api_key"]
            bucket.update(
                total_usd=usd(r["cost_micros"]),
                total_micros=int(r["cost_micros"]),
                input_tokens=int(r["input_tokens"]),
                output_tokens=int(r["output_tokens"]),
                call_count=int(r["call_count"]),
            )
            buckets.append(bucket)
            for name in ("total_micros", "input_tokens", "output_tokens", "call_count"):
                totals[name] += bucket[name]
        totals["total_usd"] = usd(int(totals["total_micros"]))
        return {"buckets": buckets, "totals": totals, "since": _iso(since), "until": _iso(until)}

    # ------------------------------------------------------------------ ledger
    async def transactions(
        self,
        p: Principal,
        *,
        kind: str | None,
        since: datetime | None,
        until: datetime | None,
        page: int,
        page_size: int,
        org_id: int | None = None,
    ) -> dict[str, Any]:
        """The caller's wallet ledger; with ``org_id``, that org's (any member may read it)."""
        async with self._engine.connect() as conn:
            wallet_id = p.wallet_id
            if org_id is not None:
                await self._org_role(conn, p, org_id)
                org = await orgs.get_org(conn, org_id)
                assert org is not None
                wallet_id = org.wallet_id
            result = await ledger_queries.ledger_page(
                conn,
                wallet_id=wallet_id,
                kind=kind,
                since=since,
                until=until,
                page=page,
                page_size=page_size,
            )
        return {
            "items": [
                {
                    "id": e["id"],
                    "created_at": _iso(e["created_at"]),
                    "kind": e["kind"],
                    "amount_usd": usd(e["amount_micros"]),
                    "amount_micros": e["amount_micros"],
                    "balance_after_usd": usd(e["balance_after_micros"]),
                    "source": e["source"] or {},
                    "note": e["note"],
                }
                for e in result.items
            ],
            "total": result.total,
            "page": page,
            "page_size": page_size,
        }


def _model_line(slug: str, account_spend: int, p: Principal, cap_spent: dict[int, int]) -> dict[str, Any]:
    """One ``allowed_models`` entry (spec §3.9.1): a capped model reports its tightest cap (the
    key's or an ancestor's) and the spend that cap counts; an uncapped one the account's spend."""
    caps = [c for c in p.model_caps if c.model == slug]
    if not caps:
        return {"id": slug, "quota_used_usd": usd(account_spend), "quota_cap_usd": None, "quota_cap_key_id": None}
    tight = min(caps, key=lambda c: c.quota_micros - cap_spent.get(c.cap_id, 0))
    return {
        "id": slug,
        "quota_used_usd": usd(cap_spent.get(tight.cap_id, 0)),
        "quota_cap_usd": usd(tight.quota_micros),
        "quota_cap_key_id": tight.key_id,
    }


def _window(w: RateLimitView) -> dict[str, Any]:
    """One spend window as ``/v1/balance`` reports it: the USD strings of ``X-RateLimit-*``
    (rounded down) as numbers, the exact micro-USD, and the reset in Unix seconds."""
    return {
        "window": w.window,
        "key_id": w.key_id,
        "limit_usd": float(micros_to_usd(w.limit_micros)),
        "limit_micros": w.limit_micros,
        "used_usd": float(micros_to_usd(w.used_micros)),
        "used_micros": w.used_micros,
        "remaining_usd": float(micros_to_usd(w.remaining_micros)),
        "remaining_micros": w.remaining_micros,
        "reset": w.reset_s or None,
    }
