"""CPU per upstream call: aiohttp's ClientSession versus bytespike's HTTP/1.1 pool.

    .venv/bin/python bench/client_cost.py [--requests 4000] [--concurrency 16] [--rounds 3]

Starts the simulator on the load core, then in a child process pinned to the gateway core runs
the same small OpenAI chat request through each client, interleaved round by round, and prints
the client process's CPU time per request (user + system, so it counts what the gateway would
pay, not the wall clock, which the shared machine makes noisy). The figure behind the choice in
upstreams/http1.py's docstring.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import processes

BODY = json.dumps(
    {"model": "gpt-5.4", "max_tokens": 16, "messages": [{"role": "user", "content": "hello there"}]}
).encode()
HEADERS = [("authorization", "Bearer " + processes.SIM_VENDOR_KEY), ("content-type", "application/json")]


async def _aiohttp(url: str, n: int, conc: int) -> float:
    import aiohttp

    session = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=4096), skip_auto_headers=("User-Agent",)
    )

    async def one() -> None:
        resp = await session.post(url, data=BODY, headers=HEADERS)
        await resp.read()

    try:
        return await _measure(one, n, conc)
    finally:
        await session.close()


async def _http1(url: str, n: int, conc: int) -> float:
    from bytespike.upstreams.http1 import Http1Pool

    pool = Http1Pool(connect_timeout=10, read_timeout=60)

    async def one() -> None:
        await (await pool.request("POST", url, HEADERS, BODY)).read()

    try:
        return await _measure(one, n, conc)
    finally:
        await pool.close()


async def _measure(one, n: int, conc: int) -> float:  # type: ignore[no-untyped-def]
    await asyncio.gather(*(one() for _ in range(conc)))  # open the connections first

    async def worker() -> None:
        for _ in range(n // conc):
            await one()

    started = time.process_time()
    await asyncio.gather(*(worker() for _ in range(conc)))
    return (time.process_time() - started) / (n // conc * conc) * 1e6


def _child(url: str, client: str, n: int, conc: int) -> None:
    import uvloop

    run = _aiohttp if client == "aiohttp" else _http1
    print(json.dumps({"us_per_request": uvloop.run(run(url, n, conc))}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--gateway-core", type=int, default=0)
    parser.add_argument("--load-core", type=int, default=1)
    parser.add_argument("--child", nargs=2, metavar=("URL", "CLIENT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child[0], args.child[1], args.requests, args.concurrency)
        return
    figures: dict[str, list[float]] = {"aiohttp": [], "http1": []}
    with tempfile.TemporaryDirectory(prefix="bytespike-client-cost-") as tmp:
        workdir = Path(tmp)
        ws = processes.Workspace(workdir, processes.snapshot_code(workdir))
        simulator = processes.start_simulator(ws, core=args.load_core)
        url = simulator.url + "/v1/chat/completions"
        try:
            for round_index in range(args.rounds):
                order = ["aiohttp", "http1"] if round_index % 2 == 0 else ["http1", "aiohttp"]
                for client in order:
                    done = subprocess.run(
                        ["taskset", "-c", str(args.gateway_core), sys.executable, __file__, "--child", url, client,
                         "--requests", str(args.requests), "--concurrency", str(args.concurrency)],
                        capture_output=True, text=True, check=True,
                        env={"PYTHONPATH": str(ws.code.path), "PATH": "/usr/bin:/bin"},
                    )
                    figures[client].append(json.loads(done.stdout.splitlines()[-1])["us_per_request"])
                print(f"round {round_index + 1}: " + ", ".join(f"{c} {v[-1]:.1f} µs" for c, v in figures.items()))
        finally:
            simulator.stop()
    a, h = statistics.median(figures["aiohttp"]), statistics.median(figures["http1"])
    print(f"median client CPU per request: aiohttp {a:.1f} µs, http1 {h:.1f} µs ({a / h:.1f}× less)")


if __name__ == "__main__":
    main()
