"""The open-loop asyncio client: latency at a fixed rate, stream timings, bursts of held requests.

Open loop means request ``i`` is due at ``start + i / rate`` whether or not earlier ones have
answered, and its latency is counted from that due time (so a slow server cannot hide queueing by
slowing the client down: no coordinated omission). Streams are read frame by frame with a
timestamp per network read, which is what a caller's SDK sees.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import aiohttp
import orjson

OTHER, CONTENT, DONE = 0, 1, 2
"""What an SSE frame is to the stream checks: a content delta, the protocol's end, or anything else."""


@dataclass(frozen=True)
class Target:
    """One request, as sent to one server (gateway or direct)."""

    name: str
    url: str
    headers: dict[str, str]
    body: bytes


def frame_kind_openai_chat(frame: bytes) -> int:
    for line in frame.split(b"\n"):
        if line.startswith(b"data:"):
            payload = line[5:].strip()
            if payload == b"[DONE]":
                return DONE
            obj = orjson.loads(payload)
            choices = obj.get("choices")
            if choices and (choices[0].get("delta") or {}).get("content"):
                return CONTENT
    return OTHER


def frame_kind_anthropic(frame: bytes) -> int:
    if frame.startswith(b"event: content_block_delta"):
        return CONTENT
    if frame.startswith(b"event: message_stop"):
        return DONE
    return OTHER


def new_session(limit: int = 0) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=limit, limit_per_host=limit),
        timeout=aiohttp.ClientTimeout(total=120, sock_read=60),
        skip_auto_headers=("User-Agent",),
    )


# ---------------------------------------------------------------------------- plain requests
@dataclass
class Latencies:
    seconds: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    overhead_ms: list[float] = field(default_factory=list)
    """The gateway's self-reported ``X-ByteSpike-Overhead-Ms`` (empty for direct runs)."""


async def _one(session: aiohttp.ClientSession, target: Target, due: float, out: Latencies) -> None:
    try:
        async with session.post(target.url, data=target.body, headers=target.headers) as resp:
            body = await resp.read()
            end = time.perf_counter()
            out.statuses[resp.status] = out.statuses.get(resp.status, 0) + 1
            overhead = resp.headers.get("x-bytespike-overhead-ms")
            if overhead is not None:
                out.overhead_ms.append(float(overhead))
            if resp.status == 200:
                out.seconds.append(end - due)
            elif len(out.errors) < 5:
                out.errors.append(f"HTTP {resp.status}: {body[:300].decode(errors='replace')}")
    except (aiohttp.ClientError, TimeoutError) as exc:
        if len(out.errors) < 5:
            out.errors.append(repr(exc))
        out.statuses[0] = out.statuses.get(0, 0) + 1


async def fixed_rate(session: aiohttp.ClientSession, target: Target, *, rate: float, count: int) -> Latencies:
    """``count`` requests due at ``rate`` per second; latency from each one's due time."""
    out = Latencies()
    tasks = []
    start = time.perf_counter() + 0.01
    for i in range(count):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(_one(session, target, due, out)))
    await asyncio.gather(*tasks)
    return out


# ---------------------------------------------------------------------------- streams
@dataclass
class StreamTiming:
    due: float
    status: int = 0
    content_times: list[float] = field(default_factory=list)
    frames: int = 0
    done: bool = False
    error: str | None = None
    end: float = 0.0

    @property
    def first_content_s(self) -> float | None:
        return self.content_times[0] - self.due if self.content_times else None

    @property
    def gaps_s(self) -> list[float]:
        t = self.content_times
        return [b - a for a, b in itertools.pairwise(t)]


async def _stream(
    session: aiohttp.ClientSession, target: Target, due: float, kind_of: Callable[[bytes], int]
) -> StreamTiming:
    timing = StreamTiming(due)
    buffer = b""
    try:
        async with session.post(target.url, data=target.body, headers=target.headers) as resp:
            timing.status = resp.status
            if resp.status != 200:
                timing.error = f"HTTP {resp.status}: {(await resp.text())[:300]}"
                timing.end = time.perf_counter()
                return timing
            async for chunk in resp.content.iter_any():
                now = time.perf_counter()
                buffer += chunk
                while True:
                    cut = buffer.find(b"\n\n")
                    if cut < 0:
                        break
                    frame, buffer = buffer[:cut], buffer[cut + 2 :]
                    if not frame.strip():
                        continue
                    timing.frames += 1
                    kind = kind_of(frame)
                    if kind == CONTENT:
                        timing.content_times.append(now)
                    elif kind == DONE:
                        timing.done = True
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        timing.error = repr(exc)
    timing.end = time.perf_counter()
    return timing


async def streams_at_rate(
    session: aiohttp.ClientSession,
    target: Target,
    kind_of: Callable[[bytes], int],
    *,
    rate: float,
    count: int,
) -> list[StreamTiming]:
    tasks = []
    start = time.perf_counter() + 0.01
    for i in range(count):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(_stream(session, target, due, kind_of)))
    return list(await asyncio.gather(*tasks))


async def streams_at_once(
    session: aiohttp.ClientSession, target: Target, kind_of: Callable[[bytes], int], *, count: int
) -> list[StreamTiming]:
    """``count`` streams opened together (each on its own connection), all read to the end."""
    due = time.perf_counter()
    return list(await asyncio.gather(*(_stream(session, target, due, kind_of) for _ in range(count))))


# ---------------------------------------------------------------------------- held requests
@dataclass
class HeldBurst:
    statuses: dict[int, int]
    errors: list[str]
    first_done_s: float
    last_done_s: float
    rss_samples: list[tuple[float, int]]
    """(seconds since the burst started, RSS KiB) sampled while the requests were open."""


async def held_burst(
    session: aiohttp.ClientSession,
    target: Target,
    *,
    count: int,
    rss_kib: Callable[[], int],
    sample_every_s: float = 0.02,
) -> HeldBurst:
    """Open ``count`` slow requests at once and sample the server's RSS until they all answer."""
    start = time.perf_counter()
    done_at: list[float] = []
    statuses: dict[int, int] = {}
    errors: list[str] = []
    samples: list[tuple[float, int]] = []

    async def one() -> None:
        try:
            async with session.post(target.url, data=target.body, headers=target.headers) as resp:
                body = await resp.read()
                statuses[resp.status] = statuses.get(resp.status, 0) + 1
                if resp.status != 200 and len(errors) < 5:
                    errors.append(f"HTTP {resp.status}: {body[:300].decode(errors='replace')}")
        except (aiohttp.ClientError, TimeoutError) as exc:
            statuses[0] = statuses.get(0, 0) + 1
            if len(errors) < 5:
                errors.append(repr(exc))
        done_at.append(time.perf_counter() - start)

    async def sample() -> None:
        while True:
            samples.append((time.perf_counter() - start, rss_kib()))
            await asyncio.sleep(sample_every_s)

    sampler = asyncio.create_task(sample())
    await asyncio.gather(*(one() for _ in range(count)))
    sampler.cancel()
    return HeldBurst(statuses, errors, min(done_at), max(done_at), samples)
