"""The processes a benchmark run needs: tools, a code snapshot, the simulator, the gateway, a key.

Every process of a run imports bytespike from one snapshot of the code taken when the run starts
(`snapshot_code`), not from the live checkout: edits made while a run is going cannot mix two
versions into one set of figures. Each server runs as ``taskset -c CORE python -m …`` on a free loopback port, logging to a file in
the run's temporary directory. ``taskset`` execs the Python interpreter, so the `Popen` pid is the
server's own pid: RSS and CPU time are read from /proc for exactly that process.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import tarfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SIM_VENDOR_KEY = "sk-bench-simulator-key"
"""The vendor key the simulator demands and the gateway is configured with."""
SECRET_KEY = "bench-secret-key-0123456789abcdef"
BENCH_EMAIL = "bench@example.test"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024


class ToolMissing(RuntimeError):
    """A program the harness needs is absent and could not be installed."""


def ensure_tools() -> dict[str, str]:
    """Make sure ``wrk`` and ``taskset`` exist (installing them from Debian if not); return versions."""
    wanted = {"wrk": "wrk", "taskset": "util-linux"}
    missing = [name for name in wanted if shutil.which(name) is None]
    if missing:
        packages = sorted({wanted[name] for name in missing})
        print(
            f"bench: {', '.join(missing)} not found; installing {' '.join(packages)} with apt-get", flush=True
        )
        try:
            subprocess.run(["apt-get", "update", "-qq"], check=False, timeout=300)
            subprocess.run(["apt-get", "install", "-y", "-qq", *packages], check=True, timeout=600)
        except (OSError, subprocess.SubprocessError) as exc:
            raise ToolMissing(
                f"could not install {' '.join(packages)} ({exc}); install them yourself, e.g. "
                f"`sudo apt-get install -y {' '.join(packages)}`, and run the benchmark again"
            ) from exc
        still = [name for name in missing if shutil.which(name) is None]
        if still:
            raise ToolMissing(f"{', '.join(still)} still missing after apt-get install")
    if os.cpu_count() is None or len(os.sched_getaffinity(0)) < 2:
        raise ToolMissing("the benchmark needs at least two usable cores (gateway on one, load on the other)")
    versions = {}
    wrk = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False)
    versions["wrk"] = (
        (wrk.stdout or wrk.stderr).splitlines()[0].strip() if (wrk.stdout or wrk.stderr) else "?"
    )
    taskset = subprocess.run(["taskset", "--version"], capture_output=True, text=True, check=False)
    versions["taskset"] = taskset.stdout.strip()
    return versions


@dataclass(frozen=True)
class CodeSnapshot:
    """The bytespike package every process of a run imports (through PYTHONPATH)."""

    path: Path
    """Directory holding the ``bytespike`` package."""
    source: str
    """``worktree`` (the checkout as it was at the start) or the git ref it was archived from."""
    commit: str
    """The commit archived, or for ``worktree`` the HEAD the copied checkout was on."""
    is_dirty: bool
    """The copied working tree differed from ``commit`` (always False for a git ref)."""
    digest: str
    """sha256 over the snapshot's file names and contents, to tell runs of different code apart."""


def _git(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=REPO, capture_output=True, check=False)


def snapshot_code(workdir: Path, ref: str | None = None) -> CodeSnapshot:
    """Copy the ``bytespike`` package (the working tree, or ``ref`` from git) under ``workdir``."""
    dest = workdir / "src"
    dest.mkdir()
    if ref is None:
        commit = _git("rev-parse", "HEAD").stdout.decode().strip()
        is_dirty = bool(_git("status", "--porcelain", "--", "bytespike").stdout.strip())
        shutil.copytree(REPO / "bytespike", dest / "bytespike", ignore=shutil.ignore_patterns("__pycache__"))
    else:
        resolved = _git("rev-parse", "--verify", f"{ref}^{{commit}}")
        if resolved.returncode != 0:
            raise RuntimeError(f"no commit {ref!r}: {resolved.stderr.decode(errors='replace').strip()}")
        commit, is_dirty = resolved.stdout.decode().strip(), False
        # Archive the resolved id, not the ref: a commit landing meanwhile must not change what runs.
        archive = _git("archive", "--format=tar", commit, "bytespike")
        if archive.returncode != 0:
            raise RuntimeError(f"git archive {ref} failed: {archive.stderr.decode(errors='replace').strip()}")
        with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
            tar.extractall(dest, filter="data")
    digest = hashlib.sha256()
    for path in sorted((dest / "bytespike").rglob("*")):
        if path.is_file():
            digest.update(path.relative_to(dest).as_posix().encode() + b"\0" + path.read_bytes())
    return CodeSnapshot(dest, ref or "worktree", commit, is_dirty, digest.hexdigest())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _clean_env(code: CodeSnapshot, extra: dict[str, str]) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(
            ("ANTHROPIC_", "OPENAI_", "GEMINI_", "DEEPSEEK_", "GOOGLE_", "BYTESPIKE_", "PYTHONPATH")
        )
    }
    env["PYTHONPATH"] = str(code.path)
    env.update(extra)
    return env


@dataclass
class Server:
    """One started server process and where it listens."""

    name: str
    url: str
    proc: subprocess.Popen
    log_path: Path
    core: int
    _log_file: object = field(repr=False, default=None)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def rss_kib(self) -> int:
        """Resident set size now (VmRSS), in KiB."""
        with open(f"/proc/{self.pid}/statm") as f:
            return int(f.read().split()[1]) * PAGE_KIB

    def cpu_seconds(self) -> float:
        """User + system CPU time consumed so far."""
        with open(f"/proc/{self.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self._log_file is not None:
            self._log_file.close()  # type: ignore[attr-defined]

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@dataclass(frozen=True)
class Workspace:
    """One run's temporary directory (database, logs, scripts) and the code it runs."""

    dir: Path
    code: CodeSnapshot


def _start(
    ws: Workspace,
    name: str,
    python_args: list[str],
    *,
    core: int,
    port: int,
    env: dict[str, str],
    ready_path: str,
    timeout: float = 30,
) -> Server:
    log_path = ws.dir / f"{name}.log"
    log = log_path.open("ab")
    proc = subprocess.Popen(
        ["taskset", "-c", str(core), sys.executable, *python_args],
        env=_clean_env(ws.code, env),
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=ws.dir,  # `python -m` puts the cwd first on sys.path: never the live checkout
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            log.close()
            raise RuntimeError(
                f"{name} exited with {proc.returncode}:\n{log_path.read_text(errors='replace')}"
            )
        try:
            with urllib.request.urlopen(url + ready_path, timeout=1):
                break
        except urllib.error.HTTPError:
            break
        except OSError:
            time.sleep(0.05)
    else:
        proc.kill()
        log.close()
        raise RuntimeError(f"{name} did not become ready:\n{log_path.read_text(errors='replace')}")
    return Server(name, url, proc, log_path, core, log)


def start_simulator(ws: Workspace, *, core: int, name: str = "simulator", **pacing: float | int) -> Server:
    """The vendor simulator on ``core``; ``pacing`` maps to its --latency-ms/--chunk-delay-ms/--chunks flags.

    ``python -m bytespike.simulator`` is used rather than ``bytespike simulate`` because only it
    exposes the pacing flags; request recording is off so the baseline does the least work.
    """
    port = free_port()
    args = ["-m", "bytespike.simulator", "--port", str(port), "--api-key", SIM_VENDOR_KEY, "--record", "0"]
    for flag, value in pacing.items():
        args += [f"--{flag.replace('_', '-')}", str(value)]
    return _start(ws, name, args, core=core, port=port, env={}, ready_path="/")


def gateway_env(ws: Workspace, simulator_url: str) -> dict[str, str]:
    """The environment of DESIGN.md §4 pointing every vendor at the simulator."""
    return {
        "BYTESPIKE_DATABASE_URL": f"sqlite:///{ws.dir / 'gateway.db'}",
        "BYTESPIKE_SECRET_KEY": SECRET_KEY,
        "BYTESPIKE_DATA_DIR": str(ws.dir),
        "ANTHROPIC_API_KEY": SIM_VENDOR_KEY,
        "ANTHROPIC_BASE_URL": simulator_url,
        "OPENAI_API_KEY": SIM_VENDOR_KEY,
        "OPENAI_BASE_URL": simulator_url + "/v1",
        "GEMINI_API_KEY": SIM_VENDOR_KEY,
        "GEMINI_BASE_URL": simulator_url,
        "DEEPSEEK_API_KEY": SIM_VENDOR_KEY,
        "DEEPSEEK_BASE_URL": simulator_url,
    }


def start_gateway(
    ws: Workspace,
    simulator_url: str,
    *,
    core: int | str,
    name: str = "gateway",
    extra_env: dict[str, str] | None = None,
    workers: int = 1,
) -> Server:
    """``bytespike serve`` on ``core`` (a core, or a taskset list such as ``"0,1"``): one worker on
    the embedded default (SQLite + in-process state) unless ``extra_env`` says otherwise."""
    port = free_port()
    return _start(
        ws,
        name,
        ["-m", "bytespike", "serve", "--port", str(port), "--workers", str(workers)],
        core=core,  # type: ignore[arg-type]
        port=port,
        env={**gateway_env(ws, simulator_url), **(extra_env or {})},
        ready_path="/healthz",
        timeout=60,
    )


def start_bare_relay(ws: Workspace, simulator_url: str, *, core: int) -> Server:
    """bench/bare_relay.py: the gateway's server stack and upstream client without its features."""
    port = free_port()
    script = str(Path(__file__).with_name("bare_relay.py"))
    return _start(
        ws,
        "bare-relay",
        [script, "--port", str(port), "--upstream", simulator_url, "--vendor-key", SIM_VENDOR_KEY],
        core=core,
        port=port,
        env={},
        ready_path="/healthz",
    )


def cli(ws: Workspace, env: dict[str, str], *args: str) -> dict:
    """``bytespike ARGS --json`` with ``env``; the parsed JSON it printed."""
    done = subprocess.run(
        [sys.executable, "-m", "bytespike", *args, "--json"],
        env=_clean_env(ws.code, env),
        capture_output=True,
        text=True,
        cwd=ws.dir,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"bytespike {' '.join(args)} failed: {done.stderr.strip()}")
    return json.loads(done.stdout)


def _raise_concurrency_cap(env: dict[str, str]) -> None:
    """An Enterprise account with a cap far above any scenario's concurrency: the load runs
    through the concurrency lease (features on) without hitting the Free tier's cap of 5."""
    sql = "UPDATE users SET tier = 'enterprise', concurrency_limit = 100000 WHERE email = "
    url = env["BYTESPIKE_DATABASE_URL"]
    if url.startswith("sqlite:///"):
        import sqlite3

        with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
            conn.execute(sql + "?", (BENCH_EMAIL,))
        return
    import asyncio

    import asyncpg

    async def update() -> None:
        conn = await asyncpg.connect(url)
        try:
            await conn.execute(sql + "$1", BENCH_EMAIL)
        finally:
            await conn.close()

    asyncio.run(update())


def create_funded_key(ws: Workspace, simulator_url: str, extra_env: dict[str, str] | None = None) -> str:
    """A user with $1,000,000 of credit and a key in the default group, made with the public CLI
    (on the embedded database unless ``extra_env`` names another)."""
    env = {**gateway_env(ws, simulator_url), **(extra_env or {})}
    if not env["BYTESPIKE_DATABASE_URL"].startswith("sqlite:///"):
        cli(ws, env, "db", "upgrade")
    cli(ws, env, "users", "create", "--email", BENCH_EMAIL)
    _raise_concurrency_cap(env)
    cli(ws, env, "credits", "grant", "--email", BENCH_EMAIL, "--usd", "1000000")
    return cli(ws, env, "keys", "create", "--email", BENCH_EMAIL, "--name", "bench")["key"]


def log_issues(log_path: Path, limit: int = 20) -> dict[str, object]:
    """Error-looking lines of a server's log: their count and the first few."""
    lines = [
        line
        for line in log_path.read_text(errors="replace").splitlines()
        if any(mark in line for mark in ("ERROR", "Traceback", "CRITICAL", "WARNING", "Exception"))
    ]
    return {"count": len(lines), "first": lines[:limit]}


# ---------------------------------------------------------------------------- LiteLLM (--litellm)
LITELLM_VERSION = "1.106.12"
"""Pinned, known-good LiteLLM: not 1.82.7/1.82.8 nor 1.107.0 (the compromised releases). Newer 1.108+
releases need a ``litellm-proxy-extras`` build the package index here does not carry."""
LITELLM_HOME = Path("/tmp/bytespike-bench-litellm")
"""LiteLLM's own virtual environment lives here, outside the repository: never a project dependency."""
LITELLM_MASTER_KEY = "sk-bench-litellm-master-key"


def ensure_litellm(log=print) -> Path:
    """The ``litellm`` executable of a venv holding ``litellm[proxy]==LITELLM_VERSION`` (made if absent)."""
    venv = LITELLM_HOME / "venv"
    exe, python = venv / "bin" / "litellm", venv / "bin" / "python"

    def installed() -> str | None:
        if not exe.exists():
            return None
        done = subprocess.run(
            [str(python), "-c", "import importlib.metadata as m; print(m.version('litellm'))"],
            capture_output=True,
            text=True,
            check=False,
        )
        return done.stdout.strip() or None

    if installed() == LITELLM_VERSION:
        return exe
    log(f"bench: installing litellm[proxy]=={LITELLM_VERSION} into {venv} (its own venv, outside the repo)")
    try:
        if not python.exists():
            LITELLM_HOME.mkdir(parents=True, exist_ok=True)
            subprocess.run(["python3", "-m", "venv", str(venv)], check=True, capture_output=True, timeout=300)
        done = subprocess.run(
            [str(python), "-m", "pip", "install", "-q", f"litellm[proxy]=={LITELLM_VERSION}"],
            capture_output=True,
            text=True,
            check=False,
            timeout=900,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise ToolMissing(f"could not create LiteLLM's venv in {venv}: {exc}") from exc
    if done.returncode != 0 or installed() != LITELLM_VERSION:
        errors = [line for line in done.stderr.splitlines() if line.startswith("ERROR")]
        raise ToolMissing(
            f"could not install litellm[proxy]=={LITELLM_VERSION} into {venv}: "
            f"{errors[-1] if errors else 'pip exited with ' + str(done.returncode)}"
        )
    return exe


def litellm_config(ws: Workspace, simulator_url: str) -> Path:
    """One model, ``gpt-5-4`` → ``openai/gpt-5.4`` at the simulator; master key; no database."""
    path = ws.dir / "litellm.yaml"
    path.write_text(
        "model_list:\n"
        "  - model_name: gpt-5-4\n"
        "    litellm_params:\n"
        "      model: openai/gpt-5.4\n"
        f"      api_base: {simulator_url}/v1\n"
        f"      api_key: {SIM_VENDOR_KEY}\n"
        "litellm_settings:\n"
        "  set_verbose: false\n"
        "  telemetry: false\n"
        "general_settings:\n"
        f"  master_key: {LITELLM_MASTER_KEY}\n"
    )
    return path


def start_litellm(ws: Workspace, exe: Path, simulator_url: str, *, core: int, timeout: float = 180) -> Server:
    """``litellm --config … --num_workers 1`` on ``core``: one worker, no database, errors-only logging."""
    port = free_port()
    env = {
        k: v
        for k, v in _clean_env(ws.code, {}).items()
        if k not in ("PYTHONPATH", "DATABASE_URL") and not k.startswith("LITELLM_")
    }
    env.update(
        {
            "LITELLM_LOG": "ERROR",
            "LITELLM_MASTER_KEY": LITELLM_MASTER_KEY,
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",  # no fetch of the cost map from the network
            "LITELLM_TELEMETRY": "False",
            "DISABLE_ADMIN_UI": "True",
            "NO_DOCS": "True",
        }
    )
    log_path = ws.dir / "litellm.log"
    log = log_path.open("ab")
    proc = subprocess.Popen(
        [
            "taskset",
            "-c",
            str(core),
            str(exe),
            "--config",
            str(litellm_config(ws, simulator_url)),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--num_workers",
            "1",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=ws.dir,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            log.close()
            tail = log_path.read_text(errors="replace").strip().splitlines()[-1:] or ["(no output)"]
            raise RuntimeError(f"litellm exited with {proc.returncode}: {tail[0]}")
        try:
            with urllib.request.urlopen(url + "/health/liveliness", timeout=1):
                break
        except OSError:
            time.sleep(0.2)
    else:
        proc.kill()
        log.close()
        raise RuntimeError(f"litellm did not become ready within {timeout:.0f} s (log: {log_path})")
    return Server("litellm", url, proc, log_path, core, log)
