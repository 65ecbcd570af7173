"""The speed and memory targets the issues set, checked against one results JSON.

Issue 6 §4 raises issue 2's targets; issues 3 and 5 add one each for translation and Redis. A
target whose scenario did not run is reported as not measured, never as met.
"""

from __future__ import annotations

from typing import Any

ADDED_P50_MS = 0.3
ADDED_P99_MS = 1.5
RPS_PER_CORE = 5000
LITELLM_RATIO = 15.0
FIRST_DELTA_MS = 1.0
US_PER_CHUNK = 50.0
IDLE_MIB = 80.0
PER_REQUEST_KIB = 40.0
SOAK_SLOPE_MIB_PER_MIN = 0.1
""""No growth": what a least-squares slope this small adds over a day is under 150 MiB, and
allocator noise alone gives slopes of this order on a 10-minute run."""
PG_REDIS_RATIO = 1.5
TRANSLATION_RATIO = 2.0
REDIS_FEATURES_P50_MS = 0.3


def _f(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def _row(issue: str, target: str, measured: str, met: bool | None) -> dict[str, Any]:
    return {"issue": issue, "target": target, "measured": measured, "met": met}


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per target: what was measured and whether it is met (None: not measured)."""
    sc = results.get("scenarios", {})
    out = []
    latency = sc.get("added_latency")
    if latency:
        p50 = {p: r["added_p50_ms"] for p, r in latency.items()}
        p99 = {p: r["added_p99_ms"] for p, r in latency.items()}
        out.append(_row("6", f"added latency at concurrency 1, p50 ≤ {ADDED_P50_MS} ms",
                        ", ".join(f"{p}: {_f(v, 3)} ms" for p, v in p50.items()), max(p50.values()) <= ADDED_P50_MS))
        out.append(_row("6", f"added latency at concurrency 1, p99 ≤ {ADDED_P99_MS} ms",
                        ", ".join(f"{p}: {_f(v, 3)} ms" for p, v in p99.items()), max(p99.values()) <= ADDED_P99_MS))
    else:
        out.append(_row("6", "added latency at concurrency 1", "not measured", None))
    sweep = sc.get("throughput")
    if sweep:
        best = max(sweep["gateway"]["points"], key=lambda p: p["rps"])
        out.append(_row("6", f"≥ {RPS_PER_CORE:,} requests/s per core at 0 ms upstream, all features on",
                        f"{best['rps']:,.0f} req/s at c={best['connections']} (p99 {_f(best['p99_ms'])} ms)",
                        best["rps"] >= RPS_PER_CORE))
    litellm = results.get("litellm", {}).get("throughput")
    if sweep and litellm:
        ours = max(p["rps"] for p in sweep["gateway"]["points"])
        theirs = max(p["rps"] for p in litellm["gateway"]["points"])
        ratio = ours / theirs if theirs else None
        out.append(_row("6", f"≥ {LITELLM_RATIO:g}× LiteLLM's requests/s in the same run",
                        f"{_f(ratio, 1)}× ({ours:,.0f} vs {theirs:,.0f} req/s)", ratio is not None and ratio >= LITELLM_RATIO))
    else:
        out.append(_row("6", f"≥ {LITELLM_RATIO:g}× LiteLLM's requests/s in the same run", "not measured (run with --litellm)", None))
    streaming = sc.get("streaming")
    if streaming:
        added = streaming["paced"]["added_first_content_p50_ms"]
        out.append(_row("6", f"streaming: added time to first content delta ≤ {FIRST_DELTA_MS:g} ms (p50)",
                        f"{_f(added, 3)} ms", added <= FIRST_DELTA_MS))
    chunks = sc.get("chunk_cost")
    if chunks:
        relayed = chunks["relayed"]["us_per_chunk"]
        out.append(_row("6", f"streaming: ≤ {US_PER_CHUNK:g} µs added per chunk (gateway CPU per relayed chunk)",
                        f"{_f(relayed, 1)} µs", relayed <= US_PER_CHUNK))
        translated = chunks["translated"]["us_per_chunk"]
        out.append(_row("3", f"streaming translation ≤ {US_PER_CHUNK:g} µs per chunk (gateway CPU per translated chunk)",
                        f"{_f(translated, 1)} µs ({_f(chunks['translation_extra_us_per_chunk'], 1)} µs more than relayed)",
                        translated <= US_PER_CHUNK))
    memory = sc.get("memory")
    if memory:
        idle = memory["idle_kib"] / 1024
        out.append(_row("6", f"≤ {IDLE_MIB:g} MiB idle per worker", f"{_f(idle, 1)} MiB", idle <= IDLE_MIB))
        per = memory["per_request_kib"]
        out.append(_row("6", f"≤ {PER_REQUEST_KIB:g} KiB per in-flight request", f"{_f(per, 1)} KiB", per <= PER_REQUEST_KIB))
    soak = sc.get("soak")
    if soak and soak.get("slope_mib_per_min") is not None:
        slope = soak["slope_mib_per_min"]
        out.append(_row("6", f"no RSS growth over the soak (slope ≤ {SOAK_SLOPE_MIB_PER_MIN:g} MiB/min after warm-up)",
                        f"{_f(slope, 3)} MiB/min over {soak['seconds']} s at {soak['rate_per_s']:,} req/s "
                        f"({_f((soak['growth_after_warm_up_kib'] or 0) / 1024, 1)} MiB after warm-up)",
                        slope <= SOAK_SLOPE_MIB_PER_MIN))
    else:
        out.append(_row("6", "no RSS growth over a 10-minute soak", "not measured", None))
    pg = sc.get("postgres_redis")
    if pg and not pg.get("skipped"):
        ratio = pg["ratio_to_embedded_p50"]
        out.append(_row("6", f"PostgreSQL + Redis: added latency within {PG_REDIS_RATIO:g}× of the embedded default's (p50)",
                        f"{_f(ratio, 2)}× ({_f(pg['latency']['postgres_redis']['added_p50_ms'], 3)} vs "
                        f"{_f(pg['latency']['embedded']['added_p50_ms'], 3)} ms)", ratio is not None and ratio <= PG_REDIS_RATIO))
        cost = pg["features_cost_p50_ms"]
        trips = pg["redis_round_trips_per_request"]
        out.append(_row("5", f"with Redis: admission + settle add ≤ {REDIS_FEATURES_P50_MS} ms p50, one Redis round trip "
                        "before the upstream call and one after",
                        f"{_f(cost, 3)} ms over the features-off relay (all features, not only admission and settle); "
                        f"{_f(trips, 2)} round trips per request", cost <= REDIS_FEATURES_P50_MS and trips <= 2.0))
    else:
        out.append(_row("6", "PostgreSQL + Redis within 1.5× of the embedded default", "not measured", None))
    cross = sc.get("cross_protocol")
    if cross and cross.get("supported"):
        same = cross["same"]["added_p50_ms"]
        ratio = cross["cross"]["added_p50_ms"] / same if same > 0 else None
        out.append(_row("3", f"translated requests add ≤ {TRANSLATION_RATIO:g}× the latency of same-protocol ones (p50)",
                        f"{_f(ratio, 2)}× ({_f(cross['cross']['added_p50_ms'], 3)} vs {_f(same, 3)} ms)",
                        ratio is not None and ratio <= TRANSLATION_RATIO))
    return out
