"""The embedded default's usage writes: each batch on the event loop's own thread, no hop.

Through SQLAlchemy's async engine every statement of a batch (check, insert, two updates,
commit) is its own hop to aiosqlite's thread and back; at concurrency 1 that made the durable
commit the largest part of the gateway's added latency. A dedicated writer thread cut that to
one hop per batch, but on the one core a worker is pinned to, the hop itself (executor future,
thread wake-up, GIL hand-off, loop wake-up) still cost about as much CPU as the SQL.

So a batch is written where the request runs, on a `sqlite3` connection with
``busy_timeout = 0`` and ``wal_autocheckpoint = 0``; in WAL mode with ``synchronous = NORMAL`` a
commit appends to the WAL without fsync, so nothing on the loop waits on the disk or on
another writer:

- if another connection holds the write lock (the console, the CLI), ``BEGIN IMMEDIATE`` fails at
  once and that batch goes to the writer thread, whose connection waits up to 10 s for the lock;
- the WAL is checkpointed (the only step that fsyncs) on the writer thread, every
  `CHECKPOINT_EVERY` commits or `CHECKPOINT_SECONDS`. Those checkpoints are PASSIVE, so the
  loop keeps committing while they run; but SQLite rewinds the WAL only when a writer finds it
  *fully* checkpointed, which never happens while commits keep arriving during each checkpoint.
  Without a remedy the WAL grew by ~5 MiB/s under load (3.4 GB after two minutes), and with it
  the WAL index every page read searches (throughput fell by a quarter in those two minutes)
  and the shared-memory index counted in the process's RSS. So when a checkpoint leaves more
  than `WAL_RESET_FRAMES` in the log, a RESTART checkpoint follows at once: it briefly holds
  writers off (the loop's batches find the lock taken and queue on the writer thread behind
  it), copies the few frames the PASSIVE one left, and waits for readers to leave the WAL, so
  the next commit writes from its beginning. (TRUNCATE would also shrink the file, but then
  every rewind re-grows it block by block; measured slower under load.)

The effect is that of `storage.usage.write_usage_batch`: records whose ``request_id`` exists are
skipped together with their debit, and wallet, key and usage changes commit in one transaction.
Values are written in SQLAlchemy's SQLite formats (``YYYY-MM-DD HH:MM:SS.ffffff`` UTC
timestamps, 0/1 booleans) so both paths read the same rows.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections import defaultdict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

from bytespike.storage.records import UsageRecord

log = logging.getLogger("bytespike.storage")

CHECKPOINT_EVERY = 256
"""Commits on the loop's connection between two WAL checkpoints (each at most ~1 MiB of WAL)."""
CHECKPOINT_SECONDS = 1.0
"""…or this long after the first commit not yet checkpointed, whichever comes first."""
WAL_RESET_FRAMES = 4096
"""A WAL longer than this many frames (pages: 16 MiB at 4 KiB) after a checkpoint is reset."""

_COLUMNS = (
    "request_id, created_at, api_key_id, user_id, org_id, wallet_id, model, provider, endpoint, "
    "caller_protocol, upstream_protocol, is_stream, status, input_tokens, output_tokens, "
    "cache_read_tokens, cache_write_tokens, reasoning_tokens, cost_micros, latency_ms, ttft_ms, billing_rule"
)
_INSERT = f"INSERT OR IGNORE INTO usage_records ({_COLUMNS}) VALUES ({', '.join('?' * 22)})"
_DEBIT_WALLET = (
    "UPDATE wallets SET balance_micros = balance_micros - ?, "
    "lifetime_spent_micros = lifetime_spent_micros + ?, updated_at = ? WHERE id = ?"
)
_GROW_KEY = "UPDATE api_keys SET used_micros = used_micros + ? WHERE id = ?"


def _timestamp(value: datetime) -> str:
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    # isoformat is C code and several times cheaper than strftime; timespec keeps ".000000".
    return value.replace(tzinfo=None).isoformat(" ", "microseconds")


def _row(r: UsageRecord) -> tuple:
    return (
        r.request_id,
        _timestamp(r.created_at),
        r.api_key_id,
        r.user_id,
        r.org_id,
        r.wallet_id,
        r.model,
        r.provider,
        r.endpoint,
        r.caller_protocol,
        r.upstream_protocol,
        1 if r.is_stream else 0,
        r.status,
        r.input_tokens,
        r.output_tokens,
        r.cache_read_tokens,
        r.cache_write_tokens,
        r.reasoning_tokens,
        r.cost_micros,
        r.latency_ms,
        r.ttft_ms,
        r.billing_rule,
    )


def _connect(path: Path, *, busy_timeout_ms: int, autocheckpoint: bool) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
    if not autocheckpoint:
        conn.execute("PRAGMA wal_autocheckpoint=0")
    return conn


def _write(conn: sqlite3.Connection, records: Sequence[UsageRecord]) -> list[str]:
    """One transaction; raises `sqlite3.OperationalError` ("database is locked") from BEGIN when
    another connection holds the write lock and this one may not wait."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        fresh: list[UsageRecord] = []
        for r in records:
            if conn.execute(_INSERT, _row(r)).rowcount == 1:
                fresh.append(r)
        per_wallet: dict[int, int] = defaultdict(int)
        per_key: dict[int, int] = defaultdict(int)
        for r in fresh:
            per_wallet[r.wallet_id] += r.cost_micros
            for key_id in r.key_chain:
                per_key[key_id] += r.cost_micros
        now = _timestamp(datetime.now(UTC))
        conn.executemany(
            _DEBIT_WALLET,
            [(amount, amount, now, wid) for wid, amount in sorted(per_wallet.items()) if amount],
        )
        conn.executemany(_GROW_KEY, [(amount, kid) for kid, amount in sorted(per_key.items()) if amount])
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return [r.request_id for r in fresh]


def _is_locked(exc: sqlite3.OperationalError) -> bool:
    return getattr(exc, "sqlite_errorcode", None) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED) or (
        "locked" in str(exc)
    )


class SqliteUsageSink:
    """`write(records)` for `UsageWriter`, on the embedded SQLite file."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bytespike-usage-writer")
        self._loop_conn: sqlite3.Connection | None = None
        """Used only on the event loop's thread: never waits for a lock, never checkpoints."""
        self._thread_conn: sqlite3.Connection | None = None
        """Used only on the writer thread: waits for locks, and checkpoints the WAL."""
        self._uncheckpointed = 0
        self._first_uncheckpointed = 0.0
        self._checkpoint: asyncio.Future[None] | None = None
        self.thread_batches = 0
        """Batches that found the write lock taken and went to the writer thread."""
        self.wal_resets = 0
        """RESTART checkpoints that rewound a WAL the PASSIVE ones could not."""

    def _on_thread(self) -> sqlite3.Connection:
        if self._thread_conn is None:
            self._thread_conn = _connect(self._path, busy_timeout_ms=10_000, autocheckpoint=True)
        return self._thread_conn

    def _write_on_thread(self, records: Sequence[UsageRecord]) -> list[str]:
        return _write(self._on_thread(), records)

    def _checkpoint_on_thread(self) -> None:
        conn = self._on_thread()
        _, log_frames, _ = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        if log_frames > WAL_RESET_FRAMES:
            busy, _, _ = conn.execute("PRAGMA wal_checkpoint(RESTART)").fetchone()
            self.wal_resets += 0 if busy else 1

    async def write(self, records: Sequence[UsageRecord]) -> list[str]:
        if self._loop_conn is None:
            self._loop_conn = _connect(self._path, busy_timeout_ms=0, autocheckpoint=False)
        try:
            written = _write(self._loop_conn, records)
        except sqlite3.OperationalError as exc:
            if not _is_locked(exc):
                raise
            self.thread_batches += 1
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._executor, self._write_on_thread, records)
        self._after_commit()
        return written

    def _after_commit(self) -> None:
        now = time.monotonic()
        if self._uncheckpointed == 0:
            self._first_uncheckpointed = now
        self._uncheckpointed += 1
        due = self._uncheckpointed >= CHECKPOINT_EVERY or now - self._first_uncheckpointed >= CHECKPOINT_SECONDS
        if due and (self._checkpoint is None or self._checkpoint.done()):
            self._uncheckpointed = 0
            fut = asyncio.get_running_loop().run_in_executor(self._executor, self._checkpoint_on_thread)
            fut.add_done_callback(_log_checkpoint_failure)
            self._checkpoint = fut

    async def aclose(self) -> None:
        self.close()

    def close(self) -> None:
        def _close() -> None:
            if self._thread_conn is not None:
                # A last checkpoint folds the WAL back into the database file.
                self._thread_conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
                self._thread_conn.close()
                self._thread_conn = None

        if self._loop_conn is not None:
            self._loop_conn.close()
            self._loop_conn = None
        self._executor.submit(_close).result()
        self._executor.shutdown(wait=True)


def _log_checkpoint_failure(fut: asyncio.Future[None]) -> None:
    if not fut.cancelled() and fut.exception() is not None:
        log.warning("WAL checkpoint failed (retried with the next one): %s", fut.exception())
