"""OpenAI item, container and audio ids stay with the account that received them.

The official openai SDK runs OpenAI's own loops against a real gateway in front of the simulator
(which hands out ``rs_…``/``fc_…``/``audio_…`` ids like OpenAI): the account that received the
ids sends them back and is served; another account, an expired id or an id the gateway never
handed out is a 400 naming the field, with nothing sent to the vendor and nothing billed
(relay/vendor_items.py, docs/translation.md §2).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import openai
import pytest
import sqlalchemy as sa

from bytespike.access.issuance import KeySpec, issue_key
from bytespike.access.principal import Principal
from bytespike.errors import GatewayError
from bytespike.protocols.openai_chat import NAME as CHAT
from bytespike.protocols.openai_responses import NAME as RESPONSES
from bytespike.relay.vendor_items import ChatAudioIds, VendorItems, responses_output_ids
from bytespike.storage import ledger, orgs
from bytespike.storage.response_schema import response_items, stored_responses
from bytespike.storage.schema import api_keys, org_members, wallets
from tests.conformance.clients import TOOLS
from tests.relay.conftest import mode_model
from tests.support import gateway as harness
from tests.web.billing import assert_not_billed
from tests.web.upstream_log import new_marker, upstream_requests

MODEL = "gpt-5-4"
"""OpenAI: a Responses or Chat caller keeps the fast path, so ids pass as sent."""
REASONING = "[[sim:reasoning=40]]"
RESPONSES_TOOLS = [
    {"type": "function", "name": n, "description": d, "parameters": s, "strict": False} for n, d, s in TOOLS
]


def _sdk(gateway: harness.GatewayHarness, key: harness.TestKey) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(api_key=key.secret, base_url=gateway.url + "/v1", max_retries=0)


def _user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": [{"type": "input_text", "text": text}]}


async def _tool_turn(
    gateway: harness.GatewayHarness, key: harness.TestKey, marker: str, *, stream: bool = False, **extra: Any
) -> tuple[dict[str, Any], Any]:
    """Turn 1 of OpenAI's tool loop: reasoning, text, a function call. Returns (prompt, answer)."""
    prompt = _user(f"Weather please {REASONING} {marker}")
    params: dict[str, Any] = {"model": MODEL, "input": [prompt], "tools": RESPONSES_TOOLS, **extra}
    async with _sdk(gateway, key) as sdk:
        if stream:
            async with sdk.responses.stream(**params) as events:
                answer = await events.get_final_response()
        else:
            answer = await sdk.responses.create(**params)
    assert [item.type for item in answer.output] == ["reasoning", "message", "function_call"]
    return prompt, answer


def _replay(prompt: dict[str, Any], answer: Any, result: str) -> list[dict[str, Any]]:
    """Turn 2's input as OpenAI documents it: the history, ``response.output`` as it came (ids
    included), and the tool's result."""
    call = answer.output[-1]
    return [
        prompt,
        *(item.model_dump(exclude_none=True) for item in answer.output),
        {"type": "function_call_output", "call_id": call.call_id, "output": result},
    ]


async def _refused(
    gateway: harness.GatewayHarness, key: harness.TestKey, marker: str, field: str, **params: Any
) -> None:
    """``responses.create(**params)`` is OpenAI's 400 shape naming ``field``; the vendor never
    sees ``marker`` and the key pays nothing."""
    before = await gateway.balance(key.wallet_id)
    rows = await gateway.usage_rows(key.key_id)
    async with _sdk(gateway, key) as sdk:
        with pytest.raises(openai.BadRequestError) as caught:
            await sdk.responses.create(model=MODEL, **params)
    error = caught.value.body
    assert caught.value.status_code == 400
    assert error["type"] == "invalid_request_error" and error["code"] == "invalid_param"
    assert error["param"] == field and error["message"].startswith(f"{field}: this id was not handed")
    assert await gateway.usage_rows(key.key_id) == rows and await gateway.balance(key.wallet_id) == before
    assert await upstream_requests(gateway, marker) == []


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
async def test_the_tool_loop_replays_the_reasoning_items_the_account_received(gateway, stream) -> None:
    """Turn 1 (whole or streamed) hands out reasoning, message and call items; turn 2 sends them
    back with their ids, and OpenAI receives them exactly so."""
    key = await gateway.funded_key()
    marker = new_marker()
    prompt, first = await _tool_turn(gateway, key, marker, stream=stream)
    async with _sdk(gateway, key) as sdk:
        second = await sdk.responses.create(
            model=MODEL, input=_replay(prompt, first, f"sunny {marker}"), tools=RESPONSES_TOOLS
        )
    assert second.status == "completed" and "sunny" in second.output_text
    sent = (await upstream_requests(gateway, f"sunny {marker}"))[-1]["body"]["input"]
    assert sent[1:4] == [item.model_dump(exclude_none=True) for item in first.output]
    assert first.output[0].id.startswith("rs_") and sent[1]["type"] == "reasoning"
    assert len(await gateway.usage_rows(key.key_id)) == 2


@pytest.mark.parametrize("mode", ["whole", "stream"])
async def test_answers_bridged_between_stream_modes_hand_out_their_ids_too(relay_gateway, mode) -> None:
    """A model OpenAI serves only whole (the caller streams) or only streamed (the caller does
    not): the answer is re-encoded by the gateway, with OpenAI's ids, and they are indexed."""
    model = mode_model("openai", mode)
    key, stranger = await relay_gateway.funded_key(), await relay_gateway.funded_key()
    prompt = _user(f"Weather please {REASONING} {new_marker()}")
    async with _sdk(relay_gateway, key) as sdk:
        params: dict[str, Any] = {"model": model, "input": [prompt], "tools": RESPONSES_TOOLS}
        if mode == "whole":
            async with sdk.responses.stream(**params) as events:
                first = await events.get_final_response()
        else:
            first = await sdk.responses.create(**params)
        assert first.output[0].id.startswith("rs_")
        marker = new_marker()
        second = await sdk.responses.create(
            model=model, input=_replay(prompt, first, f"sunny {marker}"), tools=RESPONSES_TOOLS
        )
    assert second.status == "completed"
    [sent] = await upstream_requests(relay_gateway, f"sunny {marker}")
    assert sent["body"]["input"][1]["id"] == first.output[0].id
    theirs = new_marker()
    async with _sdk(relay_gateway, stranger) as sdk:
        with pytest.raises(openai.BadRequestError) as caught:
            await sdk.responses.create(
                model=model, input=_replay(prompt, first, theirs), tools=RESPONSES_TOOLS
            )
    assert caught.value.body["param"] == "input[1].id"
    assert await upstream_requests(relay_gateway, theirs) == []


async def test_another_accounts_ids_are_refused_before_the_vendor_is_called(gateway) -> None:
    owner, stranger = await gateway.funded_key(), await gateway.funded_key()
    _, first = await _tool_turn(gateway, owner, new_marker())
    marker = new_marker()
    # The whole loop replayed by someone else: the first id sent names the field.
    await _refused(
        gateway,
        stranger,
        marker,
        "input[1].id",
        input=_replay(_user(marker), first, "x"),
        tools=RESPONSES_TOOLS,
    )
    # The stranger's own loop with one of the owner's items slipped in: each id is checked.
    own_prompt, own = await _tool_turn(gateway, stranger, marker)
    mixed = [*_replay(own_prompt, own, f"rain {marker}"), first.output[0].model_dump(exclude_none=True)]
    field = f"input[{len(mixed) - 1}].id"
    await _refused(gateway, stranger, f"rain {marker}", field, input=mixed, tools=RESPONSES_TOOLS)


@pytest.mark.parametrize(
    ("field", "params"),
    [
        (
            "input[1].id",
            lambda m: {"input": [_user(m), {"type": "reasoning", "id": "rs_made_up", "summary": []}]},
        ),
        (
            "input[1].approval_request_id",
            lambda m: {
                "input": [
                    _user(m),
                    {"type": "mcp_approval_response", "approval_request_id": "mcpr_1", "approve": True},
                ]
            },
        ),
        (
            "tools[0].container",
            lambda m: {
                "input": [_user(m)],
                "tools": [{"type": "code_interpreter", "container": "cntr_someone"}],
            },
        ),
    ],
    ids=["item id", "approval request", "code container"],
)
async def test_ids_never_handed_out_are_refused(gateway, field, params) -> None:
    key = await gateway.funded_key()
    marker = new_marker()
    await _refused(gateway, key, marker, field, **params(marker))


async def test_a_container_the_account_received_is_forwarded(gateway) -> None:
    """A code-interpreter container named by id reaches OpenAI when the account was handed it
    (indexed here as the gateway does for a ``code_interpreter_call``'s ``container_id``)."""
    key = await gateway.funded_key()
    marker = new_marker()
    container = f"cntr_{uuid.uuid4().hex}"
    async with gateway.engine.begin() as conn:
        await conn.execute(
            response_items.insert().values(
                item_id=container,
                user_id=key.user_id,
                org_id=None,
                answer_id="resp_earlier",
                expires_at=datetime.now(UTC) + timedelta(days=1),
            )
        )
    tools = [{"type": "code_interpreter", "container": container}]
    async with _sdk(gateway, key) as sdk:
        answer = await sdk.responses.create(model=MODEL, input=[_user(f"Run it {marker}")], tools=tools)
    assert answer.status == "completed"
    [sent] = await upstream_requests(gateway, marker)
    assert sent["body"]["tools"] == tools


async def test_expired_ids_are_refused(gateway) -> None:
    key = await gateway.funded_key()
    prompt, first = await _tool_turn(gateway, key, new_marker())
    async with gateway.engine.begin() as conn:
        await conn.execute(
            response_items.update()
            .where(response_items.c.answer_id == first.id)
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    marker = new_marker()
    await _refused(
        gateway, key, marker, "input[1].id", input=_replay(prompt, first, marker), tools=RESPONSES_TOOLS
    )


async def test_store_false_answers_replay_their_encrypted_reasoning(gateway) -> None:
    """``store: false`` keeps no turn, yet its ids are indexed: the stateless loop (encrypted
    reasoning sent back with its id) works for its account and for no other."""
    key, stranger = await gateway.funded_key(), await gateway.funded_key()
    extra = {"store": False, "include": ["reasoning.encrypted_content"]}
    prompt, first = await _tool_turn(gateway, key, new_marker(), **extra)
    reasoning = first.output[0]
    assert reasoning.encrypted_content
    marker = new_marker()
    async with _sdk(gateway, key) as sdk:
        second = await sdk.responses.create(
            model=MODEL, input=_replay(prompt, first, f"sunny {marker}"), tools=RESPONSES_TOOLS, **extra
        )
    assert second.status == "completed"
    [sent] = await upstream_requests(gateway, f"sunny {marker}")
    assert sent["body"]["input"][1] == reasoning.model_dump(exclude_none=True)
    async with gateway.engine.connect() as conn:
        stored = await conn.scalar(sa.select(sa.func.count()).where(stored_responses.c.id == first.id))
    assert stored == 0
    theirs = new_marker()
    replay = _replay(prompt, first, theirs)
    await _refused(gateway, stranger, theirs, "input[1].id", input=replay, tools=RESPONSES_TOOLS, **extra)


async def _org_keys(
    gateway: harness.GatewayHarness,
) -> tuple[harness.TestKey, harness.TestKey, harness.TestKey]:
    """(the owner's org key, a member's org key, the owner's personal key), the org funded."""
    owner, member = await gateway.funded_key(), await gateway.funded_key()
    async with gateway.engine.begin() as conn:
        org = await orgs.create_org(conn, name=f"Org {uuid.uuid4().hex[:8]}", owner_user_id=owner.user_id)
        await conn.execute(
            org_members.insert().values(
                org_id=org.id, user_id=member.user_id, role="member", created_at=datetime.now(UTC)
            )
        )
        wallet_id = await conn.scalar(sa.select(wallets.c.id).where(wallets.c.org_id == org.id))
        await ledger.apply_movement(
            conn,
            wallet_id=wallet_id,
            kind="admin_credit",
            amount_micros=int(Decimal("10") * 1_000_000),
            idempotency_key=f"test-{uuid.uuid4().hex}",
        )
    keys = []
    for person in (owner, member):
        issued = await issue_key(
            gateway.engine,
            gateway.sealer,
            user_email=person.email,
            spec=KeySpec(),
            known_groups=list(gateway.catalogue.groups),
        )
        async with gateway.engine.begin() as conn:
            await conn.execute(
                api_keys.update().where(api_keys.c.id == issued.id).values(org_id=org.id, wallet_id=wallet_id)
            )
        keys.append(harness.TestKey(issued.key, issued.id, person.user_id, wallet_id, person.email))
    return keys[0], keys[1], owner


async def test_an_orgs_ids_serve_every_org_key_and_no_personal_one(gateway) -> None:
    org_owner, org_member, personal = await _org_keys(gateway)
    prompt, first = await _tool_turn(gateway, org_owner, new_marker())
    marker = new_marker()
    async with _sdk(gateway, org_member) as sdk:
        second = await sdk.responses.create(
            model=MODEL, input=_replay(prompt, first, f"sunny {marker}"), tools=RESPONSES_TOOLS
        )
    assert second.status == "completed"
    theirs = new_marker()
    replay = _replay(prompt, first, theirs)
    await _refused(gateway, personal, theirs, "input[1].id", input=replay, tools=RESPONSES_TOOLS)


async def test_items_sent_to_another_vendor_are_not_checked(gateway) -> None:
    """A translated route sends no item id anywhere, so the loop with the ids the gateway made up
    for Claude's answer works as before."""
    key = await gateway.funded_key()
    marker = new_marker()
    prompt = _user(f"Weather please {REASONING} {marker}")
    async with _sdk(gateway, key) as sdk:
        first = await sdk.responses.create(model="claude-sonnet-4-6", input=[prompt], tools=RESPONSES_TOOLS)
        call = next(item for item in first.output if item.type == "function_call")
        replay = [
            prompt,
            *(item.model_dump(exclude_none=True) for item in first.output),
            {"type": "function_call_output", "call_id": call.call_id, "output": f"sunny {marker}"},
        ]
        second = await sdk.responses.create(model="claude-sonnet-4-6", input=replay, tools=RESPONSES_TOOLS)
    assert all(item.id for item in first.output)
    assert second.status == "completed" and "sunny" in second.output_text


# ---------------------------------------------------------------------------- Chat audio

AUDIO = {"modalities": ["text", "audio"], "audio": {"voice": "alloy", "format": "wav"}}


async def _spoken(gateway: harness.GatewayHarness, key: harness.TestKey, text: str, *, stream: bool) -> str:
    """The ``audio.id`` of a spoken Chat answer to ``text``."""
    messages = [{"role": "user", "content": text}]
    async with _sdk(gateway, key) as sdk:
        if not stream:
            completion = await sdk.chat.completions.create(model=MODEL, messages=messages, **AUDIO)
            audio = completion.choices[0].message.audio
            assert audio is not None and audio.transcript
            return audio.id
        chunks = await sdk.chat.completions.create(model=MODEL, messages=messages, stream=True, **AUDIO)
        ids = [
            choice.delta.audio.id
            async for chunk in chunks
            for choice in chunk.choices
            if choice.delta.audio is not None and choice.delta.audio.id is not None
        ]
    [audio_id] = ids
    return audio_id


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
async def test_chat_audio_ids_serve_only_the_account_that_received_them(gateway, stream) -> None:
    key, stranger = await gateway.funded_key(), await gateway.funded_key()
    audio_id = await _spoken(gateway, key, f"Say hello {new_marker()}", stream=stream)
    assert audio_id.startswith("audio_")
    marker = new_marker()

    def history(text: str) -> list[dict[str, Any]]:
        return [
            {"role": "user", "content": "Say hello"},
            {"role": "assistant", "audio": {"id": audio_id}},
            {"role": "user", "content": text},
        ]

    async with _sdk(gateway, key) as sdk:
        follow_up = await sdk.chat.completions.create(model=MODEL, messages=history(f"Again {marker}"))
    assert follow_up.choices[0].message.content
    [sent] = await upstream_requests(gateway, f"Again {marker}")
    assert sent["body"]["messages"][1]["audio"] == {"id": audio_id}

    before = await gateway.balance(stranger.wallet_id)
    async with _sdk(gateway, stranger) as sdk:
        with pytest.raises(openai.BadRequestError) as caught:
            await sdk.chat.completions.create(model=MODEL, messages=history(f"Mine now {marker}"))
    error = caught.value.body
    assert error["param"] == "messages[1].audio.id" and error["code"] == "invalid_param"
    assert error["message"].startswith("messages[1].audio.id: this id was not handed")
    await assert_not_billed(gateway, stranger, before)
    assert await upstream_requests(gateway, f"Mine now {marker}") == []


# ---------------------------------------------------------------------------- the pieces


class _CountingStore:
    """Stands in for `ResponseStore.owned_items`: holds ``owned`` and counts the queries."""

    def __init__(self, *owned: str) -> None:
        self.owned = set(owned)
        self.queries: list[list[str]] = []

    async def owned_items(self, item_ids: Any, owner: Any) -> set[str]:
        self.queries.append(list(item_ids))
        return self.owned & set(item_ids)


def _principal() -> Principal:
    return Principal(
        key_id=1,
        user_id=1,
        org_id=None,
        wallet_id=1,
        group="default",
        scopes=frozenset(),
        allowed_models=None,
        ip_allow=(),
        ip_deny=(),
        expires_at=None,
        chain=(),
        tier="",
        masked_key="",
    )


async def test_a_request_without_ids_costs_no_query_and_one_with_ids_costs_one() -> None:
    store = _CountingStore("rs_a", "fc_a", "cntr_a")
    items = VendorItems(store, retention_s=86400)  # type: ignore[arg-type]
    await items.check(
        _principal(),
        RESPONSES,
        {"input": "hi", "tools": [{"type": "code_interpreter", "container": {"type": "auto"}}]},
    )
    await items.check(_principal(), CHAT, {"messages": [{"role": "assistant", "content": "hello"}]})
    assert store.queries == []
    body = {
        "input": [{"type": "reasoning", "id": "rs_a"}, {"type": "function_call", "id": "fc_a"}],
        "tools": [{"type": "code_interpreter", "container": "cntr_a"}],
    }
    await items.check(_principal(), RESPONSES, body)
    assert store.queries == [["rs_a", "fc_a", "cntr_a"]]


async def test_without_an_index_every_id_is_refused() -> None:
    """Retention 0 keeps no index, so no id can be shown to be the caller's."""
    items = VendorItems(_CountingStore("rs_a"), retention_s=0)  # type: ignore[arg-type]
    with pytest.raises(GatewayError) as caught:
        await items.check(_principal(), RESPONSES, {"input": [{"type": "reasoning", "id": "rs_a"}]})
    assert caught.value.status == 400 and caught.value.param == "input[0].id"
    assert "keeps no record" in caught.value.message


async def test_an_id_that_is_not_a_string_is_refused() -> None:
    items = VendorItems(_CountingStore("rs_a"), retention_s=86400)  # type: ignore[arg-type]
    with pytest.raises(GatewayError) as caught:
        await items.check(
            _principal(), CHAT, {"messages": [{"role": "assistant", "audio": {"id": ["rs_a"]}}]}
        )
    assert caught.value.param == "messages[0].audio.id"


def test_the_ids_an_answer_hands_out() -> None:
    output = [
        {"type": "reasoning", "id": "rs_1", "summary": []},
        {"type": "code_interpreter_call", "id": "ci_1", "container_id": "cntr_1", "code": "1"},
        {"type": "message", "id": "msg_1", "content": []},
        {"type": "message", "content": []},
    ]
    assert responses_output_ids(output) == ("rs_1", "ci_1", "cntr_1", "msg_1")


def test_audio_ids_are_read_from_a_stream_cut_anywhere() -> None:
    frames = (
        b'data: {"id":"chatcmpl-1","choices":[{"index":0,"delta":{"role":"assistant"}}]}\n\n'
        b'data: {"id":"chatcmpl-1","choices":[{"index":0,"delta":{"audio":{"id":"audio_1","transcript":"Hi"}}}]}\n\n'
        b'data: {"id":"chatcmpl-1","choices":[{"index":0,"delta":{"audio":{"transcript":" there"}}}]}\n\n'
        b"data: [DONE]\n\n"
    )
    for cut in range(1, len(frames)):
        recorder = ChatAudioIds()
        assert recorder.observe_stream(frames[:cut]) + recorder.observe_stream(frames[cut:]) == frames
        assert (recorder.answer_id, recorder.ids) == ("chatcmpl-1", ["audio_1"])
