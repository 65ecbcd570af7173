"""Key → Principal, with an in-process cache so a warm key costs no SQL.

Entries live for ``ttl`` seconds (settings.key_cache_ttl_s, 1 s by default), which bounds how
long a revoked, rotated or expired key keeps working in a process that missed an invalidation;
`invalidate` drops entries at once (called on local changes, and by the Redis pub/sub listener
when one is configured). Unknown secrets are cached negatively for the same time, so a client
hammering with a bad key costs one query per second, not one per request. A key in use is
reloaded in the background once its entry is half way to expiry, so requests do not wait for
that query (it was the slowest step of about one request in 250 at 250 requests/s); an expired
entry is reloaded once: requests arriving while that load runs wait for it instead of each querying
(under load, hundreds arrive within one query's time).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import replace
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from bytespike.access.cidr import parse_networks
from bytespike.access.principal import KeyLimits, ModelCap, Principal
from bytespike.access.secrets import KeySealer, is_well_formed
from bytespike.access.subkeys import effective_allow, effective_deny, effective_models, effective_scopes
from bytespike.errors import GatewayError, authentication_failed
from bytespike.single_flight import SingleFlight
from bytespike.state.hot import secret_fingerprint
from bytespike.storage import model_quotas
from bytespike.storage.keys import find_key_by_lookup_hash, get_key
from bytespike.storage.records import KeyRecord

log = logging.getLogger("bytespike.access")

_MAX_ENTRIES = 100_000
_MAX_CHAIN = 16


class KeyResolver:
    """Authenticates secrets against the database through a short-lived cache."""

    def __init__(self, engine: AsyncEngine, sealer: KeySealer, *, ttl: float = 1.0) -> None:
        self._engine = engine
        self._sealer = sealer
        self._ttl = ttl
        self._cache: dict[str, tuple[float, Principal | None, str | None]] = {}
        self._loading: SingleFlight[str, tuple[float, Principal | None, str | None]] = SingleFlight()
        """Loads in progress, shared by the requests that need the same key meanwhile."""
        self._generation = 0
        """Bumped by `invalidate`: a load that started before it is used once, not cached."""
        self._background: set[asyncio.Task[object]] = set()

    async def close(self) -> None:
        """Stop background refreshes (the application's shutdown)."""
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)

    def invalidate(self) -> None:
        self._cache.clear()
        self._generation += 1

    async def authenticate(self, secret: str, now: float | None = None) -> Principal:
        """The active principal for ``secret``; raises 401 (or 403 for a paused org)."""
        now = time.time() if now is None else now
        hit = self._cache.get(secret)
        if hit is None or now - hit[0] > self._ttl:
            if not is_well_formed(secret):
                raise authentication_failed("invalid x-api-key")
            hit = await self._reload(secret, now)
        elif now - hit[0] > self._ttl / 2 and not self._loading.is_running(secret):
            self._refresh_in_background(secret, now)
        principal, refusal = hit[1], hit[2]
        if principal is None:
            if refusal == "org_paused":
                raise GatewayError(403, "permission_denied", "this key's organization is paused")
            if refusal == "group_not_granted":
                raise GatewayError(
                    403,
                    "permission_denied",
                    "this key's routing group is exclusive and its owner has no grant for it",
                )
            raise authentication_failed("invalid x-api-key" if refusal is None else refusal)
        if principal.expires_at is not None and now >= principal.expires_at:
            raise authentication_failed("invalid x-api-key: the key has expired")
        if principal.grace_until is not None and now >= principal.grace_until:
            raise authentication_failed("invalid x-api-key: the key was rotated")
        return principal

    def _refresh_in_background(self, secret: str, now: float) -> None:
        """Reload a key in use before its entry expires, so no request waits for the query; the
        entry it replaces is still within its TTL meanwhile."""
        task = asyncio.get_running_loop().create_task(self._reload(secret, now))
        self._background.add(task)
        task.add_done_callback(self._background_done)

    def _background_done(self, task: asyncio.Task[object]) -> None:
        self._background.discard(task)
        if not task.cancelled() and task.exception() is not None:
            # The entry expires as usual, and the next request reloads it (and sees the error).
            log.warning("refreshing a cached key failed: %r", task.exception())

    async def _reload(self, secret: str, now: float) -> tuple[float, Principal | None, str | None]:
        generation = self._generation

        async def load() -> tuple[float, Principal | None, str | None]:
            principal, refusal = await self._load(secret)
            hit = (now, principal, refusal)
            if generation == self._generation:  # not loaded across an invalidation: safe to keep
                if len(self._cache) >= _MAX_ENTRIES:
                    self._cache.clear()
                self._cache[secret] = hit
            return hit

        return await self._loading.run(secret, load)

    async def _load(self, secret: str) -> tuple[Principal | None, str | None]:
        digest = self._sealer.lookup_hash(secret)
        async with self._engine.connect() as conn:
            record = await find_key_by_lookup_hash(conn, digest)
            if record is None:
                return None, None
            refusal = _refusal(record)
            if refusal is not None:
                return None, refusal
            chain = [record]
            while chain[-1].parent_key_id is not None and len(chain) < _MAX_CHAIN:
                parent = await get_key(conn, chain[-1].parent_key_id)
                if parent is None:
                    break
                if _refusal(parent) is not None:
                    return None, "invalid x-api-key: the parent key is not active"
                chain.append(parent)
            caps = tuple(
                ModelCap(r.id, r.key_id, r.model, r.quota_micros)
                for r in await model_quotas.of_keys(conn, [k.id for k in chain])
            )
        return replace(_principal(record, chain, secret_fingerprint(digest)), model_caps=caps), None


def _refusal(record: KeyRecord) -> str | None:
    if record.status != "active":
        return "invalid x-api-key: the key was revoked"
    if record.is_previous_secret and record.previous_valid_until is None:
        return "invalid x-api-key: the key was rotated"
    if record.user_status != "active":
        return "invalid x-api-key: the account is disabled"
    if record.org_status == "paused":
        return "org_paused"
    if not record.group_is_public and not record.group_granted:
        return "group_not_granted"
    return None


def _epoch(value: datetime | None) -> float | None:
    return value.astimezone(UTC).timestamp() if value is not None else None


def _principal(record: KeyRecord, chain: list[KeyRecord], fingerprint: str) -> Principal:
    # A sub-key is clamped by every ancestor at request time (access/subkeys.py), so a parent
    # narrowed after its children were minted still bounds them.
    expiries = [e for e in (_epoch(k.expires_at) for k in chain) if e is not None]
    return Principal(
        key_id=record.id,
        user_id=record.user_id,
        org_id=record.org_id,
        wallet_id=record.wallet_id,
        group=record.group_name,
        scopes=effective_scopes([k.scopes for k in chain]),
        allowed_models=effective_models([k.allowed_models for k in chain]),
        ip_allow=effective_allow([parse_networks(k.ip_whitelist) for k in chain]),
        ip_deny=effective_deny([parse_networks(k.ip_blacklist) for k in chain]),
        expires_at=min(expiries) if expiries else None,
        chain=tuple(
            KeyLimits(
                k.id, k.quota_micros, k.rate_limit_5h_micros, k.rate_limit_1d_micros, k.rate_limit_7d_micros
            )
            for k in chain
        ),
        tier=record.user_tier,
        masked_key=record.masked_key,
        grace_until=_epoch(record.previous_valid_until),
        secret_fingerprint=fingerprint,
    )
