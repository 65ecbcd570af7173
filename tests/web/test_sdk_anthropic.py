"""The official ``anthropic`` SDK (2.10.0) against a real gateway in front of the simulator.

Its strict stream accumulator (`MessageStream.get_final_message`) is the oracle for the relayed
SSE (protocols.md §8.3). Every successful call is checked for exactly one usage row billed at
the usage the SDK reported, and an equal wallet debit.
"""

from __future__ import annotations

import re
from typing import Any

import aiohttp
import anthropic
import orjson
import pytest

from tests.support.gateway import SIM_VENDOR_KEY
from tests.web.billing import (
    ANTHROPIC,
    Billed,
    assert_accounting_headers,
    assert_billed,
    assert_not_billed,
    from_anthropic,
    quota_micros,
)
from tests.web.upstream_log import new_marker, only_upstream_request, upstream_requests

MODEL = "claude-sonnet-4-6"
WEATHER_TOOL = {
    "name": "get_weather",
    "description": "Current weather in a city.",
    "input_schema": {
        "type": "object",
        "properties": {
            "city": {"type": "string"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        },
        "required": ["city", "unit"],
    },
}
TIME_TOOL = {
    "name": "get_time",
    "description": "Local time in a time zone.",
    "input_schema": {
        "type": "object",
        "properties": {"timezone": {"type": "string"}, "hour24": {"type": "boolean"}},
        "required": ["timezone", "hour24"],
    },
}
TOOLS = [WEATHER_TOOL, TIME_TOOL]
REQUIRED_ARGS = {"get_weather": {"city", "unit"}, "get_time": {"timezone", "hour24"}}
TOOL_USE_ID = re.compile(r"^toolu_[A-Za-z0-9_-]+$")


def client_for(gateway, key, **options: Any) -> anthropic.AsyncAnthropic:
    """SDK 2.x sends the key as ``Authorization: Bearer`` and ``anthropic-version: 2026-10-21``."""
    return anthropic.AsyncAnthropic(api_key=key.secret, base_url=gateway.url, max_retries=0, **options)


async def send(client: anthropic.AsyncAnthropic, *, stream: bool, **params: Any) -> tuple[Any, Any]:
    """(final message, response headers) of one call, streamed through `MessageStream` or not."""
    params.setdefault("model", MODEL)
    params.setdefault("max_tokens", 512)
    if stream:
        async with client.messages.stream(**params) as s:
            return await s.get_final_message(), s.response.headers
    raw = await client.messages.with_raw_response.create(**params)
    return await raw.parse(), raw.headers


def user(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": text}]


def billed(message: Any, *, stream: bool, headers: Any = None, model: str = MODEL) -> Billed:
    return Billed(
        model,
        ANTHROPIC,
        stream,
        from_anthropic(message.usage),
        headers.get("x-request-id") if headers is not None else None,
    )


def tool_uses(message: Any) -> list[Any]:
    return [block for block in message.content if block.type == "tool_use"]


# ---------------------------------------------------------------------------- text


@pytest.mark.parametrize("model", [MODEL, "claude-haiku-4-5"])
async def test_text_reply_is_billed_at_the_reported_usage(gateway, model: str) -> None:
    key = await gateway.funded_key()
    before = await gateway.balance(key.wallet_id)
    async with client_for(gateway, key) as client:
        message, headers = await send(
            client, stream=False, model=model, messages=user("Say hello to the gateway")
        )

    assert message.model == model
    assert message.stop_reason == "end_turn"
    assert [block.type for block in message.content] == ["text"]
    assert message.content[0].text.endswith("You said: Say hello to the gateway")
    after = await gateway.balance(key.wallet_id)
    # A non-streamed reply is settled before its headers are written: they show the new balance.
    assert_accounting_headers(headers, remaining_micros=after)
    await assert_billed(gateway, key, before, billed(message, stream=False, headers=headers, model=model))


@pytest.mark.parametrize("model", [MODEL, "claude-haiku-4-5"])
async def test_streamed_text_accumulates_and_is_billed(gateway, model: str) -> None:
    key = await gateway.funded_key()
    before = await gateway.balance(key.wallet_id)
    async with (
        client_for(gateway, key) as client,
        client.messages.stream(
            model=model, max_tokens=512, messages=user("Stream a reply [[sim:words=30]]")
        ) as stream,
    ):
        headers = stream.response.headers
        pieces = [text async for text in stream.text_stream]
        message = await stream.get_final_message()

    assert len(pieces) == 30  # one delta per word, all relayed
    assert [block.type for block in message.content] == ["text"]
    assert "".join(pieces) == message.content[0].text
    assert len(message.content[0].text.split()) == 30
    assert message.stop_reason == "end_turn"
    assert message.model == model
    # Stream headers leave before the first frame, so before the cost is known (spec §3.10).
    assert_accounting_headers(headers, remaining_micros=before)
    await assert_billed(gateway, key, before, billed(message, stream=True, headers=headers, model=model))


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
async def test_cache_tokens_are_billed_at_cache_rates(gateway, stream: bool) -> None:
    key = await gateway.funded_key()
    before = await gateway.balance(key.wallet_id)
    async with client_for(gateway, key) as client:
        message, headers = await send(
            client,
            stream=stream,
            system=[
                {"type": "text", "text": "A long shared prefix.", "cache_control": {"type": "ephemeral"}}
            ],
            messages=user("Reuse the cached prefix [[sim:cache_read=1200,cache_write=300]]"),
        )

    assert message.usage.cache_read_input_tokens == 1200
    assert message.usage.cache_creation_input_tokens == 300
    # Anthropic's input_tokens excludes both cache counts; the gateway must add them back.
    assert message.usage.input_tokens < 1200
    [row_cost] = await assert_billed(gateway, key, before, billed(message, stream=stream, headers=headers))
    all_uncached = gateway.expected_cost(
        MODEL,
        input_tokens=from_anthropic(message.usage).input_tokens,
        output_tokens=message.usage.output_tokens,
    )
    assert row_cost < all_uncached


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
async def test_thinking_is_relayed_and_billed(gateway, stream: bool) -> None:
    key = await gateway.funded_key()
    before = await gateway.balance(key.wallet_id)
    async with client_for(gateway, key) as client:
        message, headers = await send(
            client,
            stream=stream,
            thinking={"type": "adaptive"},
            messages=user("Think it over [[sim:reasoning=24]]"),
        )

    assert [block.type for block in message.content] == ["thinking", "text"]
    thinking = message.content[0]
    assert thinking.thinking.startswith("Let me think")
    assert thinking.signature  # signature_delta relayed intact
    assert message.usage.output_tokens_details.thinking_tokens == 24
    assert message.usage.output_tokens > 24
    await assert_billed(gateway, key, before, billed(message, stream=stream, headers=headers))


# ---------------------------------------------------------------------------- tools


@pytest.mark.parametrize(
    ("directive", "names"),
    [("", ["get_weather"]), ("[[sim:parallel=2]]", ["get_weather", "get_time"])],
    ids=["single", "parallel"],
)
async def test_tool_calls_streamed_and_not_agree(gateway, directive: str, names: list[str]) -> None:
    key = await gateway.funded_key()
    before = await gateway.balance(key.wallet_id)
    prompt = user(f"What is the weather and the time in Paris? {directive}")
    async with client_for(gateway, key) as client:
        plain, plain_headers = await send(client, stream=False, tools=TOOLS, messages=prompt)
        streamed, streamed_headers = await send(client, stream=True, tools=TOOLS, messages=prompt)

    for message in (plain, streamed):
        assert message.stop_reason == "tool_use"
        calls = tool_uses(message)
        assert [call.name for call in calls] == names
        assert all(TOOL_USE_ID.match(call.id) for call in calls)
        assert len({call.id for call in calls}) == len(calls)
        for call in calls:
            assert isinstance(call.input, dict)
            assert REQUIRED_ARGS[call.name] <= set(call.input)
    # input_json_delta fragments accumulate to exactly the non-streamed input.
    assert [call.input for call in tool_uses(streamed)] == [call.input for call in tool_uses(plain)]
    await assert_billed(
        gateway,
        key,
        before,
        billed(plain, stream=False, headers=plain_headers),
        billed(streamed, stream=True, headers=streamed_headers),
    )


@pytest.mark.parametrize("directive", ["", "[[sim:reasoning=8]]"], ids=["plain", "with-thinking"])
async def test_tool_result_round_trip(gateway, directive: str) -> None:
    key = await gateway.funded_key()
    before = await gateway.balance(key.wallet_id)
    marker = new_marker()
    question = {"role": "user", "content": f"Weather in Paris? {marker} {directive}"}
    async with client_for(gateway, key) as client:
        first, first_headers = await send(client, stream=False, tools=TOOLS, messages=[question])
        [call] = tool_uses(first)
        assert [b.type for b in first.content][-1] == "tool_use"
        history = [
            question,
            {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in first.content]},
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "Sunny 22 degrees"}],
            },
        ]
        second, second_headers = await send(client, stream=True, tools=TOOLS, messages=history)

    assert second.stop_reason == "end_turn"
    assert tool_uses(second) == []
    assert second.content[-1].text.endswith("The tool returned: Sunny 22 degrees")
    upstream = await upstream_requests(gateway, marker)
    assert len(upstream) == 2
    result_block = upstream[1]["body"]["messages"][2]["content"][0]
    assert result_block == {"type": "tool_result", "tool_use_id": call.id, "content": "Sunny 22 degrees"}
    replayed = upstream[1]["body"]["messages"][1]["content"]
    assert replayed == [b.model_dump(exclude_none=True) for b in first.content]
    if directive:
        # The thinking block (and its signature) reaches the vendor byte-exact (protocols.md §1.3).
        assert first.content[0].type == "thinking"
        assert replayed[0]["signature"] == first.content[0].signature != ""
    await assert_billed(
        gateway,
        key,
        before,
        billed(first, stream=False, headers=first_headers),
        billed(second, stream=True, headers=second_headers),
    )


# ---------------------------------------------------------------------------- auth and headers


def _bearer(gateway, key) -> anthropic.AsyncAnthropic:
    return client_for(gateway, key)


def _x_api_key_only(gateway, key) -> anthropic.AsyncAnthropic:
    # What SDK 1.x, curl and Claude Code send: x-api-key and no Authorization header.
    return client_for(
        gateway, key, default_headers={"x-api-key": key.secret, "Authorization": anthropic.omit}
    )


def _x_api_key_beats_bearer(gateway, key) -> anthropic.AsyncAnthropic:
    return anthropic.AsyncAnthropic(
        api_key="sk-byts-" + "0" * 44,
        default_headers={"x-api-key": key.secret},
        base_url=gateway.url,
        max_retries=0,
    )


@pytest.mark.parametrize("make_client", [_bearer, _x_api_key_only, _x_api_key_beats_bearer])
async def test_key_is_accepted_in_either_header(gateway, make_client) -> None:
    key = await gateway.funded_key()
    before = await gateway.balance(key.wallet_id)
    marker = new_marker()
    async with make_client(gateway, key) as client:
        raw = await client.messages.with_raw_response.create(
            model=MODEL, max_tokens=64, messages=user(f"Who am I? {marker}")
        )
        message = await raw.parse()

    sent = raw.http_request.headers
    if make_client is _x_api_key_only:
        assert "authorization" not in sent and sent["x-api-key"] == key.secret
    await assert_billed(gateway, key, before, billed(message, stream=False, headers=raw.headers))
    # The caller's key stays at the gateway; the vendor sees only the gateway's own credential.
    upstream = await only_upstream_request(gateway, marker)
    assert upstream["headers"]["x-api-key"] == SIM_VENDOR_KEY
    assert key.secret not in orjson.dumps(upstream["headers"]).decode()


async def test_x_api_key_wins_over_a_valid_bearer(gateway) -> None:
    key = await gateway.funded_key()
    before = await gateway.balance(key.wallet_id)
    async with client_for(gateway, key, default_headers={"x-api-key": "sk-byts-" + "1" * 44}) as client:
        with pytest.raises(anthropic.AuthenticationError) as caught:
            await client.messages.create(model=MODEL, max_tokens=64, messages=user("hi"))
    assert caught.value.status_code == 401
    assert caught.value.body["error"]["type"] == "authentication_error"
    await assert_not_billed(gateway, key, before)


@pytest.mark.parametrize("version", ["2026-10-21", "2023-06-01"])
async def test_both_api_versions_are_accepted_and_forwarded(gateway, version: str) -> None:
    key = await gateway.funded_key()
    before = await gateway.balance(key.wallet_id)
    marker = new_marker()
    async with client_for(gateway, key, default_headers={"anthropic-version": version}) as client:
        raw = await client.messages.with_raw_response.create(
            model=MODEL, max_tokens=64, messages=user(f"Version check {marker}")
        )
        message = await raw.parse()

    assert raw.http_request.headers["anthropic-version"] == version
    await assert_billed(gateway, key, before, billed(message, stream=False, headers=raw.headers))
    upstream = await only_upstream_request(gateway, marker)
    assert upstream["headers"]["anthropic-version"] == version


async def test_old_style_client_with_x_api_key_and_temperature(gateway) -> None:
    """A curl/Claude-Code style call: x-api-key, 2023-06-01, sampling params, ``?beta=true``."""
    key = await gateway.funded_key()
    before = await gateway.balance(key.wallet_id)
    marker = new_marker()
    body = {
        "model": MODEL,
        "max_tokens": 64,
        "temperature": 0.3,
        "messages": [{"role": "user", "content": f"Old client {marker}"}],
    }
    headers = {"x-api-key": key.secret, "anthropic-version": "2023-06-01", "content-type": "application/json"}
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{gateway.url}/v1/messages?beta=true", data=orjson.dumps(body), headers=headers
        ) as resp,
    ):
        assert resp.status == 200, await resp.text()
        message = anthropic.types.Message.model_validate(orjson.loads(await resp.read()))
        request_id = resp.headers["x-request-id"]

    assert message.content[0].text.endswith(f"You said: Old client {marker}")
    await assert_billed(
        gateway, key, before, Billed(MODEL, ANTHROPIC, False, from_anthropic(message.usage), request_id)
    )
    upstream = await only_upstream_request(gateway, marker)
    assert upstream["headers"]["anthropic-version"] == "2023-06-01"
    assert upstream["body"]["temperature"] == 0.3


async def test_beta_header_is_forwarded_upstream(gateway) -> None:
    key = await gateway.funded_key()
    before = await gateway.balance(key.wallet_id)
    marker = new_marker()
    betas = ["interleaved-thinking-2025-05-14", "context-1m-2025-08-07"]
    async with client_for(gateway, key) as client:
        raw = await client.beta.messages.with_raw_response.create(
            model=MODEL, max_tokens=64, betas=betas, messages=user(f"Beta please {marker}")
        )
        message = await raw.parse()

    assert raw.http_request.headers["anthropic-beta"] == ",".join(betas)
    await assert_billed(gateway, key, before, billed(message, stream=False, headers=raw.headers))
    upstream = await only_upstream_request(gateway, marker)
    assert upstream["headers"]["anthropic-beta"] == ",".join(betas)


async def test_quota_headers_move_by_exactly_the_billed_cost(gateway) -> None:
    key = await gateway.funded_key()
    before = await gateway.balance(key.wallet_id)
    async with client_for(gateway, key) as client:
        first, h1 = await send(client, stream=False, messages=user("first"))
        second, h2 = await send(client, stream=False, messages=user("second, a little longer"))
        third, h3 = await send(client, stream=True, messages=user("third [[sim:words=40]]"))
        fourth, h4 = await send(client, stream=True, messages=user("fourth"))

    costs = await assert_billed(
        gateway,
        key,
        before,
        billed(first, stream=False, headers=h1),
        billed(second, stream=False, headers=h2),
        billed(third, stream=True, headers=h3),
        billed(fourth, stream=True, headers=h4),
    )
    assert_accounting_headers(h1, remaining_micros=before - costs[0])
    assert quota_micros(h2) == quota_micros(h1) - costs[1]
    # A stream's headers precede its settlement: the next response shows its exact cost.
    assert quota_micros(h3) == quota_micros(h2)
    assert quota_micros(h4) == quota_micros(h3) - costs[2]
    assert_accounting_headers(h4, remaining_micros=before - costs[0] - costs[1] - costs[2])


# ---------------------------------------------------------------------------- failures


async def test_upstream_overload_is_a_typed_error_and_free(gateway) -> None:
    key = await gateway.funded_key()
    before = await gateway.balance(key.wallet_id)
    async with client_for(gateway, key) as client:
        with pytest.raises(anthropic.APIStatusError) as caught:
            await client.messages.create(model=MODEL, max_tokens=64, messages=user("busy? [[sim:error=529]]"))
    assert caught.value.status_code == 503
    assert caught.value.body["type"] == "error"
    assert caught.value.body["error"]["type"] == "overloaded_error"
    assert_accounting_headers(caught.value.response.headers, remaining_micros=before)
    await assert_not_billed(gateway, key, before)


@pytest.mark.parametrize(
    ("fault", "error_type"),
    # The simulator's in-band error is an overload, which keeps its meaning; a cut connection
    # is the gateway's own api_error.
    [("midstream_error=2", "overloaded_error"), ("drop_after=2", "api_error")],
)
async def test_broken_stream_raises_in_the_sdk_and_is_free(gateway, fault: str, error_type: str) -> None:
    key = await gateway.funded_key()
    before = await gateway.balance(key.wallet_id)
    pieces: list[str] = []
    async with client_for(gateway, key) as client:
        with pytest.raises(anthropic.APIStatusError) as caught:
            async with client.messages.stream(
                model=MODEL, max_tokens=512, messages=user(f"break it [[sim:{fault},words=10]]")
            ) as stream:
                async for text in stream.text_stream:
                    pieces.append(text)
    assert len(pieces) == 2  # what was generated before the fault still reached the caller
    assert caught.value.body["type"] == "error"
    assert caught.value.body["error"]["type"] == error_type
    await assert_not_billed(gateway, key, before)
