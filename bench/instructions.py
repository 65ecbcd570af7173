"""Instructions the gateway executes per request, counted by valgrind's callgrind.

    .venv/bin/python bench/instructions.py [--requests 300] [GIT_REF ...]

Wall-clock and even CPU-time figures move by ±15 % or more on these shared machines; an
instruction count does not (the same code, request and environment give the same count within
about 2 %, whatever else the machine runs). So this is how docs/performance.md says what each
optimisation bought: for each ref (default: the working tree), the embedded-default gateway runs
under ``valgrind --tool=callgrind`` with instrumentation off, takes 200 warm-up requests, then
counts the instructions of ``--requests`` sequential small OpenAI chat requests (concurrency 1,
0 ms upstream, the simulator outside valgrind) and prints the count per request. It counts user
space only (no kernel time), and Python's own interpreter loop dominates it.
"""

from __future__ import annotations

import argparse
import glob
import http.client
import json
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import processes

BODY = json.dumps(
    {"model": "gpt-5-4", "max_tokens": 16, "messages": [{"role": "user", "content": "hello there"}]}
).encode()


def _fire(port: int, key: str, n: int) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    headers = {"authorization": "Bearer " + key, "content-type": "application/json"}
    for _ in range(n):
        conn.request("POST", "/v1/chat/completions", body=BODY, headers=headers)
        resp = conn.getresponse()
        resp.read()
        if resp.status != 200:
            raise RuntimeError(f"HTTP {resp.status}")
    conn.close()


def _total_instructions(out: Path) -> int:
    total = 0
    for path in glob.glob(str(out) + "*"):
        for line in Path(path).read_text(errors="replace").splitlines():
            if line.startswith(("summary:", "totals:")):
                total = max(total, int(line.split()[1]))
    return total


def measure(ref: str | None, requests: int) -> float:
    """Thousands of instructions per request for the gateway at ``ref`` (None: working tree)."""
    with tempfile.TemporaryDirectory(prefix="bytespike-instructions-") as tmp:
        workdir = Path(tmp)
        ws = processes.Workspace(workdir, processes.snapshot_code(workdir, ref))
        simulator = processes.start_simulator(ws, core=1)
        proc = None
        try:
            key = processes.create_funded_key(ws, simulator.url)
            port = processes.free_port()
            out = workdir / "callgrind.out"
            env = processes._clean_env(ws.code, processes.gateway_env(ws, simulator.url))
            with (workdir / "gateway.log").open("wb") as log:
                proc = subprocess.Popen(
                    ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}",
                     sys.executable, "-m", "bytespike", "serve", "--port", str(port)],
                    env=env, cwd=workdir, stdout=log, stderr=subprocess.STDOUT,
                )
                deadline = time.monotonic() + 600
                while True:
                    try:
                        urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5)
                        break
                    except OSError:
                        if time.monotonic() > deadline or proc.poll() is not None:
                            raise RuntimeError("the gateway did not start under valgrind") from None
                        time.sleep(0.5)
                _fire(port, key, 200)
                subprocess.run(["callgrind_control", "-i", "on", str(proc.pid)], check=True, capture_output=True)
                _fire(port, key, requests)
                subprocess.run(["callgrind_control", "-i", "off", str(proc.pid)], check=True, capture_output=True)
                subprocess.run(["callgrind_control", "-d", str(proc.pid)], check=True, capture_output=True)
                time.sleep(1)
                return _total_instructions(out) / requests / 1000
        finally:
            if proc is not None:
                proc.terminate()
                proc.wait(60)
            simulator.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("refs", nargs="*", help="git refs to measure (default: the working tree)")
    args = parser.parse_args()
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        print("bench/instructions.py needs valgrind (apt-get install valgrind)", file=sys.stderr)
        return 2
    for ref in args.refs or [None]:
        print(f"{ref or 'working tree'}: {measure(ref, args.requests):,.1f} k instructions per request", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
