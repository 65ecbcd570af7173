"""The README's first command: `bytespike serve` on the embedded default prints a URL and a key
that work at once against the built-in simulator, through every protocol."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import time

import aiohttp

from tests.support.processes import free_port


async def test_embedded_default_prints_a_working_key(tmp_path) -> None:
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("BYTESPIKE_", "ANTHROPIC_", "OPENAI_", "GEMINI_"))
    }
    env["BYTESPIKE_DATA_DIR"] = str(tmp_path)
    proc = subprocess.Popen(
        [sys.executable, "-m", "bytespike", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        lines: list[str] = []
        key = None
        deadline = time.monotonic() + 30
        while key is None and time.monotonic() < deadline:
            line = proc.stdout.readline()  # type: ignore[union-attr]
            if not line:
                break
            lines.append(line)
            m = re.match(r"key: (sk-byts-\w+)", line)
            key = m.group(1) if m else None
        assert key, "".join(lines)
        assert f"http://127.0.0.1:{port}" in "".join(lines) and "simulator" in "".join(lines)
        url = f"http://127.0.0.1:{port}"
        async with aiohttp.ClientSession() as s:
            for _ in range(100):
                try:
                    async with s.get(url + "/healthz") as r:
                        if r.status == 200:
                            break
                except aiohttp.ClientError:
                    await asyncio.sleep(0.1)
            bodies = [
                (
                    "/v1/messages",
                    {"model": "gpt-5-4", "max_tokens": 50, "messages": [{"role": "user", "content": "hi"}]},
                ),
                (
                    "/v1/chat/completions",
                    {"model": "claude-haiku-4-5", "messages": [{"role": "user", "content": "hi"}]},
                ),
                (
                    "/v1beta/models/deepseek-v4-pro:generateContent",
                    {"contents": [{"parts": [{"text": "hi"}]}]},
                ),
            ]
            remaining = []
            for path, body in bodies:
                async with s.post(url + path, json=body, headers={"authorization": f"Bearer {key}"}) as r:
                    assert r.status == 200, await r.text()
                    remaining.append(int(r.headers["x-bytespike-quota-remaining-micros"]))
            # $100 of demo credit, and each answered request was charged something.
            assert remaining[0] < 100_000_000 and remaining[0] > remaining[1] > remaining[2]
    finally:
        proc.terminate()
        proc.wait(15)
    # A second start reuses the same user and key rather than minting new ones.
    proc = subprocess.Popen(
        [sys.executable, "-m", "bytespike", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        again = None
        for _ in range(20):
            line = proc.stdout.readline()  # type: ignore[union-attr]
            m = re.match(r"key: (sk-byts-\w+)", line)
            if m:
                again = m.group(1)
                break
        assert again == key
    finally:
        proc.terminate()
        proc.wait(15)
