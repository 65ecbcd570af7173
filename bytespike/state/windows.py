"""Rolling spend windows (spec §5.1) as time buckets with a running total.

Each window keeps its spend in fixed buckets (5 h: 1-minute buckets, 1 d: 5-minute, 7 d:
1-hour) and a running sum; moving "now" forward drops the buckets that left the window, so
admission costs O(1) amortized instead of a scan. A bucket counts until its *end* is a whole
window old: spend stays in a window for at least the window and at most one bucket longer
(never shorter), so the cap errs on the side of the customer's limit. The window of bucket
index ``cur`` (now) is ``[cur - buckets, cur]``. `state/lua/prelude.lua` is the same arithmetic
for Redis; the memory backend uses this module.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Window:
    name: str
    length_ms: int
    bucket_ms: int

    @property
    def buckets(self) -> int:
        return self.length_ms // self.bucket_ms


WINDOWS = (
    Window("5h", 5 * 3_600_000, 60_000),
    Window("1d", 86_400_000, 300_000),
    Window("7d", 7 * 86_400_000, 3_600_000),
)
"""Order matters: `KeyCaps.windows` and the Lua scripts use these indexes."""
LONGEST_MS = max(w.length_ms + w.bucket_ms for w in WINDOWS)
"""How far back a load must read spend from the database."""


@dataclass(slots=True)
class WindowBuckets:
    """One key's spend in one window (memory backend)."""

    window: Window
    buckets: dict[int, int] = field(default_factory=dict)
    total: int = 0
    lo: int | None = None
    """Index of the oldest bucket holding spend (None: nothing in the window)."""

    def advance(self, now_ms: int) -> None:
        w = self.window
        first = now_ms // w.bucket_ms - w.buckets
        if self.lo is None or self.lo >= first:
            return
        for idx in [i for i in self.buckets if i < first]:
            self.total -= self.buckets.pop(idx)
        self.lo = min(self.buckets) if self.buckets else None

    def add(self, at_ms: int, cost: int, now_ms: int) -> None:
        """Count ``cost`` spent at ``at_ms`` (ignored when already outside the window)."""
        self.advance(now_ms)
        w = self.window
        idx = at_ms // w.bucket_ms
        if idx < now_ms // w.bucket_ms - w.buckets or cost == 0:
            return
        self.buckets[idx] = self.buckets.get(idx, 0) + cost
        self.total += cost
        self.lo = idx if self.lo is None else min(self.lo, idx)

    def remove(self, at_ms: int, cost: int) -> None:
        """Take back ``cost`` added at ``at_ms`` (undo), if its bucket is still in the window."""
        idx = at_ms // self.window.bucket_ms
        if idx not in self.buckets:
            return
        left = self.buckets[idx] - cost
        self.total -= min(cost, self.buckets[idx])
        if left > 0:
            self.buckets[idx] = left
        else:
            del self.buckets[idx]
            self.lo = min(self.buckets) if self.buckets else None

    def reset_ms(self, now_ms: int, limit: int) -> int:
        """When the window lifts (see `state.hot.WindowView.reset_ms`)."""
        self.advance(now_ms)
        w = self.window
        if self.lo is None or self.total <= 0:
            return now_ms
        if self.total < limit:
            return (self.lo + w.buckets + 1) * w.bucket_ms
        left = self.total
        for idx in sorted(self.buckets):
            left -= self.buckets[idx]
            if left < limit:
                return (idx + w.buckets + 1) * w.bucket_ms
        return (max(self.buckets) + w.buckets + 1) * w.bucket_ms


def bucketize(window: Window, spend: list[tuple[int, int]], now_ms: int) -> dict[int, int]:
    """Bucket (unix ms, cost) pairs for ``window``, dropping those already outside it."""
    first = now_ms // window.bucket_ms - window.buckets
    out: dict[int, int] = {}
    for at_ms, cost in spend:
        idx = at_ms // window.bucket_ms
        if idx >= first and cost:
            out[idx] = out.get(idx, 0) + cost
    return out
