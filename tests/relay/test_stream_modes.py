"""A caller's stream mode the vendor does not serve (catalogue ``upstream_stream``), through the
official SDKs of all four caller protocols against every upstream kind.

``<model>-whole`` models cannot stream upstream: a streaming caller gets its own protocol's stream
synthesized from the whole answer, and the SDK's stream accumulator must accept it.
``<model>-stream`` models only stream upstream: a non-streaming caller gets the answer assembled
from the stream. The simulator's ``mode`` directive refuses a call in the wrong mode, so a cell
also proves which mode the upstream was called in. Billing is exact; upstream errors, before the
answer and inside the upstream's stream, reach the caller as its protocol's error, unbilled.
"""

from __future__ import annotations

import openai
import pytest

from tests.conformance.clients import CLIENTS, EXPECTED_ARGUMENTS, Ask, Client
from tests.conformance.upstream import UPSTREAMS
from tests.relay.conftest import mode_model
from tests.support import gateway as harness
from tests.web.billing import ANTHROPIC, Billed, assert_billed, assert_not_billed
from tests.web.upstream_log import new_marker, upstream_requests

pytestmark = pytest.mark.filterwarnings(
    "ignore:Inheritance class AiohttpClientSession from ClientSession is discouraged:DeprecationWarning"
)

CELLS = [(client, upstream) for client in CLIENTS for upstream in UPSTREAMS]
IDS = [f"{client}-{upstream}" for client, upstream in CELLS]
UPSTREAM_MODE = {
    "whole": "streaming caller, upstream cannot stream",
    "stream": "caller not streaming, upstream only streams",
}


async def _client(gateway: harness.GatewayHarness, name: str) -> tuple[Client, harness.TestKey, int]:
    key = await gateway.funded_key()
    return CLIENTS[name](gateway.url, key.secret), key, await gateway.balance(key.wallet_id)


def _was_streamed(record: dict) -> bool:
    """Whether the simulator was called streaming (the body flag, or Gemini's verb)."""
    return record["path"].endswith(":streamGenerateContent") or record["body"].get("stream") is True


@pytest.mark.parametrize("mode", list(UPSTREAM_MODE))
@pytest.mark.parametrize(("client_name", "upstream"), CELLS, ids=IDS)
async def test_the_caller_gets_its_own_mode_whatever_the_upstream_serves(
    relay_gateway, client_name, upstream, mode
) -> None:
    model = mode_model(upstream, mode)
    caller_streams = mode == "whole"
    client, key, before = await _client(relay_gateway, client_name)
    marker = new_marker()
    prompt = f"Weather and words {marker} [[sim:mode={mode},parallel=2]]"
    try:
        reply = await client.send(model, Ask(prompt, tools=True, stream=caller_streams))
    finally:
        await client.close()
    target = UPSTREAMS[upstream]
    assert reply.streamed is caller_streams
    assert reply.text.startswith(f"Hello from {target.upstream_model}. Calling get_weather, get_time.")
    assert [(c.name, c.arguments) for c in reply.calls] == [
        (name, EXPECTED_ARGUMENTS[name]) for name in ("get_weather", "get_time")
    ]
    if caller_streams and client.streams_arguments and client.protocol != ANTHROPIC:
        assert reply.trace.argument_deltas >= 2, reply.trace
    [record] = await upstream_requests(relay_gateway, marker)
    assert _was_streamed(record) is (mode == "stream")
    await assert_billed(
        relay_gateway,
        key,
        before,
        Billed(model, client.protocol, caller_streams, reply.usage, reply.request_id),
    )


@pytest.mark.parametrize("mode", list(UPSTREAM_MODE))
@pytest.mark.parametrize(("client_name", "upstream"), CELLS, ids=IDS)
async def test_upstream_errors_reach_the_caller_in_its_own_protocol(
    relay_gateway, client_name, upstream, mode
) -> None:
    """Before the answer (the vendor's 500) and, for a streaming-only vendor, inside its stream
    (after two deltas): the caller gets an error reply in its own protocol, nothing is billed."""
    model = mode_model(upstream, mode)
    caller_streams = mode == "whole"
    client, key, before = await _client(relay_gateway, client_name)
    marker = new_marker()
    faults = {"before": (f"Fail early {marker} [[sim:mode={mode},error=500]]", 502)}
    if mode == "stream":
        # An Anthropic in-band error is an overload (503); the others' are server errors (502).
        status = 503 if UPSTREAMS[upstream].provider == "anthropic" else 502
        faults["inside"] = (f"Fail midway {marker} [[sim:mode={mode},midstream_error=2,words=10]]", status)
    try:
        for prompt, status in faults.values():
            with pytest.raises(Exception) as caught:
                await client.send(model, Ask(prompt, stream=caller_streams))
            failure = client.failure(caught.value)
            assert failure is not None, caught.value
            # Nothing had been sent: even a streaming caller gets an HTTP error, not a stream.
            assert failure.status == status, failure
    finally:
        await client.close()
    assert len(await upstream_requests(relay_gateway, marker)) == len(faults)
    await assert_not_billed(relay_gateway, key, before)


@pytest.mark.parametrize("mode", list(UPSTREAM_MODE))
async def test_a_bridged_responses_answer_can_be_continued(relay_gateway, mode) -> None:
    """The stored exchange of a synthesized stream or an assembled answer chains like any other."""
    model = mode_model("anthropic", mode)
    key = await relay_gateway.funded_key()
    sdk = openai.AsyncOpenAI(api_key=key.secret, base_url=relay_gateway.url + "/v1", max_retries=0)
    marker = new_marker()
    try:
        if mode == "whole":
            async with sdk.responses.stream(model=model, input=f"One {marker} [[sim:mode=whole]]") as stream:
                first = await stream.get_final_response()
        else:
            first = await sdk.responses.create(model=model, input=f"One {marker} [[sim:mode=stream]]")
        second = await sdk.responses.create(
            model=model,
            input=f"Two {marker} [[sim:mode={mode}]]",
            previous_response_id=first.id,
        )
    finally:
        await sdk.close()
    assert second.output_text.startswith("Hello from claude-sonnet-4-6. You said: Two")
    body = (await upstream_requests(relay_gateway, f"Two {marker}"))[-1]["body"]
    texts = [
        m["content"] if isinstance(m["content"], str) else m["content"][0]["text"] for m in body["messages"]
    ]
    assert texts[:2] == [f"One {marker} [[sim:mode={mode}]]", first.output_text]


@pytest.mark.parametrize("mode", list(UPSTREAM_MODE))
async def test_a_bridged_openai_answer_names_the_previous_response_id(relay_gateway, mode) -> None:
    """Responses caller, OpenAI Responses upstream in the other stream mode: the gateway encodes
    the answer itself, and it names the previous_response_id the caller sent (OpenAI was sent
    the stored history instead)."""
    model = mode_model("openai", mode)
    key = await relay_gateway.funded_key()
    marker = new_marker()
    sdk = openai.AsyncOpenAI(api_key=key.secret, base_url=relay_gateway.url + "/v1", max_retries=0)
    params = {"model": model, "input": f"Two {marker} [[sim:mode={mode}]]"}
    try:
        first = await sdk.responses.create(model=model, input=f"One {marker}")
        if mode == "whole":
            events = [
                e
                async for e in await sdk.responses.create(
                    stream=True, previous_response_id=first.id, **params
                )
            ]
            answers = [e.response for e in events if e.type in ("response.created", "response.completed")]
            assert len(answers) == 2
        else:
            answers = [await sdk.responses.create(previous_response_id=first.id, **params)]
    finally:
        await sdk.close()
    assert [answer.previous_response_id for answer in answers] == [first.id] * len(answers)
    [sent] = await upstream_requests(relay_gateway, f"Two {marker}")
    assert "previous_response_id" not in sent["body"]
