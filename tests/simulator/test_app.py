"""The ASGI app's plumbing, called in-process: routing, recording, auth, errors, framing, pacing."""

from __future__ import annotations

from types import SimpleNamespace

import orjson
import pytest

from bytespike.simulator import SimulatorConfig, create_simulator_app, streaming
from bytespike.simulator import app as app_module
from bytespike.simulator.asgi import SimulatedDrop
from tests.simulator.inprocess import call_app

OPENAI_AUTH = {"authorization": "Bearer any-key"}
ANTHROPIC_AUTH = {"x-api-key": "any-key"}
GEMINI_AUTH = {"x-goog-api-key": "any-key"}


def chat(text: str, **extra: object) -> dict[str, object]:
    return {"model": "gpt-sim", "messages": [{"role": "user", "content": text}]} | extra


def anthropic_body(text: str, **extra: object) -> dict[str, object]:
    return {"model": "claude-sim", "max_tokens": 50, "messages": [{"role": "user", "content": text}], **extra}


async def test_any_non_empty_key_is_accepted_when_none_is_configured() -> None:
    app = create_simulator_app(SimulatorConfig())
    assert (await call_app(app, "POST", "/v1/chat/completions", chat("hi"), OPENAI_AUTH)).status == 200
    missing = await call_app(app, "POST", "/v1/chat/completions", chat("hi"))
    assert missing.status == 401
    assert missing.json()["error"]["message"].startswith("You didn't provide an API key")  # type: ignore[index]
    empty_bearer = await call_app(
        app, "POST", "/v1/chat/completions", chat("hi"), {"authorization": "Bearer "}
    )
    assert empty_bearer.status == 401


async def test_requests_are_recorded_bounded_and_clearable() -> None:
    app = create_simulator_app(SimulatorConfig(record=2))
    for text in ("one", "two", "three"):
        await call_app(app, "POST", "/v1/messages", anthropic_body(text), ANTHROPIC_AUTH, query=b"beta=true")
    await call_app(app, "POST", "/v1/messages", b"not json", ANTHROPIC_AUTH)
    listed = (await call_app(app, "GET", "/_sim/requests")).json()
    assert isinstance(listed, list) and len(listed) == 2
    assert listed[0] == {
        "method": "POST",
        "path": "/v1/messages",
        "query": "beta=true",
        "headers": {"x-api-key": "any-key"},
        "body": anthropic_body("three"),
    }
    assert listed[1]["body"] is None
    assert (await call_app(app, "DELETE", "/_sim/requests")).status == 200
    assert (await call_app(app, "GET", "/_sim/requests")).json() == []
    assert app.recorded_requests() == []


async def test_recording_can_be_switched_off() -> None:
    app = create_simulator_app(SimulatorConfig(record=0))
    await call_app(app, "POST", "/v1/chat/completions", chat("hi"), OPENAI_AUTH)
    assert (await call_app(app, "GET", "/_sim/requests")).json() == []


@pytest.mark.parametrize(
    ("path", "headers", "check"),
    [
        ("/v1/messages", ANTHROPIC_AUTH, lambda body: body["error"]["type"] == "invalid_request_error"),
        ("/v1/chat/completions", OPENAI_AUTH, lambda body: body["error"]["type"] == "invalid_request_error"),
        ("/v1/responses", OPENAI_AUTH, lambda body: body["error"]["type"] == "invalid_request_error"),
        (
            "/v1beta/models/gemini-sim:generateContent",
            GEMINI_AUTH,
            lambda body: body["error"]["status"] == "INVALID_ARGUMENT",
        ),
    ],
)
async def test_malformed_json_is_a_400_in_the_vendor_shape(path: str, headers: dict[str, str], check) -> None:
    app = create_simulator_app(SimulatorConfig())
    result = await call_app(app, "POST", path, b"{not json", headers)
    assert result.status == 400
    assert check(result.json())


async def test_missing_required_field_and_bad_directive_are_400s_naming_the_problem() -> None:
    app = create_simulator_app(SimulatorConfig())
    no_max = await call_app(
        app,
        "POST",
        "/v1/messages",
        {"model": "m", "messages": [{"role": "user", "content": "x"}]},
        ANTHROPIC_AUTH,
    )
    assert no_max.status == 400
    assert no_max.json()["error"]["message"] == "max_tokens: Field required"  # type: ignore[index]
    bad = await call_app(app, "POST", "/v1/chat/completions", chat("[[sim:explode]]"), OPENAI_AUTH)
    assert bad.status == 400
    assert "unknown simulator directive 'explode'" in bad.json()["error"]["message"]  # type: ignore[index]


@pytest.mark.parametrize(
    ("method", "path", "check"),
    [
        ("POST", "/v1/messages/bogus", lambda body: body["error"]["type"] == "not_found_error"),
        ("POST", "/v1beta/models/gemini-sim:explode", lambda body: body["error"]["status"] == "NOT_FOUND"),
        ("POST", "/v2/whatever", lambda body: body["error"]["code"] == "model_not_found"),
        ("GET", "/v1/chat/completions", lambda body: body["error"]["type"] == "invalid_request_error"),
    ],
)
async def test_unknown_endpoints_are_404s(method: str, path: str, check) -> None:
    result = await call_app(create_simulator_app(SimulatorConfig()), method, path, headers=OPENAI_AUTH)
    assert result.status == 404
    assert check(result.json())


async def test_deepseek_style_path_without_v1_is_chat() -> None:
    app = create_simulator_app(SimulatorConfig())
    result = await call_app(app, "POST", "/chat/completions", chat("hi", model="deepseek-chat"), OPENAI_AUTH)
    assert result.json()["choices"][0]["message"]["content"] == "Hello from deepseek-chat. You said: hi"  # type: ignore[index]


async def test_probe_and_model_endpoints() -> None:
    app = create_simulator_app(SimulatorConfig())
    assert (await call_app(app, "HEAD", "/")).status == 200
    listed = (await call_app(app, "GET", "/v1/models")).json()
    assert listed["object"] == "list" and listed["data"]  # type: ignore[index]
    assert (await call_app(app, "GET", "/v1/models/whatever")).json()["id"] == "whatever"  # type: ignore[index]


async def test_error_body_directive_returns_200_with_the_vendor_error_object() -> None:
    app = create_simulator_app(SimulatorConfig())
    anthropic_error = await call_app(
        app, "POST", "/v1/messages", anthropic_body("[[sim:error_body=529]]"), ANTHROPIC_AUTH
    )
    assert anthropic_error.status == 200
    assert anthropic_error.json()["error"]["type"] == "overloaded_error"  # type: ignore[index]
    gemini_error = await call_app(
        app,
        "POST",
        "/v1beta/models/g:generateContent",
        {"contents": [{"parts": [{"text": "[[sim:error_body]]"}]}]},
        GEMINI_AUTH,
    )
    assert gemini_error.status == 200
    assert gemini_error.json()["error"] == {  # type: ignore[index]
        "code": 500,
        "message": "Simulated 500 error in a 200 body",
        "status": "INTERNAL",
    }


async def test_midstream_error_on_a_non_streamed_request_is_a_500() -> None:
    app = create_simulator_app(SimulatorConfig())
    result = await call_app(
        app, "POST", "/v1/chat/completions", chat("[[sim:midstream_error=1]]"), OPENAI_AUTH
    )
    assert result.status == 500
    assert result.json()["error"]["type"] == "server_error"  # type: ignore[index]


async def test_mode_directive_serves_only_one_call_mode() -> None:
    """``mode=whole`` is a model that cannot stream, ``mode=stream`` one that only streams."""
    app = create_simulator_app(SimulatorConfig())
    whole_only = chat("[[sim:mode=whole]]")
    assert (await call_app(app, "POST", "/v1/chat/completions", whole_only, OPENAI_AUTH)).status == 200
    refused = await call_app(app, "POST", "/v1/chat/completions", whole_only | {"stream": True}, OPENAI_AUTH)
    assert refused.status == 400 and "cannot stream" in refused.json()["error"]["message"]  # type: ignore[index]
    stream_only = anthropic_body("[[sim:mode=stream]]")
    refused = await call_app(app, "POST", "/v1/messages", stream_only, ANTHROPIC_AUTH)
    assert refused.status == 400 and "only streams" in refused.json()["error"]["message"]  # type: ignore[index]
    served = await call_app(app, "POST", "/v1/messages", stream_only | {"stream": True}, ANTHROPIC_AUTH)
    assert served.status == 200


async def test_each_sse_frame_is_its_own_send_and_chunks_header_sets_the_text_deltas() -> None:
    app = create_simulator_app(SimulatorConfig())
    headers = {**OPENAI_AUTH, "x-sim-chunks": "5"}
    result = await call_app(app, "POST", "/v1/chat/completions", chat("hi there", stream=True), headers)
    assert result.completed
    assert all(
        body.startswith(b"data: ") and body.endswith(b"\n\n") and body.count(b"\n\n") == 1
        for body in result.bodies
    )
    contents = [
        orjson.loads(body[6:])["choices"][0]["delta"].get("content")
        for body in result.bodies
        if body != b"data: [DONE]\n\n"
    ]
    assert len([content for content in contents if content]) == 5


async def test_a_fault_beyond_the_last_delta_still_fires_before_the_finish() -> None:
    app = create_simulator_app(SimulatorConfig())
    failed = await call_app(
        app, "POST", "/v1/chat/completions", chat("hi [[sim:midstream_error=99]]", stream=True), OPENAI_AUTH
    )
    assert failed.completed
    assert failed.bodies[-1].startswith(b'data: {"error":')
    assert b"[DONE]" not in failed.body
    assert b'"finish_reason":"stop"' not in failed.body
    text_deltas = failed.body.count(b'"content":"') - 1  # minus the role chunk
    assert text_deltas == 6  # "Hello from gpt-sim. You said: hi", one delta per word
    with pytest.raises(SimulatedDrop):
        await call_app(
            app,
            "POST",
            "/v1/messages",
            anthropic_body("hi [[sim:drop_after=99]]", stream=True),
            ANTHROPIC_AUTH,
        )


async def test_config_chunks_apply_when_nothing_overrides_them() -> None:
    app = create_simulator_app(SimulatorConfig(chunks=2))
    result = await call_app(
        app, "POST", "/v1/messages", anthropic_body("hi there", stream=True), ANTHROPIC_AUTH
    )
    assert result.body.count(b'"type":"text_delta"') == 2


async def test_latency_and_chunk_pacing(monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)

    monkeypatch.setattr(app_module, "asyncio", SimpleNamespace(sleep=fake_sleep))
    monkeypatch.setattr(streaming, "asyncio", SimpleNamespace(sleep=fake_sleep))
    app = create_simulator_app(SimulatorConfig(latency_ms=250, chunk_delay_ms=20))
    await call_app(
        app, "POST", "/v1/messages", anthropic_body("hi [[sim:chunks=4]]", stream=True), ANTHROPIC_AUTH
    )
    # latency once before the response, then a gap before each text delta but the first
    assert slept == [0.25, 0.02, 0.02, 0.02]
    slept.clear()
    await call_app(
        app,
        "POST",
        "/v1/messages",
        anthropic_body("hi", stream=True),
        {**ANTHROPIC_AUTH, "x-sim-latency-ms": "0", "x-sim-chunk-delay-ms": "5", "x-sim-chunks": "3"},
    )
    assert slept == [0.005, 0.005]


async def test_hang_waits_for_the_client_to_leave_without_answering() -> None:
    app = create_simulator_app(SimulatorConfig())
    result = await call_app(app, "POST", "/v1/chat/completions", chat("[[sim:hang]]"), OPENAI_AUTH)
    assert result.status == 0  # nothing was sent; the in-process client "disconnected" at once
    assert result.bodies == []


async def test_lifespan_is_acknowledged() -> None:
    app = create_simulator_app(SimulatorConfig())
    incoming = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent: list[dict[str, object]] = []

    async def receive() -> dict[str, object]:
        return incoming.pop(0)

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    await app({"type": "lifespan"}, receive, send)
    assert [message["type"] for message in sent] == [
        "lifespan.startup.complete",
        "lifespan.shutdown.complete",
    ]


async def test_media_files_for_fetch_tests() -> None:
    """``GET /_sim/media/<name>`` serves a deterministic file of the asked type and size."""
    from bytespike.simulator.media import PNG_1X1

    app = create_simulator_app(SimulatorConfig())
    png = await call_app(app, "GET", "/_sim/media/cat.png")
    assert png.status == 200 and png.body == PNG_1X1
    assert png.headers[b"content-type"] == b"image/png"
    big = await call_app(app, "GET", "/_sim/media/big.pdf", query=b"type=application/pdf&size=5000")
    assert len(big.body) == 5000 and big.body.startswith(PNG_1X1)
    assert big.headers[b"content-type"] == b"application/pdf"
    moved = await call_app(app, "GET", "/_sim/media/x", query=b"redirect=http://10.0.0.1/x.png")
    assert moved.status == 302 and moved.headers[b"location"] == b"http://10.0.0.1/x.png"
