"""One load at a time per key: concurrent callers share its result.

Caches with a short TTL (keys, account caps) expire while hundreds of requests are in flight;
without this, each of them would run the same query at the same moment. The first caller runs
the load, later callers await the same outcome (its value or its exception). If the first
caller is cancelled mid-load, a waiting caller takes over and loads by itself, so nobody
inherits someone else's cancellation.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class _Abandoned(Exception):
    """The caller running the load was cancelled before it finished."""


class SingleFlight(Generic[K, V]):
    def __init__(self) -> None:
        self._running: dict[K, asyncio.Future[V]] = {}

    def is_running(self, key: K) -> bool:
        return key in self._running

    async def run(self, key: K, load: Callable[[], Awaitable[V]]) -> V:
        while (pending := self._running.get(key)) is not None:
            try:
                return await asyncio.shield(pending)
            except _Abandoned:
                continue
        future: asyncio.Future[V] = asyncio.get_running_loop().create_future()
        self._running[key] = future
        try:
            value = await load()
        except BaseException as exc:
            future.set_exception(_Abandoned() if isinstance(exc, asyncio.CancelledError) else exc)
            future.exception()  # retrieved here: a failure nobody waited for is not "never retrieved"
            raise
        finally:
            del self._running[key]
        future.set_result(value)
        return value
