"""Serving over real TCP: background start on port 0, dropped connections, hung requests."""

from __future__ import annotations

import http.client

import aiohttp
import anthropic
import httpx2
import openai
import orjson
import pytest

from bytespike.simulator import SimulatorConfig, start_simulator_in_background, stop_simulator
from tests.simulator.conftest import API_KEY, RunningSimulator

OPENAI_HEADERS = {"authorization": f"Bearer {API_KEY}", "content-type": "application/json"}


def chat(text: str, stream: bool) -> bytes:
    return orjson.dumps(
        {"model": "gpt-sim", "stream": stream, "messages": [{"role": "user", "content": text}]}
    )


async def test_background_server_on_port_zero_serves_and_stops() -> None:
    server, task, port = await start_simulator_in_background("127.0.0.1", 0, SimulatorConfig(api_key="k"))
    try:
        assert port > 0
        async with aiohttp.ClientSession() as session:
            response = await session.post(
                f"http://127.0.0.1:{port}/v1/chat/completions",
                data=chat("ping", stream=False),
                headers={"authorization": "Bearer k"},
            )
            assert response.status == 200
            assert (await response.json())["choices"][0]["message"][
                "content"
            ] == "Hello from gpt-sim. You said: ping"
    finally:
        await stop_simulator(server, task)
    assert task.done()


async def test_starting_on_a_taken_port_fails_clearly() -> None:
    server, task, port = await start_simulator_in_background("127.0.0.1", 0, SimulatorConfig())
    try:
        with pytest.raises(RuntimeError, match="could not start"):
            await start_simulator_in_background("127.0.0.1", port, SimulatorConfig())
    finally:
        await stop_simulator(server, task)


def test_drop_after_cuts_a_stream_without_its_terminating_chunk(simulator: RunningSimulator) -> None:
    connection = http.client.HTTPConnection(simulator.host, simulator.port, timeout=10)
    connection.request(
        "POST", "/v1/chat/completions", body=chat("go [[sim:drop_after=2]]", True), headers=OPENAI_HEADERS
    )
    response = connection.getresponse()
    assert response.status == 200
    with pytest.raises(http.client.IncompleteRead) as caught:
        response.read()
    connection.close()
    partial = caught.value.partial.decode()
    assert partial.count('"content":"') == 3  # the role chunk's empty content plus two deltas
    assert "[DONE]" not in partial


def test_drop_after_on_a_non_streamed_reply_cuts_the_body(simulator: RunningSimulator) -> None:
    connection = http.client.HTTPConnection(simulator.host, simulator.port, timeout=10)
    connection.request(
        "POST", "/v1/chat/completions", body=chat("go [[sim:drop_after=0]]", False), headers=OPENAI_HEADERS
    )
    response = connection.getresponse()
    with pytest.raises(http.client.IncompleteRead):
        response.read()
    connection.close()


def test_sdks_see_a_dropped_stream_as_a_connection_failure(
    openai_client: openai.OpenAI, anthropic_client: anthropic.Anthropic
) -> None:
    stream = openai_client.chat.completions.create(
        model="gpt-sim", messages=[{"role": "user", "content": "[[sim:drop_after=1]]"}], stream=True
    )
    with pytest.raises(openai.APIConnectionError):
        list(stream)
    with (
        # anthropic 2.10.0 does not wrap errors raised while iterating a stream
        pytest.raises(httpx2.RemoteProtocolError, match="incomplete chunked read"),
        anthropic_client.messages.stream(
            model="claude-sim", max_tokens=50, messages=[{"role": "user", "content": "[[sim:drop_after=1]]"}]
        ) as dropped,
    ):
        dropped.get_final_message()


def test_hang_makes_the_client_time_out(simulator: RunningSimulator) -> None:
    client = openai.OpenAI(base_url=simulator.url + "/v1", api_key=API_KEY, max_retries=0, timeout=0.3)
    with pytest.raises(openai.APITimeoutError):
        client.chat.completions.create(
            model="gpt-sim", messages=[{"role": "user", "content": "[[sim:hang]]"}]
        )
    client.close()
    # the simulator is still healthy afterwards
    status, _, _ = simulator.request("GET", "/")
    assert status == 200


def test_command_line_builds_the_config(monkeypatch: pytest.MonkeyPatch) -> None:
    from bytespike.simulator import __main__ as entry

    calls: list[tuple[str, int, SimulatorConfig]] = []
    monkeypatch.setattr(entry, "run_simulator", lambda host, port, config: calls.append((host, port, config)))
    entry.main(
        [
            "--host",
            "0.0.0.0",
            "--port",
            "9001",
            "--api-key",
            "k",
            "--latency-ms",
            "5",
            "--chunk-delay-ms",
            "20",
            "--chunks",
            "7",
        ]
    )
    assert calls == [
        ("0.0.0.0", 9001, SimulatorConfig(api_key="k", latency_ms=5, chunk_delay_ms=20, chunks=7, record=200))
    ]
