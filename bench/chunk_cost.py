"""CPU the gateway spends per stream chunk, relayed and translated.

Wall-clock gaps between chunks are dominated by the 20 ms pacing and by the machine's noise; the
cost of one chunk is a few microseconds of CPU. So this scenario counts CPU: the gateway process's
CPU time over ``STREAMS`` streams of 40 words cut into ``CHUNKS`` deltas, minus the same over
streams of the same 40 words in one delta, divided by the extra chunks. The same request shape is
measured relayed (OpenAI chat caller → OpenAI upstream) and translated (Anthropic caller →
OpenAI upstream, every frame decoded, re-encoded and re-framed).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import client
import orjson
import stats
from client import Target
from scenarios import Bench, pair, run_async

CHUNKS = 40
STREAMS = 200
RATE = 100


def _text(chunks: int) -> str:
    return f"[[sim:chunks={chunks},chunk_delay_ms=0,words=40]] Hello"


def _translated(bench: Bench, chunks: int) -> Target:
    body = {"model": "gpt-5-4", "max_tokens": 256, "stream": True, "messages": [{"role": "user", "content": _text(chunks)}]}
    return Target(
        "translated",
        bench.gateway.url + "/v1/messages",
        {"content-type": "application/json", "anthropic-version": "2023-06-01", "x-api-key": bench.key},
        orjson.dumps(body),
    )


def _relayed(bench: Bench, chunks: int) -> Target:
    gateway, _ = pair(bench, "openai_chat", _text(chunks), stream=True, max_tokens=256)
    return replace(gateway, name="relayed")


async def _cpu_per_stream(bench: Bench, target: Target, kind_of: Callable[[bytes], int]) -> dict[str, Any]:
    async with client.new_session() as session:
        await client.streams_at_rate(session, target, kind_of, rate=RATE, count=20)
        before = bench.gateway.cpu_seconds()
        timings = await client.streams_at_rate(session, target, kind_of, rate=RATE, count=STREAMS)
        spent = bench.gateway.cpu_seconds() - before
    complete = sum(1 for t in timings if t.status == 200 and t.done)
    return {"us_per_stream": spent / STREAMS * 1e6, "complete": complete, "content_frames": len(timings[0].content_times) if timings else 0}


def chunk_cost(bench: Bench, log: Callable[[str], None]) -> dict[str, Any]:
    out: dict[str, Any] = {"chunks": CHUNKS, "streams": STREAMS}
    for name, make, kind_of in (
        ("relayed", _relayed, client.frame_kind_openai_chat),
        ("translated", _translated, client.frame_kind_anthropic),
    ):
        rounds = []
        for _ in range(bench.plan.rounds):
            many = run_async(_cpu_per_stream(bench, make(bench, CHUNKS), kind_of))
            one = run_async(_cpu_per_stream(bench, make(bench, 1), kind_of))
            rounds.append(
                {
                    "us_per_chunk": (many["us_per_stream"] - one["us_per_stream"]) / (CHUNKS - 1),
                    "us_per_stream_many": many["us_per_stream"],
                    "us_per_stream_one": one["us_per_stream"],
                    "complete": min(many["complete"], one["complete"]),
                    "content_frames": many["content_frames"],
                }
            )
        out[name] = {**stats.median_of_rounds(rounds, ("us_per_chunk", "us_per_stream_many", "us_per_stream_one")), "rounds": rounds}
        log(f"  {name}: {out[name]['us_per_chunk']:.1f} µs of gateway CPU per chunk ({rounds[-1]['complete']}/{STREAMS} streams complete)")
    out["translation_extra_us_per_chunk"] = out["translated"]["us_per_chunk"] - out["relayed"]["us_per_chunk"]
    return out
