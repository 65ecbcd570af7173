"""docs/performance.md sections for the deployment, per-chunk CPU and soak scenarios
(bench/deployments.py, bench/chunk_cost.py, bench/soak.py); report.py assembles the page."""

from __future__ import annotations

from typing import Any


def _f(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(row) + " |" for row in rows]
    return [*out, ""]


def _latency_rows(latency: dict[str, Any], labels: dict[str, str]) -> list[list[str]]:
    rows = []
    for name, label in labels.items():
        r = latency[name]
        rows.append(
            [label, _f(r["p50_ms"], 3), _f(r.get("added_p50_ms"), 3), _f(r["p99_ms"], 3), _f(r.get("added_p99_ms"), 3)]
        )
    return rows


def features(sc: dict[str, Any]) -> list[str]:
    f = sc.get("features")
    if not f:
        return []
    lines = [
        "## Features on versus off",
        "",
        "**Features on** is the gateway as measured everywhere else (key lookup, scopes, IP lists, "
        "admission with hold, windows and concurrency lease, settlement, the usage record committed "
        "before the reply). **Features off** is `bench/bare_relay.py`: the same uvicorn settings and "
        "the same upstream client (`Http1Pool`), parsing the body and rewriting `model` both ways, and "
        "nothing else. Both on the gateway core, interleaved with direct at concurrency 1; CPU per "
        "request is the process's CPU time under wrk (32 connections) divided by the requests answered.",
        "",
    ]
    lines += _table(
        ["server", "p50 ms", "added p50 ms", "p99 ms", "added p99 ms"],
        _latency_rows(f["latency"], {"features_on": "features on", "features_off": "features off", "direct": "direct"}),
    )
    cpu = f["cpu"]
    lines += [
        f"CPU per request: features on {_f(cpu['features_on']['us_per_request'], 0)} µs "
        f"({_f(cpu['features_on']['rps'], 0)} req/s under wrk), features off "
        f"{_f(cpu['features_off']['us_per_request'], 0)} µs ({_f(cpu['features_off']['rps'], 0)} req/s). "
        f"The features cost {_f(f['features_cost_p50_ms'], 3)} ms at p50 and "
        f"{_f(cpu['features_on']['us_per_request'] - cpu['features_off']['us_per_request'], 0)} µs of CPU per request.",
        "",
    ]
    return lines


def postgres_redis(sc: dict[str, Any]) -> list[str]:
    pg = sc.get("postgres_redis")
    if not pg:
        return []
    if pg.get("skipped"):
        return ["## PostgreSQL + Redis", "", f"Skipped: {pg['skipped']}.", ""]
    lines = [
        "## PostgreSQL + Redis",
        "",
        "One gateway worker on PostgreSQL (a database of the run's own) and Redis (a key prefix of the "
        "run's own) — the scaled-out configuration — interleaved at concurrency 1 with the embedded "
        "default, the features-off relay and direct, all on the gateway core.",
        "",
    ]
    lines += _table(
        ["server", "p50 ms", "added p50 ms", "p99 ms", "added p99 ms"],
        _latency_rows(
            pg["latency"],
            {"embedded": "embedded default", "postgres_redis": "PostgreSQL + Redis", "features_off": "features off", "direct": "direct"},
        ),
    )
    lines += [
        f"PostgreSQL + Redis adds {_f(pg['ratio_to_embedded_p50'], 2)}× the embedded default's latency at p50; "
        f"{_f(pg['redis_round_trips_per_request'], 2)} Redis round trips per request (from "
        f"`bytespike_state_round_trips_total`); {_f(pg['cpu']['us_per_request'], 0)} µs of gateway CPU per request "
        "under wrk (Redis and PostgreSQL work happens in their own processes, on the load core).",
        "",
    ]
    return lines


def workers(sc: dict[str, Any]) -> list[str]:
    w = sc.get("workers")
    if not w:
        return []
    if w.get("skipped"):
        return ["## Two workers", "", f"Skipped: {w['skipped']}.", ""]
    lines = [
        "## Two workers",
        "",
        "`bytespike serve --workers 2` (PostgreSQL + Redis, one process per core) against one worker, "
        "closed-loop wrk. The second worker shares its core with the simulator, wrk, PostgreSQL and "
        "Redis, so the two-worker figure is what this 2-core machine allows, not what two free cores give.",
        "",
    ]
    rows = []
    for count in (1, 2):
        data = w[f"workers_{count}"]
        for p in data["points"]:
            rows.append([str(count), data["cores"], str(p["connections"]), _f(p["rps"], 0), _f(p["p50_ms"]), _f(p["p99_ms"])])
    lines += _table(["workers", "cores", "c", "req/s", "p50 ms", "p99 ms"], rows)
    return lines


def chunk_cost(sc: dict[str, Any]) -> list[str]:
    c = sc.get("chunk_cost")
    if not c:
        return []
    lines = [
        "## CPU per stream chunk",
        "",
        f"Gateway CPU time over {c['streams']} streams of 40 words cut into {c['chunks']} deltas, minus the "
        f"same over streams of one delta, per extra chunk (the simulator sends them unpaced). Relayed: "
        "an OpenAI chat caller on an OpenAI upstream (frames forwarded, usage tapped). Translated: an "
        "Anthropic caller on the same upstream (every frame decoded, re-encoded, re-framed).",
        "",
    ]
    lines += _table(
        ["path", "µs per chunk", f"µs per {c['chunks']}-chunk stream", "µs per 1-chunk stream"],
        [
            [name, _f(c[name]["us_per_chunk"], 1), _f(c[name]["us_per_stream_many"], 0), _f(c[name]["us_per_stream_one"], 0)]
            for name in ("relayed", "translated")
        ],
    )
    return lines


def soak(sc: dict[str, Any]) -> list[str]:
    s = sc.get("soak")
    if not s:
        return []
    mib = [(t, r / 1024) for t, r in s["samples"]]
    every = max(1, len(mib) // 12)
    lines = [
        "## Soak",
        "",
        f"A fresh gateway at {s['rate_per_s']:,} requests/s (half the sweep's best) for {s['seconds']} s, "
        f"open loop in 10 s batches; RSS after each batch. Statuses: {s['statuses']}. After the "
        f"{s['warm_up_s']} s warm-up: {_f((s['rss_after_warm_up_kib'] or 0) / 1024, 1)} → "
        f"{_f(s['rss_end_kib'] / 1024, 1)} MiB, least-squares slope {_f(s['slope_mib_per_min'], 3)} MiB/min.",
        "",
    ]
    lines += _table(["seconds", "RSS MiB"], [[f"{t:.0f}", _f(r, 1)] for t, r in mib[::every] + ([mib[-1]] if (len(mib) - 1) % every else [])])
    return lines


def all_sections(sc: dict[str, Any]) -> list[str]:
    return [*features(sc), *postgres_redis(sc), *workers(sc), *chunk_cost(sc), *soak(sc)]
