"""``python -m bytespike.simulator``: serve the vendor simulator from the command line."""

from __future__ import annotations

import argparse

from bytespike.simulator.config import SimulatorConfig
from bytespike.simulator.server import run_simulator


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bytespike.simulator",
        description="Deterministic fake of the Anthropic, OpenAI and Gemini APIs.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--api-key", default=None, help="require this key (default: any non-empty key)")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="delay before each response")
    parser.add_argument("--chunk-delay-ms", type=float, default=0.0, help="pause between stream chunks")
    parser.add_argument(
        "--chunks", type=int, default=None, help="text deltas per stream (default: one per word)"
    )
    parser.add_argument("--record", type=int, default=200, help="recent requests kept for /_sim/requests")
    args = parser.parse_args(argv)
    config = SimulatorConfig(
        api_key=args.api_key,
        latency_ms=args.latency_ms,
        chunk_delay_ms=args.chunk_delay_ms,
        chunks=args.chunks,
        record=args.record,
    )
    run_simulator(args.host, args.port, config)


if __name__ == "__main__":
    main()
