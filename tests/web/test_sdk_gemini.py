"""The official ``google-genai`` SDK (3.3.0) against a real gateway in front of the simulator.

Both API versions are driven: ``v1beta`` (configured explicitly, as the spec's base URL says)
and the SDK's default ``v1``. The SDK's frame parser is the oracle for the relayed SSE
(protocols.md §8.3); key forms it cannot send (``?key=``, Bearer) go through raw aiohttp. Every
successful call is checked for exactly one usage row billed at the usage the SDK reported, and
an equal wallet debit.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson
import pytest
from google import genai
from google.genai import errors, types

from tests.support.gateway import SIM_VENDOR_KEY
from tests.web.billing import (
    GEMINI,
    Billed,
    assert_accounting_headers,
    assert_billed,
    assert_not_billed,
    from_gemini,
    quota_micros,
)
from tests.web.upstream_log import new_marker, only_upstream_request, upstream_requests

pytestmark = pytest.mark.filterwarnings(
    # google-genai subclasses aiohttp.ClientSession for its default async transport; aiohttp
    # deprecates that. The SDK's own warning, not ours: the default transport is what users get.
    "ignore:Inheritance class AiohttpClientSession from ClientSession is discouraged:DeprecationWarning"
)

MODEL = "gemini-3-1-pro"
UPSTREAM_MODEL = "gemini-3.1-pro"
WEATHER = types.FunctionDeclaration(
    name="get_weather",
    description="Current weather in a city.",
    parameters_json_schema={
        "type": "object",
        "properties": {
            "city": {"type": "string"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        },
        "required": ["city", "unit"],
    },
)
TIME = types.FunctionDeclaration(
    name="get_time",
    description="Local time in a time zone.",
    parameters_json_schema={
        "type": "object",
        "properties": {"timezone": {"type": "string"}, "hour24": {"type": "boolean"}},
        "required": ["timezone", "hour24"],
    },
)
TOOL_CONFIG = types.GenerateContentConfig(
    tools=[types.Tool(function_declarations=[WEATHER, TIME])],
    automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
)
REQUIRED_ARGS = {"get_weather": {"city", "unit"}, "get_time": {"timezone", "hour24"}}
CALL_ID = re.compile(r"^[A-Za-z0-9_-]+$")


def client_for(gateway, key, *, api_version: str | None = "v1beta") -> genai.client.AsyncClient:
    """The async client; ``api_version=None`` keeps the SDK default (``v1`` in 3.x)."""
    options = types.HttpOptions(base_url=gateway.url, retry_options=types.HttpRetryOptions(attempts=1))
    if api_version is not None:
        options.api_version = api_version
    return genai.Client(api_key=key.secret, http_options=options).aio


@dataclass
class Reply:
    """One generateContent answer; a stream's chunks joined the way a caller would join them."""

    parts: list[types.Part]
    usage: types.GenerateContentResponseUsageMetadata
    """The last ``usageMetadata`` seen (a stream's earlier ones cover only the prompt)."""
    headers: Mapping[str, str]
    finish_reason: Any
    model_version: str | None
    chunks: int = 1

    @property
    def text(self) -> str:
        return "".join(p.text for p in self.parts if p.text and not p.thought)

    @property
    def thoughts(self) -> list[types.Part]:
        return [p for p in self.parts if p.thought]

    @property
    def calls(self) -> list[types.FunctionCall]:
        return [p.function_call for p in self.parts if p.function_call is not None]


async def send(
    client: genai.client.AsyncClient,
    *,
    stream: bool,
    contents: Any,
    config: types.GenerateContentConfig | None = None,
    model: str = MODEL,
) -> Reply:
    if not stream:
        response = await client.models.generate_content(model=model, contents=contents, config=config)
        [candidate] = response.candidates
        return Reply(
            list(candidate.content.parts),
            response.usage_metadata,
            _lower(response.sdk_http_response.headers),
            candidate.finish_reason,
            response.model_version,
        )
    parts: list[types.Part] = []
    usage = headers = finish = version = None
    count = 0
    async for chunk in await client.models.generate_content_stream(
        model=model, contents=contents, config=config
    ):
        count += 1
        headers = headers or _lower(chunk.sdk_http_response.headers)
        [candidate] = chunk.candidates
        parts.extend(candidate.content.parts or [])
        usage = chunk.usage_metadata or usage
        finish = candidate.finish_reason or finish
        version = chunk.model_version
    assert usage is not None and headers is not None
    return Reply(parts, usage, headers, finish, version, count)


def _lower(headers: Mapping[str, str] | None) -> dict[str, str]:
    """The SDK hands headers over as a plain dict in the server's spelling; HTTP names are
    case-insensitive."""
    assert headers is not None
    return {name.lower(): value for name, value in headers.items()}


def billed(reply: Reply, *, stream: bool, model: str = MODEL, prefix: str = "/v1beta") -> Billed:
    verb = "streamGenerateContent" if stream else "generateContent"
    return Billed(
        model,
        GEMINI,
        stream,
        from_gemini(reply.usage),
        reply.headers.get("x-request-id"),
        f"{prefix}/models/{{model}}:{verb}",
    )


# ---------------------------------------------------------------------------- text


@pytest.mark.parametrize(
    ("api_version", "prefix"), [("v1beta", "/v1beta"), (None, "/v1")], ids=["v1beta", "default-v1"]
)
async def test_text_reply_is_billed_at_the_reported_usage(gateway, api_version, prefix: str) -> None:
    key = await gateway.funded_key()
    before = await gateway.balance(key.wallet_id)
    marker = new_marker()
    async with client_for(gateway, key, api_version=api_version) as client:
        reply = await send(client, stream=False, contents=f"Hello Gemini {marker}")

    assert reply.text.endswith(f"You said: Hello Gemini {marker}")
    assert reply.finish_reason == types.FinishReason.STOP
    assert (
        reply.usage.total_token_count == reply.usage.prompt_token_count + reply.usage.candidates_token_count
    )
    assert_accounting_headers(reply.headers, remaining_micros=await gateway.balance(key.wallet_id))
    await assert_billed(gateway, key, before, billed(reply, stream=False, prefix=prefix))
    upstream = await only_upstream_request(gateway, marker)
    assert upstream["path"] == f"/v1beta/models/{UPSTREAM_MODEL}:generateContent"
    assert upstream["headers"]["x-goog-api-key"] == SIM_VENDOR_KEY
    assert key.secret not in orjson.dumps(upstream["headers"]).decode()


@pytest.mark.parametrize(
    ("api_version", "prefix"), [("v1beta", "/v1beta"), (None, "/v1")], ids=["v1beta", "default-v1"]
)
async def test_streamed_text_is_joined_and_billed(gateway, api_version, prefix: str) -> None:
    key = await gateway.funded_key()
    before = await gateway.balance(key.wallet_id)
    marker = new_marker()
    async with client_for(gateway, key, api_version=api_version) as client:
        reply = await send(client, stream=True, contents=f"Stream it {marker} [[sim:words=30]]")

    assert reply.chunks == 30  # one chunk per word, each relayed
    assert len(reply.text.split()) == 30
    assert reply.finish_reason == types.FinishReason.STOP
    assert reply.usage.candidates_token_count == 30
    # Stream headers leave before the first frame, so before the cost is known (spec §3.10).
    assert_accounting_headers(reply.headers, remaining_micros=before)
    await assert_billed(gateway, key, before, billed(reply, stream=True, prefix=prefix))
    upstream = await only_upstream_request(gateway, marker)
    assert upstream["path"] == f"/v1beta/models/{UPSTREAM_MODEL}:streamGenerateContent"
    assert upstream["query"] == "alt=sse"


async def test_dotted_model_alias_is_billed_as_the_canonical_slug(gateway) -> None:
    key = await gateway.funded_key()
    before = await gateway.balance(key.wallet_id)
    async with client_for(gateway, key) as client:
        reply = await send(client, stream=False, contents="Alias please", model="gemini-3.1-pro")
    assert reply.text.endswith("You said: Alias please")
    await assert_billed(gateway, key, before, billed(reply, stream=False))


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
async def test_cached_tokens_are_billed_at_the_cache_rate(gateway, stream: bool) -> None:
    key = await gateway.funded_key()
    before = await gateway.balance(key.wallet_id)
    async with client_for(gateway, key) as client:
        reply = await send(client, stream=stream, contents="Reuse the cache [[sim:cache_read=640]]")

    assert reply.usage.cached_content_token_count == 640
    # promptTokenCount INCLUDES the cached tokens.
    assert reply.usage.prompt_token_count > 640
    [cost] = await assert_billed(gateway, key, before, billed(reply, stream=stream))
    uncached = gateway.expected_cost(
        MODEL, input_tokens=reply.usage.prompt_token_count, output_tokens=reply.usage.candidates_token_count
    )
    assert cost < uncached


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
async def test_thoughts_are_relayed_and_billed_as_output(gateway, stream: bool) -> None:
    key = await gateway.funded_key()
    before = await gateway.balance(key.wallet_id)
    config = types.GenerateContentConfig(thinking_config=types.ThinkingConfig(include_thoughts=True))
    async with client_for(gateway, key) as client:
        reply = await send(client, stream=stream, contents="Think first [[sim:reasoning=12]]", config=config)

    assert reply.thoughts
    assert "".join(p.text for p in reply.thoughts).startswith("Let me think")
    assert any(p.thought_signature for p in reply.thoughts)
    assert reply.text.endswith("You said: Think first")
    assert reply.usage.thoughts_token_count == 12
    # candidatesTokenCount EXCLUDES thoughts; billing must add them back.
    assert from_gemini(reply.usage).output_tokens == reply.usage.candidates_token_count + 12
    await assert_billed(gateway, key, before, billed(reply, stream=stream))


# ---------------------------------------------------------------------------- tools


@pytest.mark.parametrize(
    ("directive", "names"),
    [("", ["get_weather"]), ("[[sim:parallel=2]]", ["get_weather", "get_time"])],
    ids=["single", "parallel"],
)
async def test_function_calls_streamed_and_not_agree(gateway, directive: str, names: list[str]) -> None:
    key = await gateway.funded_key()
    before = await gateway.balance(key.wallet_id)
    prompt = f"Weather and time in Paris? {directive}"
    async with client_for(gateway, key) as client:
        plain = await send(client, stream=False, contents=prompt, config=TOOL_CONFIG)
        streamed = await send(client, stream=True, contents=prompt, config=TOOL_CONFIG)

    for reply in (plain, streamed):
        # A function-call turn ends with STOP; the calls themselves say it is tool use (§4.3).
        assert reply.finish_reason == types.FinishReason.STOP
        assert [call.name for call in reply.calls] == names
        assert all(call.id and CALL_ID.match(call.id) for call in reply.calls)
        assert len({call.id for call in reply.calls}) == len(reply.calls)
        for call in reply.calls:
            assert isinstance(call.args, dict)
            assert REQUIRED_ARGS[call.name] <= set(call.args)
    assert [call.args for call in streamed.calls] == [call.args for call in plain.calls]
    await assert_billed(gateway, key, before, billed(plain, stream=False), billed(streamed, stream=True))


@pytest.mark.parametrize("directive", ["", "[[sim:reasoning=8]]"], ids=["plain", "with-thoughts"])
async def test_function_response_round_trip(gateway, directive: str) -> None:
    key = await gateway.funded_key()
    before = await gateway.balance(key.wallet_id)
    marker = new_marker()
    question = types.Content(role="user", parts=[types.Part(text=f"Weather in Paris? {marker} {directive}")])
    async with client_for(gateway, key) as client:
        first = await send(client, stream=False, contents=[question], config=TOOL_CONFIG)
        [call] = first.calls
        answer = types.Part(
            function_response=types.FunctionResponse(
                id=call.id, name=call.name, response={"forecast": "Sunny 22 degrees"}
            )
        )
        history = [
            question,
            types.Content(role="model", parts=first.parts),
            types.Content(role="user", parts=[answer]),
        ]
        second = await send(client, stream=True, contents=history, config=TOOL_CONFIG)

    assert second.calls == []
    assert second.text.endswith('The tool returned: {"forecast":"Sunny 22 degrees"}')
    upstream = await upstream_requests(gateway, marker)
    assert len(upstream) == 2
    model_turn = upstream[1]["body"]["contents"][1]
    [call_part] = [p for p in model_turn["parts"] if "functionCall" in p]
    assert call_part["functionCall"]["id"] == call.id
    if directive:
        # Gemini 3 rejects a replayed call without its thoughtSignature (protocols.md §4.7): it
        # must travel back byte-exact.
        [signed] = [p for p in first.parts if p.function_call is not None]
        assert signed.thought_signature
        # (the SDK writes bytes as URL-safe base64; Google's JSON accepts either alphabet)
        assert base64.urlsafe_b64decode(call_part["thoughtSignature"]) == signed.thought_signature
    assert upstream[1]["body"]["contents"][2]["parts"][0]["functionResponse"] == {
        "id": call.id,
        "name": "get_weather",
        "response": {"forecast": "Sunny 22 degrees"},
    }
    await assert_billed(gateway, key, before, billed(first, stream=False), billed(second, stream=True))


# ---------------------------------------------------------------------------- keys and headers


async def _raw_generate(gateway, *, path: str, headers: dict[str, str], text: str) -> tuple[list[Any], Any]:
    """POST a generateContent body the way curl or gemini-cli would; returns the JSON object(s)
    (one per SSE frame when streaming) and the response headers."""
    body = {"contents": [{"role": "user", "parts": [{"text": text}]}]}
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            gateway.url + path,
            data=orjson.dumps(body),
            headers={"content-type": "application/json", **headers},
        ) as resp,
    ):
        raw = await resp.read()
        assert resp.status == 200, raw
        if "alt=sse" not in path:
            return [orjson.loads(raw)], resp.headers
        frames = [f for f in re.split(rb"\r?\n\r?\n", raw) if f.strip()]
        assert all(f.startswith(b"data: ") for f in frames)
        return [orjson.loads(f[len(b"data: ") :]) for f in frames], resp.headers


@pytest.mark.parametrize(
    ("form", "stream"),
    [("query", False), ("query", True), ("bearer", False), ("x-goog-api-key", True)],
    ids=["query-key", "query-key-sse", "bearer", "header-sse"],
)
async def test_key_forms_curl_and_gemini_cli_use(gateway, form: str, stream: bool) -> None:
    key = await gateway.funded_key()
    before = await gateway.balance(key.wallet_id)
    marker = new_marker()
    verb = "streamGenerateContent?alt=sse" if stream else "generateContent"
    path = f"/v1beta/models/{MODEL}:{verb}"
    headers: dict[str, str] = {}
    if form == "query":
        path += ("&" if "?" in path else "?") + f"key={key.secret}"
    elif form == "bearer":
        headers["authorization"] = f"Bearer {key.secret}"
    else:
        headers["x-goog-api-key"] = key.secret
    objects, response_headers = await _raw_generate(
        gateway, path=path, headers=headers, text=f"Key form {marker}"
    )

    text = "".join(p.get("text", "") for o in objects for p in o["candidates"][0]["content"]["parts"])
    assert text.endswith(f"You said: Key form {marker}")
    usage = types.GenerateContentResponseUsageMetadata.model_validate(objects[-1]["usageMetadata"])
    await assert_billed(
        gateway,
        key,
        before,
        Billed(MODEL, GEMINI, stream, from_gemini(usage), response_headers["x-request-id"]),
    )
    upstream = await only_upstream_request(gateway, marker)
    assert upstream["headers"]["x-goog-api-key"] == SIM_VENDOR_KEY
    # The caller's key, wherever it came from, is never passed on to the vendor.
    assert key.secret not in orjson.dumps(upstream).decode()


async def test_quota_headers_move_by_exactly_the_billed_cost(gateway) -> None:
    key = await gateway.funded_key()
    before = await gateway.balance(key.wallet_id)
    async with client_for(gateway, key) as client:
        first = await send(client, stream=False, contents="first")
        second = await send(client, stream=False, contents="second, somewhat longer")
        third = await send(client, stream=True, contents="third [[sim:words=40]]")
        fourth = await send(client, stream=True, contents="fourth")

    costs = await assert_billed(
        gateway,
        key,
        before,
        billed(first, stream=False),
        billed(second, stream=False),
        billed(third, stream=True),
        billed(fourth, stream=True),
    )
    h1, h2, h3, h4 = (r.headers for r in (first, second, third, fourth))
    assert_accounting_headers(h1, remaining_micros=before - costs[0])
    assert quota_micros(h2) == quota_micros(h1) - costs[1]
    # A stream's headers precede its settlement: the next response shows its exact cost.
    assert quota_micros(h3) == quota_micros(h2)
    assert quota_micros(h4) == quota_micros(h3) - costs[2]
    assert_accounting_headers(h4, remaining_micros=before - sum(costs[:3]))


# ---------------------------------------------------------------------------- failures


async def test_upstream_error_is_a_typed_error_and_free(gateway) -> None:
    key = await gateway.funded_key()
    before = await gateway.balance(key.wallet_id)
    async with client_for(gateway, key) as client:
        with pytest.raises(errors.ServerError) as caught:
            await send(client, stream=False, contents="busy? [[sim:error=503]]")
    assert caught.value.code == 503
    assert caught.value.status == "UNAVAILABLE"
    await assert_not_billed(gateway, key, before)


@pytest.mark.parametrize("fault", ["midstream_error=2", "drop_after=2"])
async def test_broken_stream_raises_in_the_sdk_and_is_free(gateway, fault: str) -> None:
    key = await gateway.funded_key()
    before = await gateway.balance(key.wallet_id)
    async with client_for(gateway, key) as client:
        with pytest.raises(errors.APIError):
            await send(client, stream=True, contents=f"break it [[sim:{fault},words=10]]")
    await assert_not_billed(gateway, key, before)
