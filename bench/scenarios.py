"""The benchmark scenarios of DESIGN.md §7, each measured in interleaved rounds.

Every scenario runs the same request against the gateway and straight against the simulator
("direct"), alternating which goes first in each round, and reduces each figure to the median of
its per-round values. Upstream behaviour (latency, chunking, pacing) is steered with
``[[sim:…]]`` directives in the prompt text, because the gateway forwards the body but not the
caller's ``x-sim-*`` headers: direct and gateway runs therefore send identical bodies (apart from
``model``, which the direct run gives as the upstream id the gateway would rewrite it to).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, replace
from typing import Any

import client
import orjson
import stats
from client import Target
from processes import SIM_VENDOR_KEY, Server, Workspace, start_gateway
from wrk import WrkRequest, run_wrk

P99_BOUNDS_MS = (5, 10, 50)
STREAM_CHUNKS = 20
STREAM_CHUNK_DELAY_MS = 20
HELD_LATENCY_MS = 1500
STALL_GAP_S = 1.0
"""An inter-chunk gap this long (50× the 20 ms pacing) counts as a stall."""


@dataclass(frozen=True)
class Plan:
    """How long and how often each scenario runs (quick or full)."""

    mode: str
    rounds: int
    latency_rate: float
    latency_count: int
    sweep_seconds: int
    concurrencies: tuple[int, ...]
    stream_rate: float
    stream_count: int
    burst_streams: int
    burst_rounds: int
    held_requests: int
    memory_rounds: int


FULL = Plan("full", 5, 250, 750, 3, (1, 16, 64, 256), 20, 60, 1000, 5, 1000, 5)
QUICK = Plan("quick", 3, 250, 400, 1, (1, 16, 64, 256), 20, 30, 1000, 1, 1000, 1)


@dataclass
class Bench:
    """The running servers and the funded key every scenario uses."""

    ws: Workspace
    plan: Plan
    simulator: Server
    gateway: Server
    key: str
    gateway_core: int
    load_core: int
    gateway_extra_env: dict[str, str]
    """Extra gateway environment given with --gateway-env (experiments only; empty normally)."""


def _ms(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def run_async(coro: Coroutine[Any, Any, Any]) -> Any:
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    return uvloop.run(coro)


# ---------------------------------------------------------------------------- requests
UPSTREAM_MODEL = {"gpt-5-4": "gpt-5.4", "claude-sonnet-4-6": "claude-sonnet-4-6"}
"""Catalogue slug → upstream id (bytespike/routing/catalogue.toml); direct runs send the latter."""


def _body(protocol: str, model: str, text: str, *, stream: bool = False, max_tokens: int = 16) -> dict:
    body: dict[str, Any] = {
        "model": model,
        "max_tokens": max_tokens,
        "messages": [{"role": "user", "content": text}],
    }
    if stream:
        body["stream"] = True
        if protocol == "openai_chat":
            body["stream_options"] = {"include_usage": True}
    return body


def pair(
    bench: Bench, protocol: str, text: str = "Hello", *, stream: bool = False, max_tokens: int = 16
) -> tuple[Target, Target]:
    """(gateway, direct) targets for the same request on ``protocol``."""
    if protocol == "openai_chat":
        slug, path = "gpt-5-4", "/v1/chat/completions"

        def auth(key: str) -> dict[str, str]:
            return {"authorization": f"Bearer {key}"}
    else:
        slug, path = "claude-sonnet-4-6", "/v1/messages"

        def auth(key: str) -> dict[str, str]:
            return {"x-api-key": key, "anthropic-version": "2023-06-01"}

    common = {"content-type": "application/json"}
    gateway = Target(
        "gateway",
        bench.gateway.url + path,
        {**common, **auth(bench.key)},
        orjson.dumps(_body(protocol, slug, text, stream=stream, max_tokens=max_tokens)),
    )
    direct = Target(
        "direct",
        bench.simulator.url + path,
        {**common, **auth(SIM_VENDOR_KEY)},
        orjson.dumps(_body(protocol, UPSTREAM_MODEL[slug], text, stream=stream, max_tokens=max_tokens)),
    )
    return gateway, direct


def _ordered(round_index: int, a: Target, b: Target) -> tuple[Target, Target]:
    return (a, b) if round_index % 2 == 0 else (b, a)


# ---------------------------------------------------------------------------- (a) added latency
async def _latency(
    bench: Bench, label: str, gateway: Target, direct: Target, log: Callable[[str], None]
) -> dict:
    """Interleaved fixed-rate rounds of ``gateway`` and ``direct``; medians of the round figures."""
    plan = bench.plan
    rounds = []
    async with client.new_session() as session:
        for target in (gateway, direct):  # warm-up: connections, key cache, code paths
            await client.fixed_rate(session, target, rate=plan.latency_rate, count=200)
        for r in range(plan.rounds):
            row: dict[str, Any] = {"round": r}
            for target in _ordered(r, gateway, direct):
                got = await client.fixed_rate(
                    session, target, rate=plan.latency_rate, count=plan.latency_count
                )
                row[target.name] = {
                    **stats.summary_ms(got.seconds),
                    "statuses": got.statuses,
                    "errors": got.errors,
                }
                if got.overhead_ms:
                    row[target.name]["self_reported_overhead_p50_ms"] = stats.percentile(got.overhead_ms, 50)
            log(
                f"  latency {label} round {r + 1}/{plan.rounds}: gateway p50 {_ms(row['gateway']['p50_ms'], 3)} ms, "
                f"direct p50 {_ms(row['direct']['p50_ms'], 3)} ms"
            )
            rounds.append(row)
    result: dict[str, Any] = {"rounds": rounds}
    for name in ("gateway", "direct"):
        result[name] = stats.median_of_rounds(
            [row[name] for row in rounds], ("p50_ms", "p90_ms", "p99_ms", "max_ms")
        )
    result["gateway"]["self_reported_overhead_p50_ms"] = stats.median(
        [row["gateway"].get("self_reported_overhead_p50_ms") for row in rounds]
    )
    result["added_p50_ms"] = result["gateway"]["p50_ms"] - result["direct"]["p50_ms"]
    result["added_p99_ms"] = result["gateway"]["p99_ms"] - result["direct"]["p99_ms"]
    result["requests_per_round"] = plan.latency_count
    result["rate_per_s"] = plan.latency_rate
    return result


def added_latency(bench: Bench, log: Callable[[str], None]) -> dict:
    return {
        protocol: run_async(_latency(bench, protocol, *pair(bench, protocol), log))
        for protocol in ("openai_chat", "anthropic")
    }


# ---------------------------------------------------------------------------- cross-protocol probe
async def _probe(target: Target) -> tuple[int, str]:
    async with (
        client.new_session() as session,
        session.post(target.url, data=target.body, headers=target.headers) as resp,
    ):
        return resp.status, (await resp.text())[:300]


def cross_protocol(bench: Bench, log: Callable[[str], None]) -> dict:
    """Anthropic caller → OpenAI-served model versus Anthropic caller → Anthropic-served model.

    Each is compared with its own direct request: what the upstream receives (OpenAI chat to
    ``gpt-5.4`` for the translated call). Measured only if this gateway version translates.
    """
    anthropic_headers = {"content-type": "application/json", "anthropic-version": "2023-06-01"}
    cross_gateway = Target(
        "gateway",
        bench.gateway.url + "/v1/messages",
        {**anthropic_headers, "x-api-key": bench.key},
        orjson.dumps(_body("anthropic", "gpt-5-4", "Hello")),
    )
    status, text = run_async(_probe(cross_gateway))
    result: dict[str, Any] = {"supported": status == 200, "probe_status": status, "probe_body": text}
    if status != 200:
        return result
    _, openai_direct = pair(bench, "openai_chat")
    cross = run_async(_latency(bench, "anthropic→openai_chat", cross_gateway, openai_direct, log))
    same = run_async(_latency(bench, "anthropic→anthropic", *pair(bench, "anthropic"), log))
    result.update(
        {
            "cross": cross,
            "same": same,
            "extra_p50_ms": cross["added_p50_ms"] - same["added_p50_ms"],
            "extra_p99_ms": cross["added_p99_ms"] - same["added_p99_ms"],
        }
    )
    return result


# ---------------------------------------------------------------------------- (b) throughput sweep
def throughput(bench: Bench, log: Callable[[str], None]) -> dict:
    plan = bench.plan
    gateway, direct = pair(bench, "openai_chat")
    requests = {t.name: WrkRequest(t.url, t.headers, t.body) for t in (gateway, direct)}
    for name in ("gateway", "direct"):  # warm-up
        run_wrk(requests[name], connections=16, seconds=1, core=bench.load_core, workdir=bench.ws.dir)
    per: dict[str, dict[int, list[dict]]] = {n: {c: [] for c in plan.concurrencies} for n in requests}
    for r in range(plan.rounds):
        for c in plan.concurrencies:
            names = ("gateway", "direct") if (r + c) % 2 == 0 else ("direct", "gateway")
            for name in names:
                cpu = {"gateway": bench.gateway.cpu_seconds(), "simulator": bench.simulator.cpu_seconds()}
                started = time.perf_counter()
                got = run_wrk(
                    requests[name],
                    connections=c,
                    seconds=plan.sweep_seconds,
                    core=bench.load_core,
                    workdir=bench.ws.dir,
                )
                wall = time.perf_counter() - started
                got["gateway_cpu_pct"] = 100 * (bench.gateway.cpu_seconds() - cpu["gateway"]) / wall
                got["simulator_cpu_pct"] = 100 * (bench.simulator.cpu_seconds() - cpu["simulator"]) / wall
                got["round"] = r
                per[name][c].append(got)
        summary = ", ".join(
            f"c={c}: {per['gateway'][c][-1]['rps']:.0f}/{per['direct'][c][-1]['rps']:.0f}"
            for c in plan.concurrencies
        )
        log(f"  throughput round {r + 1}/{plan.rounds} (req/s gateway/direct): {summary}")
    keys = (
        "rps",
        "p50_ms",
        "p90_ms",
        "p99_ms",
        "max_ms",
        "errors",
        "non_2xx",
        "gateway_cpu_pct",
        "simulator_cpu_pct",
    )
    result: dict[str, Any] = {"seconds_per_run": plan.sweep_seconds, "rounds": plan.rounds}
    for name in requests:
        points = []
        for c in plan.concurrencies:
            points.append(
                {"connections": c, **stats.median_of_rounds(per[name][c], keys), "runs": per[name][c]}
            )
        best = {}
        for bound in P99_BOUNDS_MS:
            fitting = [p for p in points if p["p99_ms"] is not None and p["p99_ms"] <= bound]
            top = max(fitting, key=lambda p: p["rps"], default=None)
            best[f"p99_le_{bound}ms"] = (
                None
                if top is None
                else {"rps": top["rps"], "connections": top["connections"], "p99_ms": top["p99_ms"]}
            )
        result[name] = {"points": points, "best_under_p99": best, "max_rps": max(p["rps"] for p in points)}
    return result


# ---------------------------------------------------------------------------- (c) streaming
STREAM_TEXT = f"[[sim:chunks={STREAM_CHUNKS},chunk_delay_ms={STREAM_CHUNK_DELAY_MS},words=40]] Hello"


def _stream_round(timings: list[client.StreamTiming]) -> dict[str, Any]:
    first = [t.first_content_s for t in timings if t.first_content_s is not None]
    gaps = [g for t in timings for g in t.gaps_s]
    complete = [t for t in timings if t.status == 200 and t.done and len(t.content_times) == STREAM_CHUNKS]
    frames = [t.frames for t in timings if t.status == 200 and t.frames]
    return {
        "streams": len(timings),
        "complete": len(complete),
        "failed": sum(1 for t in timings if t.status != 200 or (t.error and not t.frames)),
        "lost_content_frames": sum(
            max(0, STREAM_CHUNKS - len(t.content_times)) for t in timings if t.status == 200 and t.frames
        ),
        "frames_min": min(frames) if frames else None,
        "frames_max": max(frames) if frames else None,
        "not_done": sum(1 for t in timings if not t.done),
        "errors": [t.error or f"HTTP {t.status}" for t in timings if t.error or t.status != 200][:5],
        "stalled": sum(
            1 for t in timings if t.frames and (not t.done or any(g >= STALL_GAP_S for g in t.gaps_s))
        ),
        "first_content_p50_ms": stats.percentile([s * 1000 for s in first], 50),
        "first_content_p99_ms": stats.percentile([s * 1000 for s in first], 99),
        "gap_p50_ms": stats.percentile([g * 1000 for g in gaps], 50),
        "gap_p99_ms": stats.percentile([g * 1000 for g in gaps], 99),
        "gap_max_ms": max(gaps) * 1000 if gaps else None,
        "wall_s": max(t.end for t in timings) - min(t.due for t in timings) if timings else None,
    }


_STREAM_KEYS = (
    "first_content_p50_ms",
    "first_content_p99_ms",
    "gap_p50_ms",
    "gap_p99_ms",
    "gap_max_ms",
    "wall_s",
    "complete",
    "failed",
    "lost_content_frames",
    "stalled",
    "frames_min",
    "frames_max",
)


async def _streaming(bench: Bench, log: Callable[[str], None]) -> dict:
    plan = bench.plan
    gateway, direct = pair(bench, "openai_chat", STREAM_TEXT, stream=True, max_tokens=256)
    kind_of = client.frame_kind_openai_chat
    paced: dict[str, list[dict]] = {"gateway": [], "direct": []}
    burst: dict[str, list[dict]] = {"gateway": [], "direct": []}
    async with client.new_session() as session:
        for target in (gateway, direct):
            await client.streams_at_rate(session, target, kind_of, rate=plan.stream_rate, count=10)
        for r in range(plan.rounds):
            for target in _ordered(r, gateway, direct):
                timings = await client.streams_at_rate(
                    session, target, kind_of, rate=plan.stream_rate, count=plan.stream_count
                )
                paced[target.name].append({"round": r, **_stream_round(timings)})
            log(
                f"  streaming round {r + 1}/{plan.rounds}: first delta gateway "
                f"{_ms(paced['gateway'][-1]['first_content_p50_ms'])} ms / direct "
                f"{_ms(paced['direct'][-1]['first_content_p50_ms'])} ms; complete "
                f"{paced['gateway'][-1]['complete']}/{paced['direct'][-1]['complete']} of {plan.stream_count}"
                + "".join(f"; {t} errors: {paced[t][-1]['errors']}" for t in paced if paced[t][-1]["errors"])
            )
    for r in range(plan.burst_rounds):
        for target in _ordered(r, gateway, direct):
            # A fresh session per burst: every stream opens its own connection, as 1,000 callers would.
            async with client.new_session() as session:
                timings = await client.streams_at_once(session, target, kind_of, count=plan.burst_streams)
            burst[target.name].append({"round": r, **_stream_round(timings)})
            b = burst[target.name][-1]
            log(
                f"  {plan.burst_streams} streams round {r + 1}/{plan.burst_rounds} {target.name}: complete {b['complete']}, "
                f"failed {b['failed']}, lost frames {b['lost_content_frames']}, stalled {b['stalled']}, max gap {_ms(b['gap_max_ms'], 0)} ms, wall {_ms(b['wall_s'])} s"
                + (f", errors {b['errors']}" if b["errors"] else "")
            )
    result: dict[str, Any] = {
        "chunks": STREAM_CHUNKS,
        "chunk_delay_ms": STREAM_CHUNK_DELAY_MS,
        "stall_gap_s": STALL_GAP_S,
        "paced": {"rate_per_s": plan.stream_rate, "streams_per_round": plan.stream_count},
        "concurrent": {"streams": plan.burst_streams, "rounds": plan.burst_rounds},
    }
    for name in ("gateway", "direct"):
        result["paced"][name] = {**stats.median_of_rounds(paced[name], _STREAM_KEYS), "rounds": paced[name]}
        result["concurrent"][name] = {
            **stats.median_of_rounds(burst[name], _STREAM_KEYS),
            "rounds": burst[name],
        }
        result["concurrent"][name]["total_lost_content_frames"] = sum(
            b["lost_content_frames"] for b in burst[name]
        )
        result["concurrent"][name]["total_stalled"] = sum(b["stalled"] for b in burst[name])
        result["concurrent"][name]["total_failed"] = sum(b["failed"] for b in burst[name])
    g, d = result["paced"]["gateway"], result["paced"]["direct"]
    result["paced"]["added_first_content_p50_ms"] = g["first_content_p50_ms"] - d["first_content_p50_ms"]
    result["paced"]["added_first_content_p99_ms"] = g["first_content_p99_ms"] - d["first_content_p99_ms"]
    result["paced"]["added_gap_p50_ms"] = g["gap_p50_ms"] - d["gap_p50_ms"]
    result["paced"]["added_gap_p99_ms"] = g["gap_p99_ms"] - d["gap_p99_ms"]
    return result


def streaming(bench: Bench, log: Callable[[str], None]) -> dict:
    return run_async(_streaming(bench, log))


# ---------------------------------------------------------------------------- (d) memory
HELD_TEXT = f"[[sim:latency_ms={HELD_LATENCY_MS}]] Hello"


async def _memory_round(bench: Bench, gateway: Server) -> dict:
    plain = replace(bench, gateway=gateway)
    cold_idle = gateway.rss_kib()
    small, _ = pair(plain, "openai_chat")
    held, _ = pair(plain, "openai_chat", HELD_TEXT)
    async with client.new_session() as session:
        await client.fixed_rate(session, small, rate=500, count=500)
        await client.fixed_rate(session, held, rate=100, count=10)
    await asyncio.sleep(1.0)
    idle = gateway.rss_kib()
    async with client.new_session() as session:
        burst = await client.held_burst(
            session, held, count=bench.plan.held_requests, rss_kib=gateway.rss_kib
        )
    await asyncio.sleep(1.0)
    after = gateway.rss_kib()
    # Only samples taken before the first answer came back have every request still open.
    open_window = [rss for t, rss in burst.rss_samples if t < burst.first_done_s]
    peak = max(open_window) if open_window else max(rss for _, rss in burst.rss_samples)
    return {
        "cold_idle_kib": cold_idle,
        "idle_kib": idle,
        "peak_kib": peak,
        "after_kib": after,
        "per_request_kib": (peak - idle) / bench.plan.held_requests,
        "statuses": burst.statuses,
        "errors": burst.errors,
        "first_done_s": burst.first_done_s,
        "last_done_s": burst.last_done_s,
        "samples_while_open": len(open_window),
    }


def memory(bench: Bench, log: Callable[[str], None]) -> dict:
    """Idle RSS and RSS per in-flight request, on a fresh gateway process per round."""
    rounds = []
    for r in range(bench.plan.memory_rounds):
        gateway = start_gateway(
            bench.ws,
            bench.simulator.url,
            core=bench.gateway_core,
            name=f"gateway-memory-{r}",
            extra_env=bench.gateway_extra_env,
        )
        try:
            row = run_async(_memory_round(bench, gateway))
        finally:
            gateway.stop()
        row["round"] = r
        rounds.append(row)
        log(
            f"  memory round {r + 1}/{bench.plan.memory_rounds}: idle {row['idle_kib'] / 1024:.1f} MiB, "
            f"peak {row['peak_kib'] / 1024:.1f} MiB, {row['per_request_kib']:.1f} KiB/request, statuses {row['statuses']}"
        )
    keys = (
        "cold_idle_kib",
        "idle_kib",
        "peak_kib",
        "after_kib",
        "per_request_kib",
        "first_done_s",
        "last_done_s",
    )
    return {
        "held_requests": bench.plan.held_requests,
        "upstream_latency_ms": HELD_LATENCY_MS,
        **stats.median_of_rounds(rounds, keys),
        "rounds": rounds,
    }


# ---------------------------------------------------------------------------- (e) LiteLLM side by side
LITELLM_LATENCY_RATE = 25
"""Requests/s of LiteLLM's concurrency-1 latency scenario (bytespike's is Plan.latency_rate)."""


def litellm_side_by_side(
    bench: Bench,
    litellm: Server,
    master_key: str,
    version: str,
    log: Callable[[str], None],
    wanted: frozenset[str] = frozenset({"latency", "throughput"}),
) -> dict:
    """The added-latency (OpenAI chat, c=1) and throughput-sweep scenarios with LiteLLM as the gateway.

    The same simulator, the same request (``gpt-5-4``, which LiteLLM's config maps to
    ``openai/gpt-5.4`` at the simulator) and the same core as bytespike; in the result, ``gateway``
    is LiteLLM and ``direct`` the simulator, exactly as in the bytespike scenarios.
    """
    other = replace(bench, gateway=litellm, key=master_key)
    result: dict[str, Any] = {"version": version}
    if "latency" in wanted:
        # LiteLLM serves far fewer requests/s than bytespike's 250/s latency rate: at that rate the
        # open-loop client would measure its queue, not one request at a time. A lower rate (with
        # its own interleaved direct baseline) keeps it at concurrency 1.
        slow = replace(
            other,
            plan=replace(
                bench.plan,
                latency_rate=LITELLM_LATENCY_RATE,
                latency_count=max(100, bench.plan.latency_count // 4),
            ),
        )
        latency = run_async(_latency(slow, "litellm openai_chat", *pair(slow, "openai_chat"), log))
        result["added_latency"] = {"openai_chat": latency}
    if "throughput" in wanted:
        result["throughput"] = throughput(other, log)
    return result
