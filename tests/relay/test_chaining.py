"""``previous_response_id`` chaining on ``POST /v1/responses`` for every upstream kind.

The official openai SDK chains turns against a real gateway in front of the simulator; what the
vendor received (its own dialect, read back from the simulator) must hold the whole conversation,
and each turn is billed exactly what the upstream reported for the expanded request.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import openai
import pytest
import sqlalchemy as sa

from bytespike.storage.response_schema import stored_responses
from tests.conformance.clients import OPENAI_RESPONSES, TOOLS, from_responses
from tests.conformance.upstream import UPSTREAMS, tool_pairs
from tests.relay.dialogue import turns
from tests.support import gateway as harness
from tests.web.billing import Billed, assert_billed, assert_not_billed
from tests.web.upstream_log import new_marker, upstream_requests

RESPONSES_TOOLS = [
    {"type": "function", "name": n, "description": d, "parameters": s, "strict": False} for n, d, s in TOOLS
]


def _sdk(gateway: harness.GatewayHarness, key: harness.TestKey) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(api_key=key.secret, base_url=gateway.url + "/v1", max_retries=0)


async def _streamed(sdk: openai.AsyncOpenAI, **params: Any) -> Any:
    async with sdk.responses.stream(**params) as stream:
        async for _ in stream:
            pass
        return await stream.get_final_response()


def _billed(model: str, response: Any, *, stream: bool = False) -> Billed:
    return Billed(model, OPENAI_RESPONSES, stream, from_responses(response.usage))


def _expected_conversation(*exchanges: tuple[str, Any]) -> list[tuple[str, str]]:
    conversation: list[tuple[str, str]] = []
    for prompt, response in exchanges:
        conversation.append(("user", prompt))
        if response is not None:
            conversation.append(("assistant", response.output_text))
    return conversation


@pytest.mark.parametrize("upstream", list(UPSTREAMS))
async def test_three_chained_turns_reach_the_upstream_with_the_whole_history(gateway, upstream) -> None:
    """Turn 2 (streamed) and turn 3 name the previous response; the vendor receives every earlier
    user and assistant turn in its own dialect, never the id; each turn is billed exactly."""
    target = UPSTREAMS[upstream]
    key = await gateway.funded_key()
    before = await gateway.balance(key.wallet_id)
    marker = new_marker()
    prompts = [f"First question {marker}", f"Second question {marker}", f"Third question {marker}"]
    sdk = _sdk(gateway, key)
    try:
        first = await sdk.responses.create(model=target.model, input=prompts[0], instructions="Be brief.")
        second = await _streamed(sdk, model=target.model, input=prompts[1], previous_response_id=first.id)
        third = await sdk.responses.create(
            model=target.model,
            input=[{"role": "user", "content": [{"type": "input_text", "text": prompts[2]}]}],
            previous_response_id=second.id,
        )
    finally:
        await sdk.close()
    assert len({first.id, second.id, third.id}) == 3
    assert third.output_text.endswith(f"You said: {prompts[2]}")
    protocol = target.protocol_for(OPENAI_RESPONSES)
    last = (await upstream_requests(gateway, prompts[2]))[-1]["body"]
    assert turns(protocol, last) == _expected_conversation(
        (prompts[0], first), (prompts[1], second), (prompts[2], None)
    )
    assert "previous_response_id" not in last
    # The second request (the oldest carrying its prompt; the third carries it too).
    middle = (await upstream_requests(gateway, prompts[1]))[0]
    assert turns(protocol, middle["body"]) == _expected_conversation((prompts[0], first), (prompts[1], None))
    # Billing is the upstream's usage of the expanded request: every turn costs more input.
    assert first.usage.input_tokens < second.usage.input_tokens < third.usage.input_tokens
    await assert_billed(
        gateway,
        key,
        before,
        _billed(target.model, first),
        _billed(target.model, second, stream=True),
        _billed(target.model, third),
    )
    async with gateway.engine.connect() as conn:
        rows = (
            await conn.execute(
                sa.select(stored_responses).where(stored_responses.c.id.in_([first.id, second.id, third.id]))
            )
        ).all()
    by_id = {r.id: r for r in rows}
    assert by_id[third.id].previous_response_id == second.id
    assert by_id[second.id].previous_response_id == first.id and by_id[first.id].previous_response_id is None
    for row in rows:
        # Retention: 30 days after the conversation's last turn (the default setting).
        assert row.expires_at - row.created_at >= timedelta(days=30) - timedelta(seconds=1)


@pytest.mark.parametrize("upstream", list(UPSTREAMS))
async def test_a_tool_result_continues_the_stored_call(gateway, upstream) -> None:
    """The agent loop: turn 1 calls a tool, turn 2 sends only the function_call_output with
    previous_response_id; the vendor gets the call and its result paired."""
    target = UPSTREAMS[upstream]
    key = await gateway.funded_key()
    marker = new_marker()
    sdk = _sdk(gateway, key)
    try:
        first = await sdk.responses.create(
            model=target.model, input=f"Weather please {marker}", tools=RESPONSES_TOOLS
        )
        [call] = [item for item in first.output if item.type == "function_call"]
        second = await sdk.responses.create(
            model=target.model,
            input=[{"type": "function_call_output", "call_id": call.call_id, "output": f"sunny {marker}"}],
            previous_response_id=first.id,
            tools=RESPONSES_TOOLS,
        )
    finally:
        await sdk.close()
    # (Gemini's functionResponse wraps text results as {"output": …}, which the simulator echoes.)
    assert second.output_text.startswith(f"Hello from {target.upstream_model}. The tool returned:")
    assert "sunny" in second.output_text
    protocol = target.protocol_for(OPENAI_RESPONSES)
    body = (await upstream_requests(gateway, f"sunny {marker}"))[-1]["body"]
    [((call_id, name), (result_id, _))] = tool_pairs(protocol, body)
    assert name == call.name
    if call_id is not None and result_id is not None:
        assert call_id == result_id
    assert len(await gateway.usage_rows(key.key_id)) == 2


async def _refused(sdk: openai.AsyncOpenAI, model: str, response_id: str, marker: str) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        await sdk.responses.create(model=model, input=f"Follow-up {marker}", previous_response_id=response_id)
    error = caught.value.body
    assert caught.value.status_code == 400
    assert error["code"] == "previous_response_not_found" and error["param"] == "previous_response_id"
    assert error["message"] == f"Previous response with id '{response_id}' not found."


@pytest.mark.parametrize("model", ["gpt-5-4", "claude-sonnet-4-6"])
async def test_store_false_is_not_stored_and_cannot_be_continued(gateway, model) -> None:
    key = await gateway.funded_key()
    marker = new_marker()
    sdk = _sdk(gateway, key)
    try:
        first = await sdk.responses.create(model=model, input=f"Do not keep this {marker}", store=False)
        before = await gateway.balance(key.wallet_id)
        rows = await gateway.usage_rows(key.key_id)
        await _refused(sdk, model, first.id, marker)
    finally:
        await sdk.close()
    assert await gateway.usage_rows(key.key_id) == rows and await gateway.balance(key.wallet_id) == before
    assert await upstream_requests(gateway, f"Follow-up {marker}") == []


async def test_another_accounts_response_answers_like_a_missing_one(gateway) -> None:
    owner, stranger = await gateway.funded_key(), await gateway.funded_key()
    marker = new_marker()
    mine = _sdk(gateway, owner)
    theirs = _sdk(gateway, stranger)
    try:
        first = await mine.responses.create(model="claude-sonnet-4-6", input=f"Private {marker}")
        before = await gateway.balance(stranger.wallet_id)
        await _refused(theirs, "claude-sonnet-4-6", first.id, marker)
        await _refused(theirs, "claude-sonnet-4-6", "resp_never_issued", marker)
    finally:
        await mine.close()
        await theirs.close()
    await assert_not_billed(gateway, stranger, before)
    assert await upstream_requests(gateway, f"Follow-up {marker}") == []


async def test_an_expired_response_cannot_be_continued(gateway) -> None:
    key = await gateway.funded_key()
    marker = new_marker()
    sdk = _sdk(gateway, key)
    try:
        first = await sdk.responses.create(model="gemini-3-1-pro", input=f"Soon gone {marker}")
        async with gateway.engine.begin() as conn:
            await conn.execute(
                stored_responses.update()
                .where(stored_responses.c.id == first.id)
                .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
            )
        await _refused(sdk, "gemini-3-1-pro", first.id, marker)
    finally:
        await sdk.close()
    assert len(await gateway.usage_rows(key.key_id)) == 1


LIFECYCLE = ("response.created", "response.in_progress", "response.completed")
"""Streamed events that carry the whole response object."""


async def _answers(sdk: openai.AsyncOpenAI, *, stream: bool, **params: Any) -> list[Any]:
    """The response objects the caller sees: the answer, or each lifecycle event's object."""
    if not stream:
        return [await sdk.responses.create(**params)]
    events = [event async for event in await sdk.responses.create(stream=True, **params)]
    objects = [event for event in events if event.type in LIFECYCLE]
    assert [event.type for event in objects] == list(LIFECYCLE)
    return [event.response for event in objects]


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
@pytest.mark.parametrize("model", ["gpt-5-4", "claude-sonnet-4-6"])
async def test_the_answer_names_the_previous_response_id_the_caller_sent(gateway, model, stream) -> None:
    """OpenAI (gpt-5-4 keeps the fast path) is sent the stored history instead of the id, so its
    own response object says null; the caller still sees the id it sent, whole and in every
    streamed response object, exactly as OpenAI would have answered. A translated route too."""
    key = await gateway.funded_key()
    marker = new_marker()
    sdk = _sdk(gateway, key)
    try:
        first = await sdk.responses.create(model=model, input=f"First {marker}")
        answers = await _answers(
            sdk, stream=stream, model=model, input=f"Second {marker}", previous_response_id=first.id
        )
    finally:
        await sdk.close()
    assert first.previous_response_id is None
    assert [answer.previous_response_id for answer in answers] == [first.id] * len(answers)
    sent = (await upstream_requests(gateway, f"Second {marker}"))[-1]["body"]
    assert "previous_response_id" not in sent
