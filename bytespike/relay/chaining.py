"""``previous_response_id`` on ``POST /v1/responses``, for every model (docs/translation.md §16).

The gateway keeps the conversation itself: each completed exchange (this turn's input items and
the output items the caller received) is stored per account (storage/response_store.py), and a
request naming ``previous_response_id`` gets the stored history put in front of its ``input``
before routing. The id is never sent to a vendor, so it works the same over every upstream, and
one account can never continue another's conversation through the vendor account the gateway
shares among its keys. A missing, expired, unstored (``store: false``) or other account's id is
OpenAI's own 400 ``previous_response_not_found``. The vendor ids an OpenAI answer hands to the
caller are indexed with the stored turn (or alone, when the turn is not stored), for
relay/vendor_items.py.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import orjson

from bytespike.access.principal import Principal
from bytespike.errors import GatewayError
from bytespike.protocols import openai_responses
from bytespike.protocols.sse import SSESplitter, frame_fields
from bytespike.relay.frames import TappedFrames
from bytespike.relay.vendor_items import VendorItems, responses_output_ids
from bytespike.storage.accounts import utcnow
from bytespike.storage.response_store import (
    ResponseOwner,
    ResponseStore,
    StoredResponseRecord,
    StoredTurn,
)

log = logging.getLogger("bytespike.relay")

OPENAI_RESPONSES = openai_responses.NAME
RECORDED_EVENTS = (b"response.output_item.done", b"response.completed", b"response.incomplete")
"""Caller-bound stream events that carry the response id or a finished output item."""
FINISHED_STATUSES = frozenset({"completed", "incomplete"})
"""A response in one of these states is stored (a failed one is not, and is not billed either)."""


def not_found(response_id: str) -> GatewayError:
    """OpenAI's answer for an id it does not have (same for every reason, so nothing leaks)."""
    return GatewayError(
        400,
        "previous_response_not_found",
        f"Previous response with id '{response_id}' not found.",
        "previous_response_id",
    )


def input_items(raw: Any) -> list[Any]:
    """A Responses ``input`` as a list of items (a string is one user message)."""
    if isinstance(raw, str):
        return [{"role": "user", "content": raw}]
    return list(raw) if isinstance(raw, list) else []


def replay_items(turn: StoredTurn, target_protocol: str) -> list[Any]:
    """One stored turn as input items for a request to ``target_protocol``.

    OpenAI's Responses API resolves ``reasoning`` items by their id (or needs encrypted content
    it issued) and checks item ids, so output another vendor produced reaches it without
    reasoning items and without the ids the gateway made up; any other upstream gets the items
    as the caller saw them (the Responses decoder keeps ids to itself)."""
    output = turn.output_items
    if target_protocol == OPENAI_RESPONSES and turn.upstream_protocol != OPENAI_RESPONSES:
        output = [
            {k: v for k, v in item.items() if k != "id"}
            for item in output
            if isinstance(item, dict) and item.get("type") != "reasoning"
        ]
    return [*turn.input_items, *output]


class ResponsesRecorder:
    """Reads the id and output items of the Responses answer the caller receives."""

    __slots__ = ("_done", "_splitter", "output", "response_id", "status")

    def __init__(self) -> None:
        self.response_id: str | None = None
        self.status: str | None = None
        self.output: list[Any] = []
        self._done: dict[int, Any] = {}
        self._splitter = SSESplitter()

    @property
    def is_finished(self) -> bool:
        return self.response_id is not None and self.status in FINISHED_STATUSES

    def observe_body(self, body: Any) -> None:
        """A whole (non-streamed) response object."""
        if isinstance(body, dict):
            self._take_response(body)

    def observe_stream(self, data: bytes) -> None:
        """Caller-bound stream bytes, in order (frames may be split across calls)."""
        if not data:
            return
        for frame in self._splitter.feed(data):
            if not any(name in frame for name in RECORDED_EVENTS):
                continue  # deltas, the bulk of a stream: no JSON parse
            _, payload = frame_fields(frame)
            try:
                event = orjson.loads(payload)
            except orjson.JSONDecodeError:
                continue
            if not isinstance(event, dict):
                continue
            kind = event.get("type")
            if kind == "response.output_item.done" and isinstance(event.get("item"), dict):
                index = event.get("output_index")
                self._done[index if isinstance(index, int) else len(self._done)] = event["item"]
            elif kind in ("response.completed", "response.incomplete") and isinstance(
                event.get("response"), dict
            ):
                self._take_response(event["response"])

    def _take_response(self, response: dict[str, Any]) -> None:
        rid, status, output = response.get("id"), response.get("status"), response.get("output")
        self.response_id = rid if isinstance(rid, str) and rid else None
        self.status = status if isinstance(status, str) else None
        if isinstance(output, list) and output:
            self.output = output
        else:
            # Some backends finish with an empty output and send items only as they complete
            # (protocols.md §3.3, the ChatGPT/Codex backend).
            self.output = [self._done[i] for i in sorted(self._done)]


@dataclass(slots=True)
class Chain:
    """What chaining decided for one Responses request."""

    body: dict[str, Any]
    """The body to route: the caller's, with the stored history in front of ``input`` and
    ``previous_response_id`` removed when one was named."""
    input_items: list[Any]
    """This turn's own input items (what is stored for it)."""
    previous_id: str | None = None
    ancestors: tuple[str, ...] = ()
    """Ids of the stored turns the history came from."""
    history_bytes: int = 0
    """Size of the prepended history (the hold estimate grows by it)."""
    store: bool = True
    """Store this exchange once it completes (``store`` was not false and storing is on)."""
    index_items: bool = False
    """Index the vendor ids of the answer for the caller's account (an OpenAI answer relayed as
    it came, relay/vendor_items.py), whether or not the exchange is stored."""
    recorder: ResponsesRecorder = field(default_factory=ResponsesRecorder)


class ChainOutput:
    """What chaining does to caller-bound stream bytes: they go to the chain's
    `ResponsesRecorder` (when the exchange is stored or its ids indexed) and, on the fast path,
    the response objects name the ``previous_response_id`` the caller sent instead of OpenAI's
    ``null``."""

    def __init__(self, chain: Chain, *, is_passthrough: bool) -> None:
        self._recorder = chain.recorder if chain.store or chain.index_items else None
        self._echo: tuple[tuple[bytes, bytes], ...] = ()
        if is_passthrough and chain.previous_id is not None:
            named = b'"previous_response_id":' + orjson.dumps(chain.previous_id)
            # OpenAI writes compact JSON; the spaced form costs one more scan and never misfires
            # (inside a JSON string the quotes would be escaped).
            self._echo = ((b'"previous_response_id":null', named), (b'"previous_response_id": null', named))

    def __call__(self, data: bytes) -> bytes:
        for null, named in self._echo:
            data = data.replace(null, named)
        if self._recorder is not None:
            self._recorder.observe_stream(data)
        return data


def chain_frames(chain: Chain, frames: Any, *, is_passthrough: bool) -> Any:
    """``frames`` wrapped in a `TappedFrames` when there is anything to record or rewrite."""
    if chain.store or chain.index_items or (is_passthrough and chain.previous_id is not None):
        return TappedFrames(frames, ChainOutput(chain, is_passthrough=is_passthrough))
    return frames


def echo_previous_id(chain: Chain, response: Any) -> None:
    """Name the caller's ``previous_response_id`` in a whole fast-path response object: OpenAI
    was sent the expanded history instead of the id, so it says ``null``."""
    if chain.previous_id is not None and isinstance(response, dict):
        response["previous_response_id"] = chain.previous_id


class ResponseChains:
    """Opens a chain for each Responses request and stores the exchanges that complete."""

    def __init__(self, store: ResponseStore | None, *, retention_s: float) -> None:
        self.store = store
        self.retention_s = retention_s
        """How long a conversation is kept after its last turn; 0 stores nothing."""
        self.items = VendorItems(store, retention_s=retention_s)
        """The index of vendor ids each account received (same store, same retention)."""

    @property
    def is_storing(self) -> bool:
        return self.store is not None and self.retention_s > 0

    async def open(
        self, principal: Principal, body: dict[str, Any], target_protocol: str, *, index_items: bool = False
    ) -> Chain:
        """Resolve ``previous_response_id`` (400 when it cannot be) and decide about storing;
        ``index_items``: the answer comes from OpenAI as it is (`VendorItems.applies`)."""
        own_input = input_items(body.get("input"))
        chain = Chain(
            body=body,
            input_items=own_input,
            store=self.is_storing and body.get("store") is not False,
            index_items=index_items and self.items.is_indexing,
        )
        previous = body.get("previous_response_id")
        if not previous:
            return chain
        turns = None
        if self.store is not None:
            turns = await self.store.load_chain(previous, ResponseOwner(principal.user_id, principal.org_id))
        if not turns:
            raise not_found(previous)
        history = [item for turn in turns for item in replay_items(turn, target_protocol)]
        chain.body = {k: v for k, v in body.items() if k != "previous_response_id"}
        chain.body["input"] = [*history, *own_input]
        chain.previous_id = previous
        chain.ancestors = tuple(turn.id for turn in turns)
        chain.history_bytes = len(orjson.dumps(history))
        return chain

    async def save(self, chain: Chain, principal: Principal, *, model: str, upstream_protocol: str) -> None:
        """Store a completed exchange with the ids its answer handed out (or index only the ids,
        when the exchange is not stored) and wait until it is durable. Never raises: a failure is
        logged, and a later reference to the id gets ``previous_response_not_found``."""
        try:
            await self._save(chain, principal, model=model, upstream_protocol=upstream_protocol)
        except Exception as exc:  # settlement waits on this: it must not fail a billed request
            log.warning("an exchange could not be stored for chaining: %r", exc)

    async def _save(self, chain: Chain, principal: Principal, *, model: str, upstream_protocol: str) -> None:
        recorder = chain.recorder
        if self.store is None or not recorder.is_finished:
            return
        assert recorder.response_id is not None
        item_ids = responses_output_ids(recorder.output) if chain.index_items else ()
        if not chain.store:
            await self.items.save(principal, recorder.response_id, item_ids)
            return
        now = utcnow()
        record = StoredResponseRecord(
            id=recorder.response_id,
            owner=ResponseOwner(principal.user_id, principal.org_id),
            api_key_id=principal.key_id,
            previous_response_id=chain.previous_id,
            model=model,
            upstream_protocol=upstream_protocol,
            input_items=chain.input_items,
            output_items=recorder.output,
            created_at=now,
            expires_at=now + timedelta(seconds=self.retention_s),
            ancestors=chain.ancestors,
            item_ids=item_ids,
        )
        try:
            await self.store.submit(record)
        except Exception as exc:
            log.warning("response %s could not be stored for chaining: %s", record.id, exc)
