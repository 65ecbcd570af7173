"""Real processes for end-to-end tests: the simulator and ``bytespike serve``, on free ports."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Process:
    url: str
    proc: subprocess.Popen
    log_path: Path

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def start(
    args: list[str], env: dict[str, str], ready_path: str, port: int, log_path: Path, timeout: float = 30
) -> Process:
    full_env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("ANTHROPIC_", "OPENAI_", "GEMINI_", "DEEPSEEK_"))
    }
    full_env.update(env)
    log = log_path.open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "bytespike", *args], env=full_env, stdout=log, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(
                f"{args[0]} exited with {proc.returncode}:\n{log_path.read_text(errors='replace')}"
            )
        try:
            with urllib.request.urlopen(url + ready_path, timeout=1):
                return Process(url, proc, log_path)
        except urllib.error.HTTPError:
            return Process(url, proc, log_path)
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"{args[0]} did not become ready:\n{log_path.read_text(errors='replace')}")


def start_gateways(env: dict[str, str], log_dir: Path, names: tuple[str, ...] = ("a", "b")) -> list[Process]:
    """One ``bytespike serve`` (one worker) per name, sharing ``env`` (database, Redis, secret)."""
    processes: list[Process] = []
    try:
        for name in names:
            port = free_port()
            processes.append(
                start(
                    ["serve", "--port", str(port), "--workers", "1"],
                    env,
                    "/healthz",
                    port,
                    log_dir / f"gateway-{name}.log",
                )
            )
    except BaseException:
        for p in processes:
            p.stop()
        raise
    return processes
