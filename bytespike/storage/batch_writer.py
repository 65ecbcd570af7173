"""Group commit for usage records: many requests, one transaction.

Requests hand their `UsageRecord` to `UsageWriter.submit` and await the returned future, which
resolves once the record (and its wallet debit) is committed. While one transaction runs, new
records queue up and go together in the next, so under load the commit cost is shared and at
concurrency 1 a request waits for exactly one small transaction.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncEngine

from bytespike.storage.records import UsageRecord
from bytespike.storage.usage import write_usage_batch

log = logging.getLogger("bytespike.storage")


class UsageSink(Protocol):
    """Writes a batch atomically; returns the request ids newly written (storage/sqlite_sink.py,
    storage/postgres_sink.py)."""

    async def write(self, records: Sequence[UsageRecord]) -> list[str]: ...

    async def aclose(self) -> None: ...


class UsageWriter:
    """Background task batching usage writes; `close()` drains what is queued."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        max_batch: int = 500,
        retries: int = 5,
        on_committed: Callable[[list[UsageRecord]], None] | None = None,
        sink: UsageSink | None = None,
    ) -> None:
        self._engine = engine
        self._sink = sink
        """When set (the backend's one-round-trip writer), batches go through it instead of the
        generic SQLAlchemy path."""
        self._max_batch = max_batch
        self._retries = retries
        self._on_committed = on_committed
        self._queue: list[tuple[UsageRecord, asyncio.Future[None]]] = []
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self.batches_written = 0

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="usage-writer")

    def submit(self, record: UsageRecord) -> asyncio.Future[None]:
        """Queue ``record``; the future resolves when it is durable."""
        if self._closing:
            raise RuntimeError("usage writer is closed")
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.append((record, fut))
        self._wakeup.set()
        return fut

    @property
    def pending(self) -> int:
        return len(self._queue)

    async def close(self) -> None:
        """Stop accepting records and wait until everything queued is written."""
        self._closing = True
        self._wakeup.set()
        if self._task is not None:
            await self._task
            self._task = None
        if self._sink is not None:
            await self._sink.aclose()

    async def _run(self) -> None:
        while True:
            if not self._queue:
                if self._closing:
                    return
                self._wakeup.clear()
                await self._wakeup.wait()
                # One more turn of the event loop before writing: requests whose upstream answers
                # arrived in the same poll reach settlement too, and share this commit.
                await asyncio.sleep(0)
                continue
            batch, self._queue = self._queue[: self._max_batch], self._queue[self._max_batch :]
            await self._write(batch)

    async def _write(self, batch: list[tuple[UsageRecord, asyncio.Future[None]]]) -> None:
        records = [r for r, _ in batch]
        delay = 0.05
        for attempt in range(self._retries + 1):
            try:
                if self._sink is not None:
                    await self._sink.write(records)
                else:
                    async with self._engine.begin() as conn:
                        await write_usage_batch(conn, records)
                break
            except Exception as exc:  # a database hiccup must not lose billed usage: retry
                if attempt == self._retries:
                    log.error("usage batch of %d records failed after retries: %s", len(records), exc)
                    for _, fut in batch:
                        if not fut.done():
                            fut.set_exception(exc)
                    return
                log.warning("usage batch failed (%s); retrying in %.2fs", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)
        self.batches_written += 1
        if self._on_committed is not None:
            self._on_committed(records)
        for _, fut in batch:
            if not fut.done():
                fut.set_result(None)
