"""Serving the simulator with uvicorn: blocking (CLI, benchmarks) or as a task (demo mode, tests).

Both use httptools and, when installed, uvloop, with access logs off: the simulator is the
benchmarks' "direct" baseline and must cost as little as possible.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import logging
from collections.abc import Generator

import uvicorn

from bytespike.simulator.app import create_simulator_app
from bytespike.simulator.asgi import SimulatedDrop
from bytespike.simulator.config import SimulatorConfig

SHUTDOWN_GRACE_SECONDS = 2
"""A background server waits this long for open streams (or hung requests) when stopped."""


class _QuietDrops(logging.Filter):
    """Keeps uvicorn from logging a traceback for every connection the simulator drops on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], SimulatedDrop))


class _BackgroundServer(uvicorn.Server):
    """A uvicorn server that leaves the host process's signal handlers alone."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


def _silence_simulated_drops() -> None:
    error_logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(existing, _QuietDrops) for existing in error_logger.filters):
        error_logger.addFilter(_QuietDrops())


def _uvicorn_config(host: str, port: int, config: SimulatorConfig, **extra: object) -> uvicorn.Config:
    return uvicorn.Config(
        create_simulator_app(config),
        host=host,
        port=port,
        loop="uvloop" if importlib.util.find_spec("uvloop") else "asyncio",
        http="httptools",
        ws="none",
        lifespan="off",
        log_level="warning",
        access_log=False,
        **extra,  # type: ignore[arg-type]
    )


async def _serve(server: uvicorn.Server) -> None:
    try:
        await server.serve()
    except SystemExit as exc:
        # uvicorn exits the process when it cannot bind; a SystemExit escaping a task would
        # stop the host's event loop, so it becomes an ordinary error of this task.
        raise RuntimeError(f"uvicorn stopped during start-up (exit status {exc.code})") from None


def run_simulator(host: str, port: int, config: SimulatorConfig) -> None:
    """Serve the simulator until interrupted (blocking)."""
    _silence_simulated_drops()
    uvicorn.Server(_uvicorn_config(host, port, config)).run()


async def start_simulator_in_background(
    host: str, port: int, config: SimulatorConfig
) -> tuple[uvicorn.Server, asyncio.Task[None], int]:
    """Start serving on the running event loop; return once it listens.

    ``port`` may be 0 for any free port; the one actually bound is returned. Stop it with
    `stop_simulator` (or ``server.should_exit = True`` and awaiting the task).
    """
    _silence_simulated_drops()
    server = _BackgroundServer(
        _uvicorn_config(host, port, config, timeout_graceful_shutdown=SHUTDOWN_GRACE_SECONDS)
    )
    task = asyncio.create_task(_serve(server), name=f"bytespike-simulator-{host}:{port}")
    while not server.started:
        if task.done():
            raise RuntimeError(f"the simulator could not start on {host}:{port}") from task.exception()
        await asyncio.sleep(0.005)
    actual_port = server.servers[0].sockets[0].getsockname()[1]
    return server, task, actual_port


async def stop_simulator(server: uvicorn.Server, task: asyncio.Task[None]) -> None:
    """Stop a server started by `start_simulator_in_background` and wait for it."""
    server.should_exit = True
    await task
