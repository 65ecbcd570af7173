"""Closed-loop load with wrk (Debian's package), pinned to the load core.

wrk sends one fixed POST (body and headers from a generated Lua script) on ``c`` keep-alive
connections for a fixed time. The script's ``done`` hook prints one JSON line with the counts and
the latency percentiles from wrk's own histogram, so nothing is scraped from its text report.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

RESULT_MARK = "BENCH_JSON "

_DONE_HOOK = r"""
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,'
    .. '"errors_connect":%d,"errors_read":%d,"errors_write":%d,"errors_timeout":%d,"errors_status":%d,'
    .. '"p50_us":%d,"p90_us":%d,"p99_us":%d,"p999_us":%d,"max_us":%d,"mean_us":%.1f}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.timeout, e.status,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9),
    latency.max, latency.mean))
end
"""


@dataclass(frozen=True)
class WrkRequest:
    """The one request a wrk run repeats."""

    url: str
    headers: dict[str, str]
    body: bytes


def _lua_string(text: str) -> str:
    level = "=" * 4
    assert f"]{level}]" not in text
    return f"[{level}[{text}]{level}]"


def write_script(request: WrkRequest, directory: Path) -> Path:
    lines = ['wrk.method = "POST"', f"wrk.body = {_lua_string(request.body.decode())}"]
    for name, value in request.headers.items():
        lines.append(f"wrk.headers[ {_lua_string(name)} ] = {_lua_string(value)}")
    with tempfile.NamedTemporaryFile("w", suffix=".lua", dir=directory, delete=False) as handle:
        handle.write("\n".join(lines) + "\n" + _DONE_HOOK)
    return Path(handle.name)


def run_wrk(
    request: WrkRequest, *, connections: int, seconds: float, core: int, workdir: Path, timeout_s: int = 10
) -> dict[str, float | int]:
    """One wrk run (one thread, pinned to ``core``); requests/s, latency percentiles in ms, errors."""
    script = write_script(request, workdir)
    try:
        done = subprocess.run(
            [
                "taskset",
                "-c",
                str(core),
                "wrk",
                "-t1",
                f"-c{connections}",
                f"-d{max(1, round(seconds))}s",
                f"--timeout={timeout_s}s",
                "-s",
                str(script),
                request.url,
            ],
            capture_output=True,
            text=True,
            timeout=seconds + timeout_s + 30,
            check=False,
        )
    finally:
        script.unlink(missing_ok=True)
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith(RESULT_MARK)), None)
    if line is None:
        raise RuntimeError(f"wrk gave no result (exit {done.returncode}):\n{done.stdout}\n{done.stderr}")
    raw = json.loads(line[len(RESULT_MARK) :])
    seconds_run = raw["duration_us"] / 1e6
    errors = sum(raw[k] for k in raw if k.startswith("errors_"))
    return {
        "connections": connections,
        "requests": raw["requests"],
        "seconds": seconds_run,
        "rps": raw["requests"] / seconds_run if seconds_run else 0.0,
        "p50_ms": raw["p50_us"] / 1000,
        "p90_ms": raw["p90_us"] / 1000,
        "p99_ms": raw["p99_us"] / 1000,
        "p999_ms": raw["p999_us"] / 1000,
        "max_ms": raw["max_us"] / 1000,
        "errors": errors,
        "non_2xx": raw["errors_status"],
    }
