"""The official ``openai`` SDK (3.51.0) against a real gateway in front of the simulator.

Chat Completions to OpenAI's own models and to DeepSeek (an OpenAI-compatible vendor), plus
``GET /v1/models``. The SDK's `ChatCompletionStreamState` (behind ``chat.completions.stream``) is
the oracle for relayed chunks (protocols.md §8.3). Every successful call is checked for exactly
one usage row billed at the usage the SDK reported, and an equal wallet debit.
"""

from __future__ import annotations

import json
import re
from typing import Any

import aiohttp
import openai
import orjson
import pytest
from openai.lib.streaming.chat import ChatCompletionStreamState

from tests.support.gateway import SIM_VENDOR_KEY
from tests.web.billing import (
    OPENAI_CHAT,
    Billed,
    assert_accounting_headers,
    assert_billed,
    assert_not_billed,
    from_openai,
    quota_micros,
)
from tests.web.upstream_log import new_marker, only_upstream_request, upstream_requests

MODEL = "gpt-5-4"
MODELS = ["gpt-5-4", "deepseek-v4-pro"]
WEATHER_PARAMS = {
    "type": "object",
    "properties": {
        "city": {"type": "string"},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
    },
    "required": ["city", "unit"],
}
TIME_PARAMS = {
    "type": "object",
    "properties": {"timezone": {"type": "string"}, "hour24": {"type": "boolean"}},
    "required": ["timezone", "hour24"],
}
TOOLS = [
    {
        "type": "function",
        "function": {"name": "get_weather", "description": "Weather.", "parameters": WEATHER_PARAMS},
    },
    {
        "type": "function",
        "function": {"name": "get_time", "description": "Local time.", "parameters": TIME_PARAMS},
    },
]
REQUIRED_ARGS = {"get_weather": {"city", "unit"}, "get_time": {"timezone", "hour24"}}
CALL_ID = re.compile(r"^call_[A-Za-z0-9_-]+$")
SPEC_MODEL_FIELDS = {
    "id",
    "object",
    "owned_by",
    "family",
    "capabilities",
    "context_window",
    "max_output_tokens",
    "input_modalities",
    "output_modalities",
    "pricing_url",
    "created",
}
"""``GET /v1/models`` entry fields of spec §3.8.1."""
OWNER_OF_FAMILY = {
    "claude": "anthropic",
    "gpt": "openai",
    "gemini": "google",
    "deepseek": "deepseek",
    # Spec §3.8.1: the family filter's vendor names for kimi, glm, minimax and doubao.
    "kimi": "moonshot",
    "glm": "zhipu",
    "minimax": "minimax",
    "doubao": "bytedance",
}


def client_for(gateway, key, **options: Any) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(api_key=key.secret, base_url=gateway.url + "/v1", max_retries=0, **options)


def user(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": text}]


async def send(client: openai.AsyncOpenAI, *, stream: bool, **params: Any) -> tuple[Any, Any]:
    """(completion, response headers or None) of one call; streamed through the SDK's
    ``chat.completions.stream`` helper (which exposes no headers) when ``stream``."""
    params.setdefault("model", MODEL)
    if stream:
        async with client.chat.completions.stream(stream_options={"include_usage": True}, **params) as s:
            return await s.get_final_completion(), None
    raw = await client.chat.completions.with_raw_response.create(**params)
    return raw.parse(), raw.headers


async def stream_raw(client: openai.AsyncOpenAI, **params: Any) -> tuple[list[Any], Any]:
    """Every chunk of a ``stream=True`` call, and the response headers."""
    raw = await client.chat.completions.with_raw_response.create(stream=True, **params)
    return [chunk async for chunk in raw.parse()], raw.headers


def accumulate(chunks: list[Any]) -> Any:
    """The SDK's strict accumulator over raw chunks (what ``chat.completions.stream`` runs)."""
    state = ChatCompletionStreamState()
    for chunk in chunks:
        state.handle_chunk(chunk)
    return state.get_final_completion()


def billed(model: str, completion: Any, *, stream: bool, headers: Any = None) -> Billed:
    return Billed(
        model,
        OPENAI_CHAT,
        stream,
        from_openai(completion.usage),
        headers.get("x-request-id") if headers is not None else None,
    )


# ---------------------------------------------------------------------------- text


@pytest.mark.parametrize("model", MODELS)
async def test_text_reply_is_billed_at_the_reported_usage(gateway, model: str) -> None:
    key = await gateway.funded_key()
    before = await gateway.balance(key.wallet_id)
    marker = new_marker()
    async with client_for(gateway, key) as client:
        completion, headers = await send(client, stream=False, model=model, messages=user(f"Hello {marker}"))

    assert completion.model == model
    assert completion.object == "chat.completion"
    [choice] = completion.choices
    assert choice.finish_reason == "stop"
    assert choice.message.content.endswith(f"You said: Hello {marker}")
    assert (
        completion.usage.total_tokens == completion.usage.prompt_tokens + completion.usage.completion_tokens
    )
    after = await gateway.balance(key.wallet_id)
    assert_accounting_headers(headers, remaining_micros=after)
    await assert_billed(gateway, key, before, billed(model, completion, stream=False, headers=headers))
    # The vendor is called with its own model id; the caller only ever sees the catalogue slug.
    upstream = await only_upstream_request(gateway, marker)
    assert upstream["body"]["model"] == gateway.catalogue.models[model].upstream_model
    assert upstream["path"] == "/v1/chat/completions"
    assert upstream["headers"]["authorization"] == f"Bearer {SIM_VENDOR_KEY}"
    assert key.secret not in orjson.dumps(upstream["headers"]).decode()


async def test_upstream_gets_vendor_model_id_and_client_sees_slug(gateway) -> None:
    key = await gateway.funded_key()
    before = await gateway.balance(key.wallet_id)
    marker = new_marker()
    async with client_for(gateway, key) as client:
        completion, headers = await send(client, stream=False, messages=user(f"Which model? {marker}"))
        chunks, stream_headers = await stream_raw(
            client,
            model=MODEL,
            messages=user(f"Which model, streamed? {marker}"),
            stream_options={"include_usage": True},
        )

    assert gateway.catalogue.models[MODEL].upstream_model == "gpt-5.4"
    assert completion.model == "gpt-5-4"
    assert {chunk.model for chunk in chunks} == {"gpt-5-4"}
    assert [r["body"]["model"] for r in await upstream_requests(gateway, marker)] == ["gpt-5.4", "gpt-5.4"]
    await assert_billed(
        gateway,
        key,
        before,
        billed(MODEL, completion, stream=False, headers=headers),
        Billed(MODEL, OPENAI_CHAT, True, from_openai(chunks[-1].usage), stream_headers["x-request-id"]),
    )


@pytest.mark.parametrize("model", MODELS)
async def test_stream_helper_final_completion_is_billed(gateway, model: str) -> None:
    key = await gateway.funded_key()
    before = await gateway.balance(key.wallet_id)
    deltas: list[str] = []
    async with (
        client_for(gateway, key) as client,
        client.chat.completions.stream(
            model=model,
            messages=user("Stream a reply [[sim:words=25]]"),
            stream_options={"include_usage": True},
        ) as stream,
    ):
        async for event in stream:
            if event.type == "content.delta" and event.delta:
                deltas.append(event.delta)
        completion = await stream.get_final_completion()

    assert len(deltas) == 25
    [choice] = completion.choices
    assert choice.finish_reason == "stop"
    assert choice.message.content == "".join(deltas)
    assert len(choice.message.content.split()) == 25
    assert completion.model == model
    assert completion.usage is not None
    await assert_billed(gateway, key, before, billed(model, completion, stream=True))


@pytest.mark.parametrize("model", MODELS)
async def test_raw_stream_with_include_usage_ends_with_one_usage_chunk(gateway, model: str) -> None:
    key = await gateway.funded_key()
    before = await gateway.balance(key.wallet_id)
    async with client_for(gateway, key) as client:
        chunks, headers = await stream_raw(
            client, model=model, messages=user("Count my usage"), stream_options={"include_usage": True}
        )

    usage_chunks = [chunk for chunk in chunks if not chunk.choices]
    assert len(usage_chunks) == 1
    assert usage_chunks[0] is chunks[-1]
    assert chunks[-1].usage is not None
    assert all(chunk.usage is None for chunk in chunks[:-1])
    assert [c.choices[0].finish_reason for c in chunks[:-1] if c.choices[0].finish_reason] == ["stop"]
    text = "".join(c.choices[0].delta.content or "" for c in chunks[:-1])
    assert text.endswith("You said: Count my usage")
    final = accumulate(chunks)
    assert final.choices[0].message.content == text
    assert final.usage == chunks[-1].usage
    assert {chunk.model for chunk in chunks} == {model}
    assert_accounting_headers(headers, remaining_micros=before)
    await assert_billed(
        gateway,
        key,
        before,
        Billed(model, OPENAI_CHAT, True, from_openai(chunks[-1].usage), headers["x-request-id"]),
    )


@pytest.mark.parametrize("model", MODELS)
async def test_raw_stream_without_include_usage_never_shows_a_usage_chunk(gateway, model: str) -> None:
    # [[sim:input=…]] fixes the prompt token count, so a twin call that asks for usage reports
    # exactly what this one consumed.
    marker = new_marker()
    prompt = f"Bill me quietly {marker} [[sim:input=40]]"
    key = await gateway.funded_key()
    before = await gateway.balance(key.wallet_id)
    twin_key = await gateway.funded_key()
    twin_before = await gateway.balance(twin_key.wallet_id)
    async with client_for(gateway, key) as client:
        chunks, headers = await stream_raw(client, model=model, messages=user(prompt))
    async with client_for(gateway, twin_key) as client:
        twin, twin_headers = await stream_raw(
            client, model=model, messages=user(prompt), stream_options={"include_usage": True}
        )

    # Clients doing chunk.choices[0] must not crash: the usage chunk the gateway asked for is
    # consumed by the gateway (protocols.md §2.6).
    assert chunks
    assert all(chunk.choices for chunk in chunks)
    assert all(chunk.usage is None for chunk in chunks)
    assert [c.choices[0].finish_reason for c in chunks if c.choices[0].finish_reason] == ["stop"]
    final = accumulate(chunks)
    assert final.usage is None
    assert final.choices[0].message.content == accumulate(twin).choices[0].message.content

    # Billing needs the usage, so the gateway asked the upstream for it anyway.
    upstream, _twin_upstream = await upstream_requests(gateway, marker)
    assert upstream["body"]["stream"] is True
    assert upstream["body"]["stream_options"]["include_usage"] is True
    assert upstream["body"]["model"] == gateway.catalogue.models[model].upstream_model

    twin_usage = from_openai(twin[-1].usage)
    await assert_billed(
        gateway, key, before, Billed(model, OPENAI_CHAT, True, twin_usage, headers["x-request-id"])
    )
    await assert_billed(
        gateway,
        twin_key,
        twin_before,
        Billed(model, OPENAI_CHAT, True, twin_usage, twin_headers["x-request-id"]),
    )


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
async def test_cached_prompt_tokens_are_billed_at_cache_rates(gateway, model: str, stream: bool) -> None:
    key = await gateway.funded_key()
    before = await gateway.balance(key.wallet_id)
    async with client_for(gateway, key) as client:
        completion, headers = await send(
            client,
            stream=stream,
            model=model,
            messages=user("Reuse the prefix [[sim:cache_read=2000,cache_write=500]]"),
        )

    details = completion.usage.prompt_tokens_details
    assert details.cached_tokens == 2000
    assert details.cache_write_tokens == 500
    # prompt_tokens INCLUDES the cached tokens.
    assert completion.usage.prompt_tokens > 2500
    await assert_billed(gateway, key, before, billed(model, completion, stream=stream, headers=headers))


@pytest.mark.parametrize("model", ["gpt-5-4", "gpt-5-5", "deepseek-v4-pro"])
@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
async def test_reasoning_tokens_are_billed(gateway, model: str, stream: bool) -> None:
    """gpt-5-5 bills reasoning at the input rate, the others at the output rate (spec §4.5)."""
    key = await gateway.funded_key()
    before = await gateway.balance(key.wallet_id)
    async with client_for(gateway, key) as client:
        completion, headers = await send(
            client, stream=stream, model=model, messages=user("Reason about it [[sim:reasoning=300]]")
        )

    assert completion.usage.completion_tokens_details.reasoning_tokens == 300
    assert completion.usage.completion_tokens > 300
    message = completion.choices[0].message
    if model.startswith("deepseek") and not stream:
        # DeepSeek shows its reasoning as the non-standard reasoning_content field.
        assert message.model_extra["reasoning_content"].startswith("Let me think")
    [cost] = await assert_billed(
        gateway, key, before, billed(model, completion, stream=stream, headers=headers)
    )
    as_output = gateway.expected_cost(
        model,
        input_tokens=completion.usage.prompt_tokens,
        output_tokens=completion.usage.completion_tokens,
    )
    if model == "gpt-5-5":
        assert cost < as_output
    else:
        assert cost == as_output


async def test_deepseek_streams_reasoning_content_deltas(gateway) -> None:
    key = await gateway.funded_key()
    before = await gateway.balance(key.wallet_id)
    async with client_for(gateway, key) as client:
        chunks, headers = await stream_raw(
            client,
            model="deepseek-v4-pro",
            messages=user("Reason out loud [[sim:reasoning=8]]"),
            stream_options={"include_usage": True},
        )

    reasoning = "".join(
        (c.choices[0].delta.model_extra or {}).get("reasoning_content") or "" for c in chunks if c.choices
    )
    assert reasoning.startswith("Let me think")
    await assert_billed(
        gateway,
        key,
        before,
        Billed("deepseek-v4-pro", OPENAI_CHAT, True, from_openai(chunks[-1].usage), headers["x-request-id"]),
    )


# ---------------------------------------------------------------------------- tools


def _calls(completion: Any) -> list[Any]:
    return list(completion.choices[0].message.tool_calls or [])


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize(
    ("directive", "names"),
    [("", ["get_weather"]), ("[[sim:parallel=2]]", ["get_weather", "get_time"])],
    ids=["single", "parallel"],
)
async def test_tool_calls_streamed_and_not_agree(
    gateway, model: str, directive: str, names: list[str]
) -> None:
    key = await gateway.funded_key()
    before = await gateway.balance(key.wallet_id)
    prompt = user(f"Weather and time in Paris? {directive}")
    async with client_for(gateway, key) as client:
        plain, plain_headers = await send(client, stream=False, model=model, tools=TOOLS, messages=prompt)
        streamed, _ = await send(client, stream=True, model=model, tools=TOOLS, messages=prompt)

    for completion in (plain, streamed):
        assert completion.choices[0].finish_reason == "tool_calls"
        calls = _calls(completion)
        assert [call.function.name for call in calls] == names
        assert all(call.type == "function" for call in calls)
        assert all(CALL_ID.match(call.id) for call in calls)
        assert len({call.id for call in calls}) == len(calls)
        for call in calls:
            arguments = json.loads(call.function.arguments)
            assert isinstance(arguments, dict)
            assert REQUIRED_ARGS[call.function.name] <= set(arguments)
    # Argument fragments accumulate to exactly the non-streamed arguments.
    assert [json.loads(c.function.arguments) for c in _calls(streamed)] == [
        json.loads(c.function.arguments) for c in _calls(plain)
    ]
    await assert_billed(
        gateway,
        key,
        before,
        billed(model, plain, stream=False, headers=plain_headers),
        billed(model, streamed, stream=True),
    )


@pytest.mark.parametrize("model", MODELS)
async def test_tool_result_round_trip(gateway, model: str) -> None:
    key = await gateway.funded_key()
    before = await gateway.balance(key.wallet_id)
    marker = new_marker()
    question = {"role": "user", "content": f"Weather in Paris? {marker}"}
    async with client_for(gateway, key) as client:
        first, first_headers = await send(client, stream=False, model=model, tools=TOOLS, messages=[question])
        [call] = _calls(first)
        tool_message = {"role": "tool", "tool_call_id": call.id, "content": "Sunny 22 degrees"}
        history = [
            question,
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": call.id,
                        "type": "function",
                        "function": {"name": call.function.name, "arguments": call.function.arguments},
                    }
                ],
            },
            tool_message,
        ]
        second, _ = await send(client, stream=True, model=model, tools=TOOLS, messages=history)

    assert second.choices[0].finish_reason == "stop"
    assert not second.choices[0].message.tool_calls
    assert second.choices[0].message.content.endswith("The tool returned: Sunny 22 degrees")
    upstream = await upstream_requests(gateway, marker)
    assert len(upstream) == 2
    assert upstream[1]["body"]["messages"][2] == tool_message
    await assert_billed(
        gateway,
        key,
        before,
        billed(model, first, stream=False, headers=first_headers),
        billed(model, second, stream=True),
    )


# ---------------------------------------------------------------------------- headers


async def test_quota_headers_move_by_exactly_the_billed_cost(gateway) -> None:
    key = await gateway.funded_key()
    before = await gateway.balance(key.wallet_id)
    usage_on = {"include_usage": True}
    async with client_for(gateway, key) as client:
        first, h1 = await send(client, stream=False, messages=user("first"))
        second, h2 = await send(client, stream=False, messages=user("second, somewhat longer"))
        third, h3 = await stream_raw(
            client, model=MODEL, messages=user("third [[sim:words=40]]"), stream_options=usage_on
        )
        fourth, h4 = await stream_raw(client, model=MODEL, messages=user("fourth"), stream_options=usage_on)

    costs = await assert_billed(
        gateway,
        key,
        before,
        billed(MODEL, first, stream=False, headers=h1),
        billed(MODEL, second, stream=False, headers=h2),
        Billed(MODEL, OPENAI_CHAT, True, from_openai(third[-1].usage), h3["x-request-id"]),
        Billed(MODEL, OPENAI_CHAT, True, from_openai(fourth[-1].usage), h4["x-request-id"]),
    )
    assert_accounting_headers(h1, remaining_micros=before - costs[0])
    assert quota_micros(h2) == quota_micros(h1) - costs[1]
    # A stream's headers precede its settlement: the next response shows its exact cost.
    assert quota_micros(h3) == quota_micros(h2)
    assert quota_micros(h4) == quota_micros(h3) - costs[2]
    assert_accounting_headers(h4, remaining_micros=before - sum(costs[:3]))


async def test_quota_header_reports_the_key_quota_when_tighter_than_the_wallet(gateway) -> None:
    key = await gateway.funded_key(usd="10", quota_usd="0.5")
    before = await gateway.balance(key.wallet_id)
    async with client_for(gateway, key) as client:
        completion, headers = await send(client, stream=False, messages=user("within quota"))

    [cost] = await assert_billed(
        gateway, key, before, billed(MODEL, completion, stream=False, headers=headers)
    )
    assert_accounting_headers(headers, remaining_micros=500_000 - cost)
    assert headers["x-quota-remaining-credits"] == "0.49"


# ---------------------------------------------------------------------------- failures


async def test_upstream_error_is_a_typed_error_and_free(gateway) -> None:
    key = await gateway.funded_key()
    before = await gateway.balance(key.wallet_id)
    async with client_for(gateway, key) as client:
        with pytest.raises(openai.InternalServerError) as caught:
            await client.chat.completions.create(model=MODEL, messages=user("fail [[sim:error=500]]"))
    assert caught.value.status_code == 502
    assert caught.value.code == "upstream_error"
    assert_accounting_headers(caught.value.response.headers, remaining_micros=before)
    await assert_not_billed(gateway, key, before)


@pytest.mark.parametrize("fault", ["midstream_error=2", "drop_after=2"])
async def test_broken_stream_raises_in_the_sdk_and_is_free(gateway, fault: str) -> None:
    key = await gateway.funded_key()
    before = await gateway.balance(key.wallet_id)
    async with client_for(gateway, key) as client:
        with pytest.raises(openai.APIError):
            await send(client, stream=True, messages=user(f"break it [[sim:{fault},words=10]]"))
    await assert_not_billed(gateway, key, before)


# ---------------------------------------------------------------------------- GET /v1/models


def _claude_default(slug: str) -> bool:
    return slug.startswith("claude-") or slug == "deepseek-v3-anthropic"


@pytest.mark.parametrize(
    ("group", "reaches"),
    [
        ("claude-default", _claude_default),
        ("gemini-default", lambda slug: slug.startswith("gemini-")),
        ("default", lambda slug: True),
    ],
)
async def test_models_list_shows_only_the_key_group(gateway, group: str, reaches) -> None:
    key = await gateway.funded_key(group=group)
    before = await gateway.balance(key.wallet_id)
    async with client_for(gateway, key) as client:
        raw = await client.models.with_raw_response.list()
        page = raw.parse()

    expected = sorted(slug for slug in gateway.catalogue.models if reaches(slug))
    assert expected
    assert sorted(m.id for m in page.data) == expected
    for m in page.data:
        entry = m.model_dump()
        assert set(entry) >= SPEC_MODEL_FIELDS
        catalogue = gateway.catalogue.models[m.id]
        assert entry["object"] == "model"
        assert entry["family"] == catalogue.family
        assert entry["owned_by"] == OWNER_OF_FAMILY[catalogue.family]
        assert entry["capabilities"] == list(catalogue.capabilities)
        assert entry["context_window"] == catalogue.context_window
        assert entry["max_output_tokens"] == catalogue.max_output_tokens
        assert entry["input_modalities"] == list(catalogue.input_modalities)
        assert entry["output_modalities"] == list(catalogue.output_modalities)
        assert entry["pricing_url"] == f"https://bytespike.ai/pricing#{m.id}"
        assert entry["created"] == catalogue.created
        assert "price" not in entry and "pricing" not in entry  # no prices on purpose
    assert_accounting_headers(raw.headers, remaining_micros=before)
    await assert_not_billed(gateway, key, before)  # free


async def test_models_list_entry_matches_the_spec_example(gateway) -> None:
    key = await gateway.funded_key(group="claude-default")
    before = await gateway.balance(key.wallet_id)
    async with client_for(gateway, key) as client:
        page = await client.models.list()
    sonnet = next(m.model_dump() for m in page.data if m.id == "claude-sonnet-4-6")
    assert sonnet["owned_by"] == "anthropic"
    assert sonnet["family"] == "claude"
    assert (sonnet["context_window"], sonnet["max_output_tokens"], sonnet["created"]) == (
        200000,
        8192,
        1714003200,
    )
    assert "deepseek-v3-anthropic" in {m.id for m in page.data}
    await assert_not_billed(gateway, key, before)


async def _list_models(gateway, key, query: str) -> list[str]:
    """``GET /v1/models`` with x-api-key (also accepted, spec §3.8.1) and a raw query string,
    since repeated ``capability`` parameters are not expressible through the SDK."""
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{gateway.url}/v1/models?{query}", headers={"x-api-key": key.secret}) as resp,
    ):
        assert resp.status == 200, await resp.text()
        return sorted(m["id"] for m in orjson.loads(await resp.read())["data"])


async def test_models_list_filters(gateway) -> None:
    key = await gateway.funded_key(group="claude-default")
    before = await gateway.balance(key.wallet_id)
    models = gateway.catalogue.models
    claude = sorted(slug for slug in models if slug.startswith("claude-"))
    # Spec §9 #15: the family filter takes vendor names and family names alike.
    assert await _list_models(gateway, key, "family=anthropic") == claude
    assert await _list_models(gateway, key, "family=claude") == claude
    assert await _list_models(gateway, key, "family=deepseek") == ["deepseek-v3-anthropic"]
    assert await _list_models(gateway, key, "family=google") == []
    vision = await _list_models(gateway, key, "capability=vision")
    assert vision == sorted(s for s in models if _claude_default(s) and "vision" in models[s].capabilities)
    assert "deepseek-v3-anthropic" not in vision
    thinking_vision = await _list_models(gateway, key, "capability=vision&capability=thinking")
    assert thinking_vision == sorted(
        s for s in claude if {"vision", "thinking"} <= set(models[s].capabilities)
    )
    assert "claude-haiku-4-5" not in thinking_vision
    assert "claude-haiku-4-5" in vision
    await assert_not_billed(gateway, key, before)
