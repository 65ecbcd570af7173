"""The soak: a fresh gateway at half its capacity for ten minutes, RSS sampled throughout.

Half capacity is half the highest requests/s of this run's throughput sweep (or 1,000/s if the
sweep did not run). Requests go out open-loop in 10-second batches; after each batch the
gateway's RSS is read. The first minute is warm-up (caches, pools, allocator arenas fill); growth
is judged on the rest: the least-squares slope of RSS over time, and the change from the first
sample after warm-up to the last.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import client
import processes
from scenarios import Bench, pair, run_async

BATCH_S = 10
WARM_UP_S = 60
FULL_S = 600
QUICK_S = 90


def _slope_mib_per_min(points: list[tuple[float, float]]) -> float | None:
    if len(points) < 2:
        return None
    n = len(points)
    mean_t = sum(t for t, _ in points) / n
    mean_r = sum(r for _, r in points) / n
    var = sum((t - mean_t) ** 2 for t, _ in points)
    if var == 0:
        return None
    cov = sum((t - mean_t) * (r - mean_r) for t, r in points)
    return cov / var * 60 / 1024  # KiB per second → MiB per minute


async def _run(bench: Bench, gateway: processes.Server, rate: float, seconds: int, log: Callable[[str], None]) -> dict:
    target, _ = pair(replace(bench, gateway=gateway), "openai_chat")
    samples: list[tuple[float, float]] = [(0.0, gateway.rss_kib())]
    statuses: dict[int, int] = {}
    errors: list[str] = []
    async with client.new_session() as session:
        for batch in range(seconds // BATCH_S):
            got = await client.fixed_rate(session, target, rate=rate, count=int(rate * BATCH_S))
            for status, n in got.statuses.items():
                statuses[status] = statuses.get(status, 0) + n
            errors += got.errors[: max(0, 5 - len(errors))]
            elapsed = (batch + 1) * BATCH_S
            samples.append((float(elapsed), gateway.rss_kib()))
            if elapsed % 60 == 0:
                log(f"  soak {elapsed}/{seconds} s: RSS {samples[-1][1] / 1024:.1f} MiB, statuses {statuses}")
    steady = [(t, r) for t, r in samples if t >= WARM_UP_S]
    return {
        "rate_per_s": rate,
        "seconds": seconds,
        "warm_up_s": WARM_UP_S,
        "samples": samples,
        "statuses": statuses,
        "errors": errors,
        "rss_start_kib": samples[0][1],
        "rss_after_warm_up_kib": steady[0][1] if steady else None,
        "rss_end_kib": samples[-1][1],
        "growth_after_warm_up_kib": (steady[-1][1] - steady[0][1]) if steady else None,
        "slope_mib_per_min": _slope_mib_per_min(steady),
    }


def soak(bench: Bench, log: Callable[[str], None], capacity_rps: float | None) -> dict[str, Any]:
    seconds = QUICK_S if bench.plan.mode == "quick" else FULL_S
    rate = round((capacity_rps or 2000) / 2)
    gateway = processes.start_gateway(
        bench.ws, bench.simulator.url, core=bench.gateway_core, name="gateway-soak", extra_env=bench.gateway_extra_env
    )
    try:
        log(f"  soak at {rate} req/s for {seconds} s (half of {capacity_rps or 2000:.0f} req/s)")
        result = run_async(_run(bench, gateway, rate, seconds, log))
        result["log"] = processes.log_issues(gateway.log_path)
        return result
    finally:
        gateway.stop()
