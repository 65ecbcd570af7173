"""Cross-protocol guarantees beyond the matrix (issue 3, "Done when" and item 7).

- The same usage costs the same micro-USD whichever protocol the caller spoke (usage is
  normalized once, DESIGN.md §2).
- ``X-ByteSpike-Degraded`` names every field translation dropped; ``X-ByteSpike-Strict: true``
  turns a drop into a 400 naming the field; a translation that drops nothing reports nothing and
  passes strict mode.
- ``/v1/messages/count_tokens`` and Gemini ``:countTokens`` reach every model: exact through the
  vendor's counting endpoint (Anthropic, Google), otherwise a documented estimate; always free.
"""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import pytest
from google.genai import errors as genai_errors
from google.genai import types

from tests.conformance.clients import (
    CLIENTS,
    PNG_BASE64,
    PNG_MEDIA_TYPE,
    AnthropicClient,
    Ask,
    Client,
    GeminiClient,
)
from tests.conformance.upstream import UPSTREAMS
from tests.support import gateway as harness
from tests.web.billing import assert_not_billed
from tests.web.upstream_log import new_marker, upstream_requests

pytestmark = pytest.mark.filterwarnings(
    "ignore:Inheritance class AiohttpClientSession from ClientSession is discouraged:DeprecationWarning"
)

STRICT = {"X-ByteSpike-Strict": "true"}


async def _funded_client(
    gateway: harness.GatewayHarness, name: str, **options: Any
) -> tuple[Client, Any, int]:
    key = await gateway.funded_key()
    before = await gateway.balance(key.wallet_id)
    cls = CLIENTS[name]
    client = cls(gateway.url, key.secret, **options)
    return client, key, before


# ---------------------------------------------------------------------------- cost


@pytest.mark.parametrize("upstream", list(UPSTREAMS))
async def test_same_usage_costs_the_same_through_every_protocol(gateway, upstream: str) -> None:
    """The same usage costs the same micro-USD through all four client protocols to one model."""
    target = UPSTREAMS[upstream]
    prompt = "Same usage whatever the protocol [[sim:input=100,cache_read=20,cache_write=10,words=8]]"
    # Gemini reports no cache writes: from a Gemini upstream those tokens are plain input.
    writes = 0 if target.provider == "gemini" else 10
    expected = gateway.expected_cost(
        target.model, input_tokens=130, output_tokens=8, cache_read=20, cache_write=writes
    )
    assert expected > 0

    async def through(name: str) -> list[dict[str, Any]]:
        client, key, before = await _funded_client(gateway, name)
        try:
            await asyncio.gather(*(client.send(target.model, Ask(prompt, stream=s)) for s in (False, True)))
        finally:
            await client.close()
        rows = await gateway.usage_rows(key.key_id)
        assert before - await gateway.balance(key.wallet_id) == sum(r["cost_micros"] for r in rows)
        return rows

    rows_by_client = dict(zip(CLIENTS, await asyncio.gather(*(through(n) for n in CLIENTS)), strict=True))
    for name, rows in rows_by_client.items():
        assert sorted(r["is_stream"] for r in rows) == [False, True], name
        for row in rows:
            tokens = (
                row["input_tokens"],
                row["output_tokens"],
                row["cache_read_tokens"],
                row["cache_write_tokens"],
                row["reasoning_tokens"],
            )
            assert tokens == (130, 8, 20, writes, 0), (name, row["is_stream"], tokens)
            assert row["cost_micros"] == expected, (name, row["is_stream"], row["cost_micros"], expected)
            assert row["caller_protocol"] == CLIENTS[name].protocol


# ---------------------------------------------------------------------------- degradation


DROPS = [
    # (client, model, what the client sends, the one field the vendor cannot take)
    ("anthropic", "gpt-5-4", "top_k"),
    ("anthropic", "deepseek-v4-pro", "top_k"),
    ("google-genai", "gpt-5-4", "top_k"),
    ("google-genai", "deepseek-v4-pro", "top_k"),
]


def _client_options(name: str) -> dict[str, Any]:
    # An Anthropic client of the 2023-06-01 API version, which still has sampling parameters.
    return {"default_headers": {"anthropic-version": "2023-06-01"}} if name == "anthropic" else {}


DROP_IDS = [f"{client}-{model}" for client, model, _ in DROPS]


@pytest.mark.parametrize(("client_name", "model", "dropped"), DROPS, ids=DROP_IDS)
async def test_degraded_header_lists_the_dropped_field(gateway, client_name, model, dropped) -> None:
    """X-ByteSpike-Degraded names what translation dropped (top_k has no OpenAI counterpart);
    what the vendor can take (temperature) is sent."""
    client, key, before = await _funded_client(gateway, client_name, **_client_options(client_name))
    marker = new_marker()
    try:
        reply = await client.send(model, Ask(f"Sample me {marker}", temperature=0.5, top_k=40))
    finally:
        await client.close()
    assert reply.degraded == dropped, reply.headers
    [record] = await upstream_requests(gateway, marker)
    assert record["body"]["temperature"] == 0.5
    assert "top_k" not in record["body"] and "topK" not in record["body"]
    rows = await gateway.usage_rows(key.key_id)
    assert len(rows) == 1 and rows[0]["status"] == 200
    assert before - await gateway.balance(key.wallet_id) == rows[0]["cost_micros"] > 0


@pytest.mark.parametrize(("client_name", "model", "dropped"), DROPS, ids=DROP_IDS)
async def test_strict_mode_turns_the_drop_into_a_400_naming_the_field(
    gateway, client_name, model, dropped
) -> None:
    """X-ByteSpike-Strict: true refuses a request translation would have to cut, naming the
    field, before anything reaches the vendor; the refusal is free."""
    client, key, before = await _funded_client(gateway, client_name, **_client_options(client_name))
    marker = new_marker()
    try:
        with pytest.raises(Exception) as caught:
            await client.send(model, Ask(f"Sample me {marker}", temperature=0.5, top_k=40, headers=STRICT))
    finally:
        await client.close()
    failure = client.failure(caught.value)
    assert failure is not None, caught.value
    assert failure.status == 400, failure
    assert failure.message.startswith(f"{dropped}:"), failure
    assert "X-ByteSpike-Strict" in failure.message, failure
    assert await upstream_requests(gateway, marker) == []
    await assert_not_billed(gateway, key, before)


TRANSLATED = [
    (name, upstream)
    for name, cls in CLIENTS.items()
    for upstream, target in UPSTREAMS.items()
    if target.protocol_for(cls.protocol) != cls.protocol
]


@pytest.mark.parametrize(("client_name", "upstream"), TRANSLATED, ids=[f"{c}-{u}" for c, u in TRANSLATED])
async def test_lossless_translation_reports_nothing_and_passes_strict_mode(
    gateway, client_name, upstream
) -> None:
    """A plain request loses nothing in translation: no X-ByteSpike-Degraded header, and
    X-ByteSpike-Strict accepts it (streamed and not)."""
    client, key, _ = await _funded_client(gateway, client_name)
    model = UPSTREAMS[upstream].model
    try:
        replies = await asyncio.gather(
            *(
                client.send(model, Ask("Nothing to drop here", headers=STRICT, stream=s))
                for s in (False, True)
            )
        )
    finally:
        await client.close()
    for reply in replies:
        assert reply.degraded is None, reply.headers
        assert reply.text.endswith("You said: Nothing to drop here")
    assert len(await gateway.usage_rows(key.key_id)) == 2


async def test_a_gemini_part_s_media_resolution_is_reported_or_refused(gateway) -> None:
    """google-genai's per-part ``media_resolution`` has no counterpart at OpenAI: it is named in
    X-ByteSpike-Degraded (the image itself is sent), and X-ByteSpike-Strict refuses it, free."""
    key = await gateway.funded_key()
    before = await gateway.balance(key.wallet_id)
    sdk = GeminiClient(gateway.url, key.secret).sdk
    marker = new_marker()
    image = types.Part(
        inline_data=types.Blob(mime_type=PNG_MEDIA_TYPE, data=base64.b64decode(PNG_BASE64)),
        media_resolution=types.PartMediaResolution(level=types.PartMediaResolutionLevel.MEDIA_RESOLUTION_LOW),
    )
    contents = [types.Content(role="user", parts=[types.Part(text=f"What is this? {marker}"), image])]
    try:
        response = await sdk.models.generate_content(model="gpt-5-4", contents=contents)
        with pytest.raises(genai_errors.APIError) as caught:
            await sdk.models.generate_content(
                model="gpt-5-4",
                contents=[types.Content(role="user", parts=[types.Part(text=f"Strict {marker}"), image])],
                config=types.GenerateContentConfig(http_options=types.HttpOptions(headers=STRICT)),
            )
    finally:
        await sdk.aclose()
    headers = {k.lower(): v for k, v in (response.sdk_http_response.headers or {}).items()}
    assert headers["x-bytespike-degraded"] == "contents[0].parts[1].mediaResolution"
    [record] = await upstream_requests(gateway, marker)  # the strict one never left the gateway
    assert record["body"]["messages"][0]["content"][1]["type"] == "image_url"
    assert caught.value.code == 400
    assert str(caught.value.message).startswith("contents[0].parts[1].mediaResolution:")
    rows = await gateway.usage_rows(key.key_id)
    assert len(rows) == 1 and before - await gateway.balance(key.wallet_id) == rows[0]["cost_micros"]


# ---------------------------------------------------------------------------- token counting


def _count_path(provider: str, upstream_model: str) -> str | None:
    if provider == "anthropic":
        return "/v1/messages/count_tokens"
    if provider == "gemini":
        return f"/v1beta/models/{upstream_model}:countTokens"
    if provider == "openai":
        return "/v1/responses/input_tokens"  # OpenAI's, whichever of its protocols serves the model
    return None  # no counting endpoint (DeepSeek, compatible hosts): the gateway estimates


@pytest.mark.parametrize("upstream", list(UPSTREAMS))
async def test_count_tokens_through_both_counting_protocols_is_free(gateway, upstream: str) -> None:
    """count_tokens (Anthropic) and countTokens (Gemini) answer for every model: exact through
    the vendor's counting endpoint, else the same documented estimate from either protocol; free."""
    target = UPSTREAMS[upstream]
    key = await gateway.funded_key()
    before = await gateway.balance(key.wallet_id)
    marker = new_marker()
    prompt = f"How many tokens is this prompt? {marker}"
    anthropic_client = AnthropicClient(gateway.url, key.secret)
    gemini_client = GeminiClient(gateway.url, key.secret)
    try:
        raw = await anthropic_client.sdk.messages.with_raw_response.count_tokens(
            model=target.model, messages=[{"role": "user", "content": prompt}]
        )
        counted = await raw.parse()
        a_count, a_kind = counted.input_tokens, raw.headers.get("x-bytespike-token-count")
        response = await gemini_client.sdk.models.count_tokens(model=target.model, contents=prompt)
        g_count = response.total_tokens
        g_kind = response.sdk_http_response.headers.get("x-bytespike-token-count")
    finally:
        await anthropic_client.close()
        await gemini_client.close()

    path = _count_path(target.provider, target.upstream_model)
    assert a_count > 0 and g_count > 0
    assert (a_kind, g_kind) == (("exact", "exact") if path else ("estimate", "estimate"))
    records = await upstream_requests(gateway, marker)
    if path is None:
        # One canonical request, one estimate, whichever protocol asked.
        assert a_count == g_count
        assert records == []
    else:
        # Both went to the vendor's own counting endpoint, translated when needed.
        assert [r["path"] for r in records] == [path, path]
        if target.provider == "openai":
            for record in records:  # a Responses request, less what input_tokens refuses
                assert record["body"]["model"] == target.upstream_model
                assert isinstance(record["body"]["input"], list)
                assert not {"max_output_tokens", "stream", "store"} & set(record["body"])
    await assert_not_billed(gateway, key, before)


@pytest.mark.parametrize(("client_name", "upstream"), TRANSLATED, ids=[f"{c}-{u}" for c, u in TRANSLATED])
async def test_replayed_tool_conversation_passes_strict_mode(gateway, client_name, upstream) -> None:
    """A translated answer sent back as history (a tool call, then its result) loses nothing the
    vendor needs: X-ByteSpike-Strict accepts both turns and no X-ByteSpike-Degraded is reported."""
    client, key, _ = await _funded_client(gateway, client_name)
    model = UPSTREAMS[upstream].model
    prompt = "What is the weather in Paris?"
    try:
        first = await client.send(model, Ask(prompt, tools=True, headers=STRICT))
        second = await client.send(
            model,
            Ask("", tools=True, prior=first, prior_prompt=prompt, tool_result="sunny", headers=STRICT),
        )
    finally:
        await client.close()
    assert [c.name for c in first.calls] == ["get_weather"]
    assert (first.degraded, second.degraded) == (None, None), (first.headers, second.headers)
    assert "The tool returned:" in second.text
    assert len(await gateway.usage_rows(key.key_id)) == 2


@pytest.mark.parametrize("upstream", list(UPSTREAMS))
async def test_chat_stream_shows_usage_only_when_asked(gateway, upstream: str) -> None:
    """An OpenAI Chat stream carries the usage-only chunk only with stream_options.include_usage
    (protocols.md §5.9), translated or not; billing reads the usage either way."""
    target = UPSTREAMS[upstream]
    client, key, before = await _funded_client(gateway, "openai-chat")
    prompt = "Count my usage [[sim:input=40,words=6]]"
    try:
        streams = []
        for options in ({}, {"stream_options": {"include_usage": True}}):
            stream = await client.sdk.chat.completions.create(
                model=target.model, messages=[{"role": "user", "content": prompt}], stream=True, **options
            )
            streams.append([chunk async for chunk in stream])
    finally:
        await client.close()
    quiet, counted = streams
    assert quiet and all(chunk.choices for chunk in quiet), "a usage-only chunk nobody asked for"
    assert all(chunk.usage is None for chunk in quiet)
    assert [c.choices[0].finish_reason for c in quiet if c.choices[0].finish_reason] == ["stop"]
    assert [c for c in counted if not c.choices] == [counted[-1]], "one usage chunk, last"
    usage = counted[-1].usage
    assert (usage.prompt_tokens, usage.completion_tokens) == (40, 6)
    rows = await gateway.usage_rows(key.key_id)
    assert [(r["input_tokens"], r["output_tokens"]) for r in rows] == [(40, 6), (40, 6)]
    assert rows[0]["cost_micros"] == rows[1]["cost_micros"] > 0
    assert before - await gateway.balance(key.wallet_id) == 2 * rows[0]["cost_micros"]
