"""The embedded default's usage writes: one thread hop per batch on a dedicated sqlite3 connection.

Through SQLAlchemy's async engine every statement of a batch (check, insert, two updates,
commit) is its own hop to aiosqlite's thread and back; at concurrency 1 that made the durable
commit the largest part of the gateway's added latency. Here the whole batch runs as one
function on one writer thread, with the same effect as `storage.usage.write_usage_batch`:
records whose ``request_id`` exists are skipped together with their debit, and wallet, key and
usage changes commit in one transaction. Values are written in SQLAlchemy's SQLite formats
(``YYYY-MM-DD HH:MM:SS.ffffff`` UTC timestamps, 0/1 booleans) so both paths read the same rows.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections import defaultdict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

from bytespike.storage.records import UsageRecord

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
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


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


class SqliteUsageSink:
    """`write(records)` for `UsageWriter`, on the embedded SQLite file."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bytespike-usage-writer")
        self._conn: sqlite3.Connection | None = None

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA busy_timeout=10000")
            self._conn = conn
        return self._conn

    def _write(self, records: Sequence[UsageRecord]) -> list[str]:
        conn = self._connection()
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

    async def write(self, records: Sequence[UsageRecord]) -> list[str]:
        return await asyncio.get_running_loop().run_in_executor(self._executor, self._write, records)

    def close(self) -> None:
        def _close() -> None:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

        self._executor.submit(_close).result()
        self._executor.shutdown(wait=True)
