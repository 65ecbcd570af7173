"""Process metrics, rendered for ``GET /metrics`` in the Prometheus text format (0.0.4).

Monotonic counters and one latency histogram are all the gateway exports, so they are kept here
by hand instead of pulling in a client library. One `Metrics` object is built by the composition
root and passed to whoever counts (the meter, the Redis state backend, the relay); nothing is
module-global.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Mapping

HELP = {
    "bytespike_state_unavailable_total": "Calls to the shared hot state (Redis) that failed because it was unreachable.",
    "bytespike_state_round_trips_total": "Round trips to the shared hot state (Redis), by operation.",
    "bytespike_admissions_total": "Admission decisions, by result.",
    "bytespike_settlements_total": "Settlements of admitted requests, by result.",
}
"""Every counter the gateway exports, with its help text (unknown names are refused)."""

HISTOGRAMS = {
    "bytespike_overhead_ms": (
        "Time the gateway itself added to a request, in milliseconds (what X-ByteSpike-Overhead-Ms "
        "reports: the whole handling time less the wait for the upstream's answer), by caller protocol.",
        (0.1, 0.2, 0.3, 0.5, 1.0, 2.0, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 1000.0),
    ),
}
"""Every histogram: help text and bucket upper bounds (a ``+Inf`` bucket is implied)."""

Labels = tuple[tuple[str, str], ...]


def _key(labels: dict[str, str]) -> Labels:
    # Sorting is only needed to make several labels order-independent; most calls have one.
    return tuple(labels.items()) if len(labels) < 2 else tuple(sorted(labels.items()))


class _Histogram:
    __slots__ = ("bounds", "counts", "sum")

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)
        """Per bucket, not cumulative (the last one is +Inf); rendering accumulates."""
        self.sum = 0.0

    def observe(self, value: float) -> None:
        self.counts[bisect_left(self.bounds, value)] += 1
        self.sum += value


class Metrics:
    """Monotonic counters and histograms keyed by name and labels."""

    def __init__(self) -> None:
        self._values: dict[str, dict[Labels, float]] = {name: {} for name in HELP}
        self._histograms: dict[str, dict[Labels, _Histogram]] = {name: {} for name in HISTOGRAMS}

    def inc(self, name: str, amount: float = 1, **labels: str) -> None:
        series = self._values[name]
        key = _key(labels)
        series[key] = series.get(key, 0) + amount

    def observe(self, name: str, value: float, **labels: str) -> None:
        series = self._histograms[name]
        key = _key(labels)
        histogram = series.get(key)
        if histogram is None:
            histogram = series[key] = _Histogram(HISTOGRAMS[name][1])
        histogram.observe(value)

    def value(self, name: str, **labels: str) -> float:
        """The counter's value for exactly these labels (0 when never counted)."""
        return self._values[name].get(tuple(sorted(labels.items())), 0)

    def total(self, name: str) -> float:
        """The counter summed over all label values."""
        return sum(self._values[name].values())

    def count(self, name: str, **labels: str) -> int:
        """How many values the histogram observed for exactly these labels."""
        histogram = self._histograms[name].get(tuple(sorted(labels.items())))
        return sum(histogram.counts) if histogram is not None else 0

    def render(self) -> bytes:
        lines: list[str] = []
        for name, help_text in HELP.items():
            lines.append(f"# HELP {name} {help_text}")
            lines.append(f"# TYPE {name} counter")
            series = self._values[name]
            if not series:
                lines.append(f"{name} 0")
            for labels, value in sorted(series.items()):
                lines.append(f"{name}{_labels(dict(labels))} {value:g}")
        for name, (help_text, _) in HISTOGRAMS.items():
            lines.append(f"# HELP {name} {help_text}")
            lines.append(f"# TYPE {name} histogram")
            for labels, histogram in sorted(self._histograms[name].items()):
                cumulative = 0
                for bound, count in zip((*histogram.bounds, "+Inf"), histogram.counts, strict=True):
                    cumulative += count
                    le = bound if isinstance(bound, str) else f"{bound:g}"
                    lines.append(f"{name}_bucket{_labels({**dict(labels), 'le': le})} {cumulative}")
                lines.append(f"{name}_sum{_labels(dict(labels))} {round(histogram.sum, 6)!r}")
                lines.append(f"{name}_count{_labels(dict(labels))} {cumulative}")
        return ("\n".join(lines) + "\n").encode()


def _labels(labels: Mapping[str, str]) -> str:
    if not labels:
        return ""
    return "{" + ",".join(f'{k}="{_quote(v)}"' for k, v in labels.items()) + "}"


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')
