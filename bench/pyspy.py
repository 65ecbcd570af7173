"""Sampling the gateway under load with py-spy, and ranking functions by self and total time.

Optional (``--profile``): py-spy is not a project dependency; install it into the venv
(``.venv/bin/pip install py-spy``) to use this. The raw collapsed stacks are kept beside the
results so a flame graph can be drawn from them later.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

from processes import Server
from wrk import WrkRequest, write_script

_LINE_NO = re.compile(r":\d+\)$")


def find_py_spy() -> str | None:
    beside = Path(sys.executable).parent / "py-spy"
    return str(beside) if beside.exists() else shutil.which("py-spy")


def _function(frame: str) -> str:
    """``handle (bytespike/relay/gateway.py:123)`` → ``handle (bytespike/relay/gateway.py)``."""
    frame = _LINE_NO.sub(")", frame.strip())
    return frame.replace(str(Path(sys.prefix)) + "/lib/", "").replace("/work/main/", "")


_BOOT_FILES = (
    "<frozen runpy>",
    "bytespike/__main__.py",
    "bytespike/cli.py",
    "bytespike/serve.py",
    "uvicorn/main.py",
    "uvicorn/server.py",
    "uvicorn/_compat.py",
    "asyncio/runners.py",
    "threading.py",
)
"""Frames every sample of a thread passes through (start-up call chain): useless in a ranking."""
EVENT_LOOP = "[event loop: uvloop C code, socket I/O]"
"""How a sample whose leaf is the loop runner reads: uvloop is C, so its own work has no Python frame."""


def rank(collapsed: str, top: int = 15) -> dict[str, object]:
    """Top functions by self samples (leaf frames) and by total samples (anywhere on the stack).

    ``by_total_bytespike`` repeats the total ranking for the gateway's own code only.
    """
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    samples = 0
    for line in collapsed.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        samples += count
        # py-spy may put "process …"/"thread …" pseudo-frames first; they carry no code.
        frames = [_function(f) for f in stack.split(";") if f and not f.startswith(("process ", "thread "))]
        if not frames:
            continue
        leaf = frames[-1]
        own[EVENT_LOOP if leaf.startswith("Runner.run (") else leaf] += count
        for name in set(frames):
            if not any(boot in name for boot in _BOOT_FILES):
                total[name] += count

    def table(counter: Counter[str], keep: str = "") -> list[dict[str, object]]:
        ranked = [(name, n) for name, n in counter.most_common() if keep in name][:top]
        return [
            {"function": name, "samples": n, "pct": round(100 * n / samples, 1) if samples else 0.0}
            for name, n in ranked
        ]

    return {
        "samples": samples,
        "by_self": table(own),
        "by_total": table(total),
        "by_total_bytespike": table(total, "bytespike/"),
    }


def profile_under_load(
    gateway: Server,
    request: WrkRequest,
    *,
    seconds: int,
    connections: int,
    load_core: int,
    workdir: Path,
    out_path: Path,
) -> dict[str, object]:
    """Record ``seconds`` of the gateway while wrk drives it; return the ranking."""
    py_spy = find_py_spy()
    if py_spy is None:
        return {"skipped": "py-spy is not installed (.venv/bin/pip install py-spy to enable --profile)"}
    script = write_script(request, workdir)
    load = subprocess.Popen(
        [
            "taskset",
            "-c",
            str(load_core),
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{seconds + 3}s",
            "-s",
            str(script),
            request.url,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        done = subprocess.run(
            [
                "taskset",
                "-c",
                str(load_core),
                py_spy,
                "record",
                "--pid",
                str(gateway.pid),
                "--duration",
                str(seconds),
                "--rate",
                "250",
                "--format",
                "raw",
                "--output",
                str(out_path),
                "--nonblocking",
            ],
            capture_output=True,
            text=True,
            timeout=seconds + 60,
            check=False,
        )
    finally:
        load.wait(seconds + 30)
        script.unlink(missing_ok=True)
    if done.returncode != 0 or not out_path.exists():
        return {"skipped": f"py-spy failed (exit {done.returncode}): {done.stderr.strip()[-500:]}"}
    result = rank(out_path.read_text())
    result.update({"seconds": seconds, "connections": connections, "raw": str(out_path), "nonblocking": True})
    return result
