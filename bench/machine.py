"""What the figures were measured on: CPU, cores, kernel, Python, package versions, commit."""

from __future__ import annotations

import os
import platform
import time
from importlib import metadata
from pathlib import Path

PACKAGES = (
    "bytespike",
    "uvicorn",
    "uvloop",
    "httptools",
    "starlette",
    "aiohttp",
    "orjson",
    "sqlalchemy",
    "aiosqlite",
    "matplotlib",
    "py-spy",
)


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _mem_total_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return None


def describe(tools: dict[str, str]) -> dict[str, object]:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "cpu_model": _cpu_model(),
        "logical_cores": os.cpu_count(),
        "usable_cores": sorted(os.sched_getaffinity(0)),
        "memory_gib": _mem_total_gib(),
        "kernel": platform.release(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "packages": versions,
        "tools": tools,
    }


def _cpu_jiffies() -> tuple[int, int]:
    """(busy, total) jiffies over all cores since boot, from /proc/stat."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    total = sum(values[:8])  # guest time is already inside user
    return total - idle, total


def busy_cores(seconds: float = 1.0) -> float:
    """How many cores' worth of CPU the whole machine used over the next ``seconds``.

    Called while the benchmark's own processes are idle, it measures everyone else's load: other
    work on a shared machine would otherwise silently slow the gateway and the load generator.
    """
    busy0, total0 = _cpu_jiffies()
    time.sleep(seconds)
    busy1, total1 = _cpu_jiffies()
    cores = os.cpu_count() or 1
    return cores * (busy1 - busy0) / max(1, total1 - total0)


def wait_until_quiet(limit_cores: float, max_wait_s: float, log) -> float:  # type: ignore[no-untyped-def]
    """Wait (up to ``max_wait_s``) for foreign load below ``limit_cores``; return the last reading."""
    deadline = time.monotonic() + max_wait_s
    load = busy_cores()
    while load > limit_cores and time.monotonic() < deadline:
        log(f"bench: the machine is busy ({load:.2f} cores in use by other processes); waiting …")
        load = busy_cores(5.0)
    return load
