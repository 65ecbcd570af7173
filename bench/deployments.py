"""Scenarios that compare deployments of the gateway rather than requests to one gateway.

- ``features``: the gateway with every feature on versus bench/bare_relay.py (the same server
  stack and upstream client, no key lookup, admission, settlement or usage record) — what the
  features cost, in added latency and in CPU per request.
- ``postgres_redis``: the scaled-out configuration (PostgreSQL + Redis, one worker) versus the
  embedded default and the bare relay, plus the Redis round trips per request.
- ``workers``: ``serve --workers 2`` (PostgreSQL + Redis) versus one worker, throughput.

Latency figures are interleaved fixed-rate rounds like scenarios.added_latency, with the order of
the servers rotated each round; CPU per request is the server process's CPU time over a wrk run
divided by the requests it answered.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import client
import processes
import services
import stats
from client import Target
from scenarios import Bench, _ms, pair, run_async
from wrk import WrkRequest, run_wrk

CPU_CONNECTIONS = 32
"""wrk connections for the CPU-per-request runs: enough to keep the server busy."""


async def _interleaved(
    bench: Bench, label: str, targets: list[Target], log: Callable[[str], None]
) -> dict[str, Any]:
    """Fixed-rate rounds over several targets (one named ``direct``); median of round figures."""
    plan = bench.plan
    rows: dict[str, list[dict]] = {t.name: [] for t in targets}
    async with client.new_session() as session:
        for target in targets:
            await client.fixed_rate(session, target, rate=plan.latency_rate, count=200)
        for r in range(plan.rounds):
            shift = r % len(targets)
            for target in targets[shift:] + targets[:shift]:
                got = await client.fixed_rate(session, target, rate=plan.latency_rate, count=plan.latency_count)
                rows[target.name].append({**stats.summary_ms(got.seconds), "statuses": got.statuses, "errors": got.errors})
            log(
                f"  {label} round {r + 1}/{plan.rounds}: "
                + ", ".join(f"{name} p50 {_ms(v[-1]['p50_ms'], 3)} ms" for name, v in rows.items())
            )
    result: dict[str, Any] = {"requests_per_round": plan.latency_count, "rate_per_s": plan.latency_rate}
    direct = stats.median_of_rounds(rows["direct"], ("p50_ms", "p99_ms"))
    for name, per_round in rows.items():
        figures = stats.median_of_rounds(per_round, ("p50_ms", "p90_ms", "p99_ms", "max_ms"))
        if name != "direct":
            figures["added_p50_ms"] = figures["p50_ms"] - direct["p50_ms"]
            figures["added_p99_ms"] = figures["p99_ms"] - direct["p99_ms"]
        result[name] = {**figures, "rounds": per_round}
    return result


def _cpu_per_request(bench: Bench, server: processes.Server, target: Target) -> dict[str, Any]:
    """The server's CPU µs per answered request under wrk, median of the plan's rounds."""
    request = WrkRequest(target.url, target.headers, target.body)
    run_wrk(request, connections=CPU_CONNECTIONS, seconds=1, core=bench.load_core, workdir=bench.ws.dir)
    runs = []
    for _ in range(bench.plan.rounds):
        before = server.cpu_seconds()
        got = run_wrk(
            request, connections=CPU_CONNECTIONS, seconds=bench.plan.sweep_seconds, core=bench.load_core, workdir=bench.ws.dir
        )
        spent = server.cpu_seconds() - before
        runs.append({"us_per_request": spent / max(got["requests"], 1) * 1e6, "rps": got["rps"], "errors": got["errors"]})
    return {**stats.median_of_rounds(runs, ("us_per_request", "rps")), "runs": runs}


def _target_for(bench: Bench, server: processes.Server, key: str) -> Target:
    gateway, _ = pair(replace(bench, gateway=server, key=key), "openai_chat")
    return replace(gateway, name=server.name)


# ---------------------------------------------------------------------------- features on / off
def features(bench: Bench, log: Callable[[str], None]) -> dict[str, Any]:
    bare = processes.start_bare_relay(bench.ws, bench.simulator.url, core=bench.gateway_core)
    try:
        gateway, direct = pair(bench, "openai_chat")
        off = replace(gateway, name="features_off", url=bare.url + "/v1/chat/completions")
        on = replace(gateway, name="features_on")
        latency = run_async(_interleaved(bench, "features on/off", [on, off, direct], log))
        cpu = {
            "features_on": _cpu_per_request(bench, bench.gateway, on),
            "features_off": _cpu_per_request(bench, bare, off),
        }
        log(
            f"  CPU per request: features on {cpu['features_on']['us_per_request']:.0f} µs, "
            f"off {cpu['features_off']['us_per_request']:.0f} µs"
        )
        return {
            "latency": latency,
            "cpu": cpu,
            "features_cost_p50_ms": latency["features_on"]["added_p50_ms"] - latency["features_off"]["added_p50_ms"],
            "log": processes.log_issues(bare.log_path),
        }
    finally:
        bare.stop()


# ---------------------------------------------------------------------------- PostgreSQL + Redis
async def _round_trips(session: Any, base: str) -> float:
    async with session.get(base + "/metrics") as resp:
        text = await resp.text()
    return sum(
        float(line.rpartition(" ")[2])
        for line in text.splitlines()
        if line.startswith("bytespike_state_round_trips_total")
    )


async def _round_trips_per_request(server: processes.Server, target: Target, count: int) -> float:
    async with client.new_session() as session:
        before = await _round_trips(session, server.url)
        got = await client.fixed_rate(session, target, rate=100, count=count)
        after = await _round_trips(session, server.url)
    return (after - before) / max(sum(got.statuses.values()), 1)


def postgres_redis(bench: Bench, log: Callable[[str], None]) -> dict[str, Any]:
    try:
        env_cm = services.postgres_and_redis()
        env = env_cm.__enter__()
    except services.ServiceMissing as exc:
        log(f"  skipped: {exc}")
        return {"skipped": str(exc)}
    try:
        key = processes.create_funded_key(bench.ws, bench.simulator.url, env)
        pg = processes.start_gateway(
            bench.ws, bench.simulator.url, core=bench.gateway_core, name="gateway-pg-redis", extra_env=env
        )
        bare = processes.start_bare_relay(bench.ws, bench.simulator.url, core=bench.gateway_core)
        try:
            embedded, direct = pair(bench, "openai_chat")
            targets = [
                replace(embedded, name="embedded"),
                replace(_target_for(bench, pg, key), name="postgres_redis"),
                replace(embedded, name="features_off", url=bare.url + "/v1/chat/completions"),
                direct,
            ]
            latency = run_async(_interleaved(bench, "PostgreSQL+Redis", targets, log))
            trips = run_async(_round_trips_per_request(pg, targets[1], 200))
            cpu = _cpu_per_request(bench, pg, targets[1])
            log(f"  Redis round trips per request: {trips:.2f}; CPU per request {cpu['us_per_request']:.0f} µs")
            return {
                "latency": latency,
                "redis_round_trips_per_request": trips,
                "cpu": cpu,
                "ratio_to_embedded_p50": latency["postgres_redis"]["added_p50_ms"] / latency["embedded"]["added_p50_ms"]
                if latency["embedded"]["added_p50_ms"]
                else None,
                "features_cost_p50_ms": latency["postgres_redis"]["added_p50_ms"] - latency["features_off"]["added_p50_ms"],
                "log": processes.log_issues(pg.log_path),
            }
        finally:
            pg.stop()
            bare.stop()
    finally:
        env_cm.__exit__(None, None, None)


# ---------------------------------------------------------------------------- serve --workers 2
def workers(bench: Bench, log: Callable[[str], None]) -> dict[str, Any]:
    """Throughput of one worker (gateway core) and of ``--workers 2`` (both cores), PostgreSQL +
    Redis. The load generator and the simulator share the second core with a worker, so the
    two-worker figure is a floor, not the machine's capacity."""
    try:
        env_cm = services.postgres_and_redis()
        env = env_cm.__enter__()
    except services.ServiceMissing as exc:
        log(f"  skipped: {exc}")
        return {"skipped": str(exc)}
    try:
        key = processes.create_funded_key(bench.ws, bench.simulator.url, env)
        out: dict[str, Any] = {"concurrencies": list(bench.plan.concurrencies[1:])}
        for count, cores in ((1, str(bench.gateway_core)), (2, f"{bench.gateway_core},{bench.load_core}")):
            server = processes.start_gateway(
                bench.ws, bench.simulator.url, core=cores, name=f"gateway-workers-{count}", extra_env=env, workers=count
            )
            try:
                target = _target_for(bench, server, key)
                request = WrkRequest(target.url, target.headers, target.body)
                run_wrk(request, connections=64, seconds=1, core=bench.load_core, workdir=bench.ws.dir)
                points = []
                for c in out["concurrencies"]:
                    runs = []
                    for _ in range(bench.plan.rounds):
                        runs.append(
                            run_wrk(request, connections=c, seconds=bench.plan.sweep_seconds, core=bench.load_core, workdir=bench.ws.dir)
                        )
                        time.sleep(0.2)
                    points.append({"connections": c, **stats.median_of_rounds(runs, ("rps", "p50_ms", "p99_ms", "errors"))})
                out[f"workers_{count}"] = {"cores": cores, "points": points, "max_rps": max(p["rps"] for p in points)}
                log(f"  --workers {count} (cores {cores}): " + ", ".join(f"c={p['connections']} {p['rps']:.0f}/s" for p in points))
            finally:
                server.stop()
        return out
    finally:
        env_cm.__exit__(None, None, None)
