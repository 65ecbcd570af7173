"""Percentiles and the median-of-rounds reduction every reported figure goes through."""

from __future__ import annotations

import math
from collections.abc import Sequence


def percentile(values: Sequence[float], p: float) -> float | None:
    """The ``p``-th percentile (0–100) with linear interpolation; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def median(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return percentile(present, 50)


def summary_ms(seconds: Sequence[float]) -> dict[str, float | int | None]:
    """p50/p90/p99/max of durations given in seconds, reported in milliseconds."""
    ms = [s * 1000 for s in seconds]
    return {
        "n": len(ms),
        "p50_ms": percentile(ms, 50),
        "p90_ms": percentile(ms, 90),
        "p99_ms": percentile(ms, 99),
        "max_ms": max(ms) if ms else None,
    }


def median_of_rounds(rounds: Sequence[dict], keys: Sequence[str]) -> dict[str, float | None]:
    """For each key, the median over rounds of that round's value."""
    return {key: median([r.get(key) for r in rounds]) for key in keys}
