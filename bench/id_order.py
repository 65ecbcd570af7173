"""CPU per usage batch written by the embedded sink: random versus time-ordered request ids.

    .venv/bin/python bench/id_order.py

For databases already holding 0, 200,000 and 400,000 usage records, writes 16,000 more in
batches of 8 (a commit each, as under load) through `SqliteUsageSink`, with request ids either
128 random bits or a millisecond time prefix and 80 random bits (bytespike/ids.py), and prints
the process CPU time per batch (median of 3 interleaved rounds). Random ids land at random
leaves of the unique request_id index, which soon outgrows SQLite's page cache.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bytespike.storage.engine import create_engine, upgrade
from bytespike.storage.sqlite_sink import SqliteUsageSink
from tests.storage.test_ledger_and_usage import _usage, _user_wallet_key

BATCH = 8
MEASURED = 16_000


def random_id() -> str:
    return f"req_{random.getrandbits(128):032x}"


def time_ordered_id() -> str:
    return f"req_{time.time_ns() // 1_000_000:012x}{random.getrandbits(80):020x}"


async def cpu_per_batch_us(new_id, existing: int) -> float:  # type: ignore[no-untyped-def]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ids.db"
        engine = create_engine(f"sqlite:///{path}")
        await upgrade(engine)
        user_id, wallet_id, key_id = await _user_wallet_key(engine)
        await engine.dispose()
        sink = SqliteUsageSink(path)
        try:
            for _ in range(existing // BATCH):
                await sink.write([_usage(new_id(), user_id, wallet_id, key_id, 1) for _ in range(BATCH)])
                sink._after_commit()
            started = time.process_time()
            for _ in range(MEASURED // BATCH):
                await sink.write([_usage(new_id(), user_id, wallet_id, key_id, 1) for _ in range(BATCH)])
                sink._after_commit()
            return (time.process_time() - started) / (MEASURED // BATCH) * 1e6
        finally:
            sink.close()


async def main() -> None:
    print("records already in the database | random ids µs/batch | time-ordered ids µs/batch")
    for existing in (0, 200_000, 400_000):
        rounds: dict[str, list[float]] = {"random": [], "time": []}
        for _ in range(3):
            rounds["random"].append(await cpu_per_batch_us(random_id, existing))
            rounds["time"].append(await cpu_per_batch_us(time_ordered_id, existing))
        print(f"{existing:,} | {statistics.median(rounds['random']):.0f} | {statistics.median(rounds['time']):.0f}", flush=True)


if __name__ == "__main__":
    asyncio.run(main())
