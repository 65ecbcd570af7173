"""Ids the gateway's OpenAI account hands out: indexed per account, checked when sent back.

OpenAI answers carry ids of objects it keeps for the account that called it — output items
(``rs_…`` reasoning, ``msg_…``, ``fc_…``, hosted-tool calls), code-interpreter containers
(``cntr_…``) and Chat audio (``audio_…``) — and resolves them when a later request sends them
back (its own tool loop replays ``response.output``). The gateway calls OpenAI with one account
shared by all its keys, so such an id is honoured for whichever key sends it. Every id of an
answer that reaches a caller as it came from OpenAI is therefore indexed for the caller's account
(storage/response_store.py: the org for org keys, else the user), durable before the caller has
the whole answer and kept as long as stored responses; a request that would carry ids to OpenAI
as sent is refused with a 400 naming the field, before routing costs anything, unless every id
is its own account's (docs/translation.md §2, "State kept by a vendor").
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import orjson

from bytespike.access.principal import Principal
from bytespike.errors import GatewayError
from bytespike.protocols import openai_chat, openai_responses
from bytespike.protocols.sse import SSESplitter, frame_fields
from bytespike.relay.vendor_state import json_objects
from bytespike.storage.accounts import utcnow
from bytespike.storage.response_store import IssuedItemsRecord, ResponseOwner, ResponseStore

log = logging.getLogger("bytespike.relay")

ISSUING_PROVIDER = "openai"
"""The vendor whose ids are checked: the only one the gateway forwards such ids to as sent."""

SentId = tuple[str, Any]
"""(path of the field in the caller's body, the id it holds)."""

NOT_ISSUED = (
    "this id was not handed to your account by the gateway, or it expired (ids are kept {days} "
    "days, like stored responses); the gateway calls OpenAI with one account shared by all keys, "
    "so it forwards only ids your own account received; {instead}"
)
NOT_INDEXED = (
    "the gateway keeps no record of the ids it hands out (its response retention is 0), so it "
    "cannot tell this id is your account's; the gateway calls OpenAI with one account shared by "
    "all keys; {instead}"
)
INSTEAD = {
    "id": (
        "send the item without its id (a reasoning item cannot go without one: leave it out), "
        "or continue with previous_response_id"
    ),
    "container_id": "send the item without it, or continue with previous_response_id",
    "approval_request_id": "continue with previous_response_id",
    "container": 'let OpenAI make a container with {"type": "auto"}',
    "audio.id": "send the transcript of that turn as its content instead",
}
"""What to send instead, by the field's last name (the caller reads it in the 400)."""


def _responses_ids(body: dict[str, Any]) -> Iterator[SentId]:
    for i, item in json_objects(body.get("input")):
        # Any item may carry its id; code-interpreter calls name their container; an MCP approval
        # names the request item it answers.
        for key in ("id", "container_id", "approval_request_id"):
            if item.get(key) is not None:
                yield f"input[{i}].{key}", item[key]
    for i, tool in json_objects(body.get("tools")):
        # A string container is an existing container's id; {"type": "auto"} makes a new one.
        if tool.get("type") == "code_interpreter" and isinstance(tool.get("container"), str):
            yield f"tools[{i}].container", tool["container"]


def _chat_ids(body: dict[str, Any]) -> Iterator[SentId]:
    # "audio: Data about a previous audio response from the model" (assistant messages).
    for i, message in json_objects(body.get("messages")):
        audio = message.get("audio")
        if isinstance(audio, dict) and audio.get("id") is not None:
            yield f"messages[{i}].audio.id", audio["id"]


SENT_ID_FINDERS: dict[str, Callable[[dict[str, Any]], Iterator[SentId]]] = {
    openai_responses.NAME: _responses_ids,
    openai_chat.NAME: _chat_ids,
}


def sent_ids(protocol: str, body: Any) -> list[SentId]:
    """The vendor ids in a caller's ``body`` that OpenAI would resolve, in body order."""
    finder = SENT_ID_FINDERS.get(protocol)
    if finder is None or not isinstance(body, dict):
        return []
    return list(finder(body))


def responses_output_ids(output: list[Any]) -> tuple[str, ...]:
    """The ids in Responses output items that a later request may send back."""
    ids: list[str] = []
    for _, item in json_objects(output):
        for key in ("id", "container_id"):
            value = item.get(key)
            if isinstance(value, str) and value and value not in ids:
                ids.append(value)
    return tuple(ids)


class ChatAudioIds:
    """Reads the audio ids of the Chat answer the caller receives (whole or streamed)."""

    __slots__ = ("_splitter", "answer_id", "ids")

    def __init__(self) -> None:
        self.answer_id = ""
        self.ids: list[str] = []
        self._splitter = SSESplitter()

    def observe_body(self, body: Any) -> None:
        """A whole completion: ``choices[k].message.audio.id``."""
        if isinstance(body, dict):
            self._take(body, "message")

    def observe_stream(self, data: bytes) -> bytes:
        """Caller-bound stream bytes, in order; given back unchanged. The id rides on the first
        ``delta.audio`` of each choice."""
        for frame in self._splitter.feed(data) if data else ():
            if b'"audio"' not in frame:
                continue  # text deltas, usage, [DONE]: no JSON parse
            try:
                chunk = orjson.loads(frame_fields(frame)[1])
            except orjson.JSONDecodeError:
                continue
            if isinstance(chunk, dict):
                self._take(chunk, "delta")
        return data

    def _take(self, completion: dict[str, Any], key: str) -> None:
        if isinstance(completion.get("id"), str):
            self.answer_id = completion["id"]
        for _, choice in json_objects(completion.get("choices")):
            message = choice.get(key)
            audio = message.get("audio") if isinstance(message, dict) else None
            audio_id = audio.get("id") if isinstance(audio, dict) else None
            if isinstance(audio_id, str) and audio_id and audio_id not in self.ids:
                self.ids.append(audio_id)


def asks_for_audio(body: Any) -> bool:
    """Whether a Chat request asks for spoken output (only then does the answer carry an id)."""
    modalities = body.get("modalities") if isinstance(body, dict) else None
    return isinstance(modalities, list) and "audio" in modalities


class VendorItems:
    """Checks the ids a request sends back, and indexes the ids an answer hands out."""

    def __init__(self, store: ResponseStore | None, *, retention_s: float) -> None:
        self.store = store
        self.retention_s = retention_s
        """How long an id stays usable (the response store's retention); 0 indexes nothing."""

    @property
    def is_indexing(self) -> bool:
        return self.store is not None and self.retention_s > 0

    @staticmethod
    def applies(caller_protocol: str, upstream_protocol: str, provider: str) -> bool:
        """Whether the caller's ids reach OpenAI as sent and OpenAI's ids reach the caller as
        they came: the same-protocol routes to OpenAI (translation keeps no such ids)."""
        return (
            provider == ISSUING_PROVIDER
            and caller_protocol == upstream_protocol
            and caller_protocol in SENT_ID_FINDERS
        )

    async def check(self, principal: Principal, protocol: str, body: Any) -> None:
        """400 naming the first id in ``body`` the caller's account did not receive (or may no
        longer send); one indexed query when the body holds ids, none otherwise."""
        found = sent_ids(protocol, body)
        if not found:
            return
        owned: set[str] = set()
        if self.is_indexing:
            assert self.store is not None
            strings = [value for _, value in found if isinstance(value, str)]
            if strings:
                owned = await self.store.owned_items(strings, _owner(principal))
        for path, value in found:
            if not isinstance(value, str) or value not in owned:
                raise self._refusal(path)

    def _refusal(self, path: str) -> GatewayError:
        field = "audio.id" if path.endswith(".audio.id") else path.rsplit(".", 1)[-1]
        instead = INSTEAD[field]
        if self.is_indexing:
            reason = NOT_ISSUED.format(days=f"{self.retention_s / 86400:g}", instead=instead)
        else:
            reason = NOT_INDEXED.format(instead=instead)
        return GatewayError(400, "invalid_param", f"{path}: {reason}", path)

    def issued_record(self, principal: Principal, answer_id: str, ids: tuple[str, ...]) -> IssuedItemsRecord:
        now = utcnow()
        return IssuedItemsRecord(
            answer_id=answer_id,
            owner=_owner(principal),
            item_ids=ids,
            expires_at=now + timedelta(seconds=self.retention_s),
        )

    async def save(self, principal: Principal, answer_id: str, ids: tuple[str, ...]) -> None:
        """Index ``ids`` for the caller's account and wait until they are durable. Never raises:
        a failure is logged, and a later request sending one of them gets the 400."""
        if not ids or not self.is_indexing:
            return
        try:
            assert self.store is not None
            await self.store.submit(self.issued_record(principal, answer_id, ids))
        except Exception as exc:
            log.warning("ids of answer %s could not be indexed: %s", answer_id, exc)


def _owner(principal: Principal) -> ResponseOwner:
    return ResponseOwner(principal.user_id, principal.org_id)
