"""Process counters, rendered for ``GET /metrics`` in the Prometheus text format (0.0.4).

A handful of monotonic counters is all the gateway exports today, so they are kept here by hand
instead of pulling in a client library. One `Metrics` object is built by the composition root
and passed to whoever counts (the meter, the Redis state backend); nothing is module-global.
"""

from __future__ import annotations

from collections.abc import Mapping

HELP = {
    "bytespike_state_unavailable_total": "Calls to the shared hot state (Redis) that failed because it was unreachable.",
    "bytespike_state_round_trips_total": "Round trips to the shared hot state (Redis), by operation.",
    "bytespike_admissions_total": "Admission decisions, by result.",
    "bytespike_settlements_total": "Settlements of admitted requests, by result.",
}
"""Every counter the gateway exports, with its help text (unknown names are refused)."""

Labels = tuple[tuple[str, str], ...]


class Metrics:
    """Monotonic counters keyed by name and labels."""

    def __init__(self) -> None:
        self._values: dict[str, dict[Labels, float]] = {name: {} for name in HELP}

    def inc(self, name: str, amount: float = 1, **labels: str) -> None:
        series = self._values[name]
        key = tuple(sorted(labels.items()))
        series[key] = series.get(key, 0) + amount

    def value(self, name: str, **labels: str) -> float:
        """The counter's value for exactly these labels (0 when never counted)."""
        return self._values[name].get(tuple(sorted(labels.items())), 0)

    def total(self, name: str) -> float:
        """The counter summed over all label values."""
        return sum(self._values[name].values())

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
        return ("\n".join(lines) + "\n").encode()


def _labels(labels: Mapping[str, str]) -> str:
    if not labels:
        return ""
    return "{" + ",".join(f'{k}="{_quote(v)}"' for k, v in labels.items()) + "}"


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')
