"""Telling the hot state that keys were revoked or secrets rotated out, after the database did.

Key caches (one per process, ``BYTESPIKE_KEY_CACHE_TTL``) and the Redis invalidation message
bound how long a revoked or rotated-out secret is *authenticated*; these markers make billing
admission itself refuse it from the moment the change commits (state/lua/admit.lua), so no
request is admitted on a stale cache entry. A marker that cannot be written (Redis down) only
loses that exactness: the change is committed and the caches still expire.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime

from bytespike.state.hot import HotState, RetiredSecret, StateUnavailable, secret_fingerprint

log = logging.getLogger("bytespike.access")


class KeyRetirement:
    def __init__(self, state: HotState | None) -> None:
        self._state = state
        """None: no hot state reachable from here (the CLI of the embedded default)."""

    async def revoked(self, key_ids: Sequence[int]) -> None:
        await self._mark(key_ids, ())

    async def rotated(self, key_id: int, retired: Sequence[tuple[str, datetime | None]]) -> None:
        """``retired``: (lookup hash, when it stops; None = at once) of each secret taken away."""
        await self._mark(
            (),
            [
                RetiredSecret(key_id, secret_fingerprint(h), int(until.astimezone(UTC).timestamp() * 1000) if until else 0)
                for h, until in retired
            ],
        )

    async def _mark(self, key_ids: Sequence[int], secrets: Sequence[RetiredSecret]) -> None:
        if self._state is None or not (key_ids or secrets):
            return
        try:
            await self._state.retire_keys(key_ids, secrets)
        except StateUnavailable as exc:
            log.warning("could not mark keys %s / secrets of %s retired in the hot state: %s",
                        list(key_ids), [s.key_id for s in secrets], exc)
