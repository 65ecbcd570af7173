"""Key-change notices between gateway processes: Redis pub/sub, or just this process.

Every process caches resolved keys for about a second (`access.authenticator.KeyResolver`).
When a key is revoked, rotated, edited or its owner/org/group grant changes, the process that
made the change calls `KeyEvents.publish`: its own cache is dropped at once, and with Redis
configured every other process's listener drops its cache as soon as the message arrives, so a
second gateway refuses the old secret within milliseconds instead of at the end of its TTL.
A lost Redis connection is retried; on reconnect the cache is dropped too (messages may have
been missed while away).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

log = logging.getLogger("bytespike.state")

CHANNEL = "keys:changed"
"""Published under ``BYTESPIKE_REDIS_PREFIX``, like every other Redis name (``bytespike:keys:changed``)."""


class KeyEvents:
    """Publishes and receives "keys changed" notices; ``on_change`` drops the local cache."""

    def __init__(
        self, on_change: Callable[[], None], redis_url: str | None = None, *, prefix: str = "bytespike:"
    ) -> None:
        self._on_change = on_change
        self._redis_url = redis_url
        self.channel = prefix + CHANNEL
        self._redis: Any = None
        self._task: asyncio.Task[None] | None = None
        self._subscribed = asyncio.Event()

    @property
    def is_shared(self) -> bool:
        return self._redis_url is not None

    async def start(self) -> None:
        """Connect and subscribe (returns once subscribed, or after 5 s of trying)."""
        if self._redis_url is None:
            return
        import redis.asyncio as redis

        self._redis = redis.from_url(self._redis_url)
        self._task = asyncio.get_running_loop().create_task(self._listen(), name="key-events")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._subscribed.wait(), 5)
        if not self._subscribed.is_set():
            log.warning("key-change listener is not subscribed yet; caches expire by TTL meanwhile")

    async def publish(self) -> None:
        self._on_change()
        if self._redis_url is None:
            return
        if self._redis is None:  # a publisher that never listens (the CLI): connect on first use
            import redis.asyncio as redis

            self._redis = redis.from_url(self._redis_url)
        try:
            await self._redis.publish(self.channel, b"1")
        except Exception as exc:  # other processes still drop the key when their cache expires
            log.warning("could not publish a key change to Redis: %s", exc)

    async def _listen(self) -> None:
        delay = 0.1
        while True:
            pubsub = self._redis.pubsub()
            try:
                await pubsub.subscribe(self.channel)
                self._on_change()
                self._subscribed.set()
                delay = 0.1
                while True:
                    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=30)
                    if message is not None and message.get("type") == "message":
                        self._on_change()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("key-change listener lost Redis (%s); retrying in %.1fs", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
        if self._redis is not None:
            with contextlib.suppress(Exception):
                await self._redis.aclose()
            self._redis = None
