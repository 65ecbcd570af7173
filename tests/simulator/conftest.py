"""A live simulator for the simulator's own tests, and the official SDK clients aimed at it.

The simulator runs on its own event loop in a thread, so the (synchronous) official SDK clients
can talk to it from plain test functions exactly as an application would.
"""

from __future__ import annotations

import asyncio
import http.client
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import anthropic
import openai
import orjson
import pytest
from google import genai
from google.genai import types

from bytespike.simulator import SimulatorConfig, start_simulator_in_background, stop_simulator

API_KEY = "sim-test-key"


@dataclass
class RunningSimulator:
    host: str
    port: int

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def request(
        self, method: str, path: str, body: object = None, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        """One raw HTTP exchange; ``body`` is JSON-encoded unless it is already bytes."""
        connection = http.client.HTTPConnection(self.host, self.port, timeout=10)
        try:
            data = body if isinstance(body, bytes) or body is None else orjson.dumps(body)
            connection.request(method, path, body=data, headers=headers or {})
            response = connection.getresponse()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
        finally:
            connection.close()

    def recorded(self) -> list[dict[str, object]]:
        status, _, body = self.request("GET", "/_sim/requests")
        assert status == 200
        return orjson.loads(body)


@pytest.fixture(scope="session")
def simulator() -> Iterator[RunningSimulator]:
    """One simulator requiring `API_KEY`, serving on a free port for the whole session."""
    started = threading.Event()
    box: dict[str, object] = {}

    async def serve() -> None:
        try:
            server, task, port = await start_simulator_in_background(
                "127.0.0.1", 0, SimulatorConfig(api_key=API_KEY)
            )
        except BaseException as exc:
            box["error"] = exc
            started.set()
            raise
        stop = asyncio.Event()
        box.update(port=port, stop=stop, loop=asyncio.get_running_loop())
        started.set()
        await stop.wait()
        await stop_simulator(server, task)

    thread = threading.Thread(target=asyncio.run, args=(serve(),), name="simulator", daemon=True)
    thread.start()
    assert started.wait(10), "simulator did not start"
    if "error" in box:
        raise RuntimeError("simulator failed to start") from box["error"]  # type: ignore[arg-type]
    yield RunningSimulator("127.0.0.1", box["port"])  # type: ignore[arg-type]
    loop: asyncio.AbstractEventLoop = box["loop"]  # type: ignore[assignment]
    loop.call_soon_threadsafe(box["stop"].set)  # type: ignore[attr-defined]
    thread.join(10)
    assert not thread.is_alive(), "simulator did not stop"


@pytest.fixture(autouse=True)
def _no_sdk_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The SDKs read these and would silently redirect or re-authenticate (protocols.md §8.1)."""
    import os

    for name in list(os.environ):
        if name.startswith(("ANTHROPIC_", "OPENAI_", "GOOGLE_", "GEMINI_")):
            monkeypatch.delenv(name)


@pytest.fixture
def anthropic_client(simulator: RunningSimulator) -> Iterator[anthropic.Anthropic]:
    client = anthropic.Anthropic(base_url=simulator.url, api_key=API_KEY, max_retries=0)
    yield client
    client.close()


@pytest.fixture
def openai_client(simulator: RunningSimulator) -> Iterator[openai.OpenAI]:
    client = openai.OpenAI(base_url=simulator.url + "/v1", api_key=API_KEY, max_retries=0)
    yield client
    client.close()


def make_gemini_client(
    simulator: RunningSimulator, api_version: str | None, api_key: str = API_KEY
) -> genai.Client:
    options = types.HttpOptions(base_url=simulator.url, retry_options=types.HttpRetryOptions(attempts=1))
    if api_version is not None:
        options.api_version = api_version
    return genai.Client(api_key=api_key, http_options=options)


@pytest.fixture
def gemini_client(simulator: RunningSimulator) -> Iterator[genai.Client]:
    """google-genai on ``/v1beta`` (what the gateway calls)."""
    client = make_gemini_client(simulator, "v1beta")
    yield client
    client.close()


@pytest.fixture
def gemini_v1_client(simulator: RunningSimulator) -> Iterator[genai.Client]:
    """google-genai with its default API version (``/v1`` in 3.x)."""
    client = make_gemini_client(simulator, None)
    yield client
    client.close()
