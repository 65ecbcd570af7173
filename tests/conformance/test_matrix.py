"""The conformance matrix of issue 3: official SDK × upstream kind × case, end to end.

Every cell drives one official SDK (anthropic, openai chat, openai responses, google-genai)
against a real ``bytespike serve`` in front of the simulator, naming one model per upstream kind
(claude-sonnet-4-6 over Anthropic, gpt-5-4 over OpenAI, gemini-3-1-pro over Gemini,
deepseek-v4-pro over DeepSeek's OpenAI-compatible API), so every caller protocol meets every
upstream protocol, translated or on the fast path. A cell passes when

- the SDK's own accumulators succeed (they enforce the stream rules of protocols.md §8.3),
- content, tool names and arguments, finish reasons (by the table of protocols.md §5.8) and usage
  hold, and what the simulator received carries the feature in its own dialect, and
- each successful call left exactly one usage row billed at the catalogue price of the usage the
  SDK reported (normalized per protocol: tests/web/billing.py), the wallet debited by as much;
  failures leave nothing,

or when it is one of the DOCUMENTED refusals below, whose status and message are asserted. Cell
outcomes are written to a JSON file (conftest.py) that scripts/compatibility_matrix.py renders as
docs/compatibility.md.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest

from tests.conformance import upstream as dialect
from tests.conformance.clients import (
    CLIENTS,
    EXPECTED_ARGUMENTS,
    OPENAI_RESPONSES,
    PNG_BASE64,
    Ask,
    Client,
    Failure,
    Reply,
    Trace,
)
from tests.conformance.upstream import UPSTREAMS, Upstream
from tests.support import gateway as harness
from tests.web.billing import ANTHROPIC, GEMINI, OPENAI_CHAT, Billed, assert_billed, assert_not_billed
from tests.web.upstream_log import new_marker, upstream_requests

pytestmark = pytest.mark.filterwarnings(
    # google-genai's default async transport subclasses aiohttp.ClientSession (its warning, not ours).
    "ignore:Inheritance class AiohttpClientSession from ClientSession is discouraged:DeprecationWarning"
)

CASES = (
    "text",
    "streamed_text",
    "tool_call",
    "parallel_tool_calls",
    "tool_result_round_trip",
    "streamed_tool_arguments",
    "image_input",
    "thinking",
    "adaptive_thinking",
    "json_schema",
    "stop_sequence",
    "max_tokens_stop",
    "error_before_stream",
    "error_mid_stream",
    "cache_usage",
)

FINISH = {
    # protocols.md §5.8, by the caller's protocol.
    ANTHROPIC: {"end": "end_turn", "tool": "tool_use", "max": "max_tokens", "stop": "stop_sequence"},
    OPENAI_CHAT: {"end": "stop", "tool": "tool_calls", "max": "length", "stop": "stop"},
    OPENAI_RESPONSES: {
        "end": "completed",
        "tool": "completed",
        "max": "incomplete:max_output_tokens",
        "stop": "completed",
    },
    GEMINI: {"end": "STOP", "tool": "STOP", "max": "MAX_TOKENS", "stop": "STOP"},
}
ERROR_KIND_502 = {
    # How each protocol names the gateway's 502 for an upstream 500 (spec §5.12).
    ANTHROPIC: "api_error",
    OPENAI_CHAT: "upstream_error",
    OPENAI_RESPONSES: "upstream_error",
    GEMINI: "UNAVAILABLE",
}
PNG_BYTES = base64.b64decode(PNG_BASE64)
MID_STREAM_KIND = {
    # (a vendor's in-band server error, an overload), as each protocol names them.
    ANTHROPIC: ("api_error", "overloaded_error"),
    OPENAI_CHAT: ("upstream_error", "upstream_overloaded"),
    OPENAI_RESPONSES: ("upstream_error", "upstream_overloaded"),
    GEMINI: ("UNAVAILABLE", "UNAVAILABLE"),
}
ANTHROPIC_ID = re.compile(r"^[A-Za-z0-9_-]+$")
"""Anthropic's ``tool_use.id`` pattern: foreign ids must be rewritten to fit it (bifrost #5097)."""


@dataclass(frozen=True)
class Documented400:
    """A cell the gateway refuses on purpose, and where the refusal is documented."""

    message: str
    """Text the error message must contain."""
    reason: str
    """Shown in docs/compatibility.md."""
    status: int = 400


NO_VISION = Documented400(
    "DeepSeek accepts only text content, not image input",
    # Catalogue input_modalities = ["text"]; protocols/openai_chat/hosts.py (text-only contents).
    "deepseek-v4-pro takes text only",
)
DOCUMENTED: dict[tuple[str, str, str], Documented400] = {
    (client, "deepseek", "image_input"): NO_VISION for client in CLIENTS
}
"""(client, upstream, case) → the refusal the cell asserts instead of an answer."""


# ---------------------------------------------------------------------------- one cell


class Cell:
    """One client, one upstream, one funded key; helpers every case uses."""

    def __init__(
        self,
        gateway: harness.GatewayHarness,
        client: Client,
        upstream: Upstream,
        key: harness.TestKey,
        before: int,
    ) -> None:
        self.gateway = gateway
        self.client = client
        self.upstream = upstream
        self.key = key
        self.before = before
        self.marker = new_marker()
        self.replies: list[Reply] = []

    @property
    def caller(self) -> str:
        return self.client.protocol

    @property
    def vendor_protocol(self) -> str:
        return self.upstream.protocol_for(self.caller)

    @property
    def translated(self) -> bool:
        return self.vendor_protocol != self.caller

    def finish(self, kind: str) -> str:
        return FINISH[self.caller][kind]

    async def send(self, ask: Ask, trace: Trace | None = None) -> Reply:
        reply = await self.client.send(self.upstream.model, ask, trace)
        self.replies.append(reply)
        return reply

    async def send_all(self, *asks: Ask) -> list[Reply]:
        return list(await asyncio.gather(*(self.send(ask) for ask in asks)))

    async def failure(self, ask: Ask, trace: Trace | None = None) -> Failure:
        """The SDK error ``ask`` must raise."""
        try:
            reply = await self.client.send(self.upstream.model, ask, trace)
        except Exception as exc:
            failure = self.client.failure(exc)
            if failure is None:
                raise
            return failure
        raise AssertionError(f"expected an error, got a reply (finish {reply.finish}): {reply.text!r}")

    async def upstream_bodies(self) -> list[dict[str, Any]]:
        """What the simulator received for this cell (requests carrying the marker), oldest first."""
        return await upstream_requests(self.gateway, self.marker)

    async def only_upstream_body(self) -> dict[str, Any]:
        [record] = await self.upstream_bodies()
        return record["body"]

    async def assert_billed(self, *, cache_write: int | None = None) -> None:
        """One usage row per reply, at the catalogue price of the usage its SDK reported.

        Gemini's usageMetadata has no cache-write count, so a google-genai caller cannot see
        cache writes that a non-Gemini upstream reported; ``cache_write`` supplies them."""
        rows = await self.gateway.usage_rows(self.key.key_id)
        order = {row["request_id"]: i for i, row in enumerate(rows)}
        expected = []
        for reply in self.replies:
            usage = reply.usage
            if cache_write is not None and self.caller == GEMINI:
                usage = dataclasses.replace(usage, cache_write=cache_write)
            expected.append(Billed(self.upstream.model, self.caller, reply.streamed, usage, reply.request_id))
        expected.sort(key=lambda b: order.get(b.request_id, len(order)))
        await assert_billed(self.gateway, self.key, self.before, *expected)

    async def assert_not_billed(self) -> None:
        await assert_not_billed(self.gateway, self.key, self.before)

    def assert_tool_calls(self, reply: Reply, names: list[str]) -> None:
        assert [c.name for c in reply.calls] == names, reply.calls
        for call in reply.calls:
            assert call.arguments == EXPECTED_ARGUMENTS[call.name], call
        ids = [c.id for c in reply.calls]
        if self.caller != GEMINI:  # Gemini's functionCall.id is optional
            assert all(ids), ids
            assert len(set(ids)) == len(ids), f"tool call ids repeat: {ids}"
        if self.caller == ANTHROPIC:
            assert all(ANTHROPIC_ID.match(i or "") for i in ids), ids
        assert reply.finish == self.finish("tool"), reply.finish


# ---------------------------------------------------------------------------- the cases


async def case_text(cell: Cell) -> None:
    """One non-streamed text reply: exact content, `end` finish, usage, the vendor called in its own protocol with its own model id."""
    reply = await cell.send(Ask(f"Hello conformance {cell.marker}"))
    assert (
        reply.text == f"Hello from {cell.upstream.upstream_model}. You said: Hello conformance {cell.marker}"
    )
    assert reply.finish == cell.finish("end")
    assert not reply.calls
    assert reply.usage.input_tokens > 0
    assert reply.usage.output_tokens == len(reply.text.split())
    await cell.assert_billed()
    [record] = await cell.upstream_bodies()
    # The vendor was called in its own protocol, with its own model id.
    assert record["path"] == cell.upstream.path(cell.caller, stream=False)
    if cell.vendor_protocol != GEMINI:
        assert record["body"]["model"] == cell.upstream.upstream_model


async def case_streamed_text(cell: Cell) -> None:
    """A 20-word streamed reply: one delta per upstream word (nothing buffered), joined text, finish and usage."""
    reply = await cell.send(Ask(f"Stream to me {cell.marker} [[sim:words=20]]", stream=True))
    assert len(reply.text.split()) == 20
    # Relayed as it was generated: one delta per upstream word, nothing buffered or merged.
    assert len(reply.trace.text_deltas) == 20, reply.trace.text_deltas
    assert "".join(reply.trace.text_deltas) == reply.text
    assert reply.finish == cell.finish("end")
    assert reply.usage.output_tokens == 20
    await cell.assert_billed()
    [record] = await cell.upstream_bodies()
    assert record["path"] == cell.upstream.path(cell.caller, stream=True)


async def case_tool_call(cell: Cell) -> None:
    """A forced tool choice naming the second of two tools: that tool is called with schema-valid arguments and a well-formed id; the vendor received the tool choice."""
    # get_time is offered second: only a tool choice that survived translation makes the
    # simulator call it rather than the first tool.
    reply = await cell.send(
        Ask(f"What time is it in Paris? {cell.marker}", tools=True, force_tool="get_time")
    )
    cell.assert_tool_calls(reply, ["get_time"])
    assert dialect.forced_tool(cell.vendor_protocol, await cell.only_upstream_body()) == "get_time"
    await cell.assert_billed()


async def case_parallel_tool_calls(cell: Cell) -> None:
    """Two tool calls in one turn: names in order, arguments, distinct ids, tool-use finish."""
    reply = await cell.send(Ask(f"Weather and time in Paris? {cell.marker} [[sim:parallel=2]]", tools=True))
    cell.assert_tool_calls(reply, ["get_weather", "get_time"])
    await cell.assert_billed()


async def case_tool_result_round_trip(cell: Cell) -> None:
    """A tool call, then (streamed) its result sent back in the caller's history: the vendor received call and result paired (same id; Gemini: same name) and answered from the result."""
    prompt = f"What is the weather in Paris? {cell.marker}"
    first = await cell.send(Ask(prompt, tools=True))
    cell.assert_tool_calls(first, ["get_weather"])
    result = f"sunny and 21 degrees {cell.marker}"
    second = await cell.send(
        Ask("", tools=True, prior=first, prior_prompt=prompt, tool_result=result, stream=True)
    )
    assert not second.calls
    # (Gemini's functionResponse.response is an object: the result may arrive wrapped in JSON.)
    assert second.text.startswith(f"Hello from {cell.upstream.upstream_model}. The tool returned: ")
    assert result.split()[-1] in second.text, second.text
    assert second.finish == cell.finish("end")
    # The vendor received the call and its result paired (same id; Gemini: same name).
    _, second_body = [r["body"] for r in await cell.upstream_bodies()]
    [(call, answer)] = dialect.tool_pairs(cell.vendor_protocol, second_body)
    assert call[1] == "get_weather", (call, answer)
    if cell.vendor_protocol == GEMINI:
        assert answer[1] == "get_weather", (call, answer)
        assert answer[0] == call[0], (call, answer)
    else:
        assert call[0] and answer[0] == call[0], (call, answer)
    await cell.assert_billed()


async def case_streamed_tool_arguments(cell: Cell) -> None:
    """Two tool calls streamed after reasoning and text (where block and tool indices part ways,
    protocols.md §5.13): the SDK accumulator rebuilds both argument objects from the deltas
    (whole calls for Gemini)."""
    prompt = f"Weather and time, streamed {cell.marker} [[sim:parallel=2,reasoning=8]]"
    reply = await cell.send(Ask(prompt, tools=True, stream=True))
    cell.assert_tool_calls(reply, ["get_weather", "get_time"])
    assert reply.text.startswith(f"Hello from {cell.upstream.upstream_model}. Calling"), reply.text
    assert reply.usage.reasoning == 8, reply.usage
    if cell.client.streams_arguments:
        assert reply.trace.argument_deltas >= 2, reply.trace
    await cell.assert_billed()


async def case_image_input(cell: Cell) -> None:
    """A base64 PNG next to the prompt: it reaches the vendor intact, in the vendor's image shape."""
    reply = await cell.send(Ask(f"Describe this image {cell.marker}", image=True))
    assert reply.text.endswith(f"You said: Describe this image {cell.marker}")
    assert reply.finish == cell.finish("end")
    [sent] = dialect.images(cell.vendor_protocol, await cell.only_upstream_body())
    if cell.vendor_protocol == GEMINI:
        # Google takes both base64 alphabets (google-genai itself sends the URL-safe one).
        assert base64.urlsafe_b64decode(sent.replace("+", "-").replace("/", "_")) == PNG_BYTES
    else:
        # Anthropic and OpenAI read standard base64 only.
        assert sent == PNG_BASE64, f"the image reached the vendor as non-standard base64: {sent!r}"
    await cell.assert_billed()


async def case_thinking(cell: Cell) -> None:
    """Reasoning requested in the caller's dialect (streamed and not): reasoning tokens in usage, thinking text where the caller's protocol and the vendor show it, the vendor asked to reason."""
    await _thinking(cell, adaptive=False)


async def case_adaptive_thinking(cell: Cell) -> None:
    """Reasoning on claude-opus-4-8 in the Anthropic column, a model that rejects thinking budgets (protocols.md §0 #3): translated callers reach it with adaptive thinking and an effort, a Gemini budget is reported; Anthropic callers ask adaptively, as Claude Code does; other columns as in `thinking`."""
    await _thinking(cell, adaptive=True)
    if cell.upstream.model != ADAPTIVE_ONLY_CLAUDE.model:
        return
    for record in await cell.upstream_bodies():
        body = record["body"]
        assert body["thinking"]["type"] == "adaptive", body["thinking"]
        assert "budget_tokens" not in body["thinking"], body["thinking"]
        assert body["output_config"]["effort"] in ("low", "medium", "high"), body.get("output_config")
    if cell.caller == GEMINI:
        # google-genai asks for a budget: it became an effort, and the header says so.
        assert all("thinking.budget_tokens" in (r.degraded or "") for r in cell.replies), cell.replies


async def _thinking(cell: Cell, *, adaptive: bool) -> None:
    prompt = f"Think it over {cell.marker} [[sim:reasoning=20]]"
    asks = (Ask(prompt, thinking=True, adaptive=adaptive), Ask(prompt, thinking=True, adaptive=adaptive, stream=True))
    for reply in await cell.send_all(*asks):
        assert reply.usage.reasoning == 20, reply.usage
        assert reply.usage.output_tokens == len(reply.text.split()) + 20, reply.usage
        assert reply.text.startswith(f"Hello from {cell.upstream.upstream_model}")
        assert reply.finish == cell.finish("end")
        # Reasoning text reaches callers whose protocol shows it, from vendors that return it
        # (OpenAI Chat has no reasoning text; DeepSeek's reasoning_content reaches Chat callers).
        if cell.upstream.shows_thinking and (cell.caller != OPENAI_CHAT or cell.upstream.name == "deepseek"):
            assert reply.thinking.startswith("Let me think"), reply.thinking
        if cell.caller == ANTHROPIC and cell.vendor_protocol == ANTHROPIC:
            assert all(reply.thinking_signatures), "Anthropic's own signature must survive"
        elif cell.caller == ANTHROPIC:
            # Signatures never cross vendors: unsigned thinking carries signature "" (§5.7).
            assert set(reply.thinking_signatures) <= {""}, reply.thinking_signatures
    for record in await cell.upstream_bodies():
        body = record["body"]
        asked = {
            k: body[k] for k in ("thinking", "output_config", "reasoning_effort", "reasoning") if k in body
        }
        assert dialect.reasoning(cell.vendor_protocol, body), f"the vendor was not asked to reason: {asked}"
    await cell.assert_billed()


async def case_json_schema(cell: Cell) -> None:
    """A JSON-schema response format reaches the vendor as its own structured-output field (DeepSeek: JSON mode, the schema reported dropped)."""
    reply = await cell.send(Ask(f"Population of Paris as JSON {cell.marker}", json_schema=True))
    assert reply.finish == cell.finish("end")
    assert reply.text.endswith(f"You said: Population of Paris as JSON {cell.marker}")
    body = await cell.only_upstream_body()
    if cell.upstream.name == "deepseek" and cell.translated:
        # DeepSeek has JSON mode but no schemas (protocols/openai_chat/hosts.py): the schema is
        # dropped, and the drop is reported (X-ByteSpike-Strict would make it a 400).
        assert body["response_format"] == {"type": "json_object"}, body
        assert "response_format.json_schema" in (reply.degraded or ""), reply.headers
        await cell.assert_billed()
        return
    sent = dialect.schema(cell.vendor_protocol, body)
    assert sent is not None, "the JSON schema did not reach the vendor"
    assert set(sent["properties"]) == {"city", "population"}, sent
    assert sorted(sent["required"]) == ["city", "population"], sent
    await cell.assert_billed()


async def case_stop_sequence(cell: Cell) -> None:
    """A stop sequence (Responses has none: the vendor stops on one) truncates the reply, finish mapped by protocols.md §5.8, streamed and not."""
    if cell.caller == OPENAI_RESPONSES:
        # Responses has no stop sequences (protocols.md §5.6): the vendor is told to stop on one.
        asks = [
            Ask(f"Please say alpha bravo {cell.marker} [[sim:stop=HALT]]", stream=s) for s in (False, True)
        ]
    else:
        text = f"Please say alpha bravo HALT charlie {cell.marker}"
        asks = [Ask(text, stop=("HALT",), stream=s) for s in (False, True)]
    for reply in await cell.send_all(*asks):
        assert "HALT" not in reply.text
        if cell.caller != OPENAI_RESPONSES:
            assert reply.text.rstrip().endswith("You said: Please say alpha bravo"), reply.text
        if cell.caller == ANTHROPIC and cell.vendor_protocol != ANTHROPIC:
            # Other vendors do not say which sequence matched: end_turn (protocols.md §5.8).
            assert reply.finish == "end_turn", reply.finish
        else:
            assert reply.finish == cell.finish("stop"), reply.finish
        if cell.caller == ANTHROPIC and reply.finish == "stop_sequence":
            assert reply.stop_sequence == "HALT"
    if cell.caller != OPENAI_RESPONSES:
        for record in await cell.upstream_bodies():
            assert dialect.stops(cell.vendor_protocol, record["body"]) == ["HALT"], record["body"]
    await cell.assert_billed()


async def case_max_tokens_stop(cell: Cell) -> None:
    """A 16-token cap on a 40-word reply: 16 words, the protocol's max-tokens finish, streamed and not."""
    prompt = f"Count far beyond the cap {cell.marker} [[sim:words=40]]"
    for reply in await cell.send_all(*(Ask(prompt, max_tokens=16, stream=s) for s in (False, True))):
        assert len(reply.text.split()) == 16, reply.text
        assert reply.finish == cell.finish("max"), reply.finish
        assert reply.usage.output_tokens == 16
    await cell.assert_billed()


async def case_error_before_stream(cell: Cell) -> None:
    """The vendor answers 500 before any stream: the caller gets a 502 in its own error envelope, streamed and not; nothing billed."""
    failures = await asyncio.gather(
        *(cell.failure(Ask(f"Fail please {cell.marker} [[sim:error=500]]", stream=s)) for s in (True, False))
    )
    for failure in failures:
        # The vendor's 500 is the gateway's 502, in the caller's own error envelope.
        assert failure.status == 502, failure
        assert failure.kind == ERROR_KIND_502[cell.caller], failure
        assert "upstream" in failure.message, failure
    await cell.assert_not_billed()


async def case_error_mid_stream(cell: Cell) -> None:
    """The vendor fails after two deltas: both reach the caller, then its protocol's in-band error frame; nothing billed."""
    trace = Trace()
    failure = await cell.failure(
        Ask(f"Break midway {cell.marker} [[sim:midstream_error=2,words=10]]", stream=True), trace
    )
    # What was generated before the fault reached the caller, then the protocol's error frame.
    assert len(trace.text_deltas) == 2, trace
    assert "mid-stream failure" in failure.message, failure
    # The simulated Anthropic in-band error is an overload and keeps that meaning in every
    # protocol (spec §5.12); the other vendors' in-band errors are server errors.
    overloaded = cell.vendor_protocol == ANTHROPIC
    assert failure.kind == MID_STREAM_KIND[cell.caller][overloaded], failure
    if cell.caller == GEMINI:
        assert failure.status == (503 if overloaded else 502), failure
    await cell.assert_not_billed()


async def case_cache_usage(cell: Cell) -> None:
    """Cache reads and writes in usage (input fixed at 100 uncached + 20 read + 10 written): normalized usage, billed at cache rates, streamed and not."""
    prompt = f"Reuse the cached prefix {cell.marker} [[sim:input=100,cache_read=20,cache_write=10,words=8]]"
    # Gemini reports no cache writes: those tokens are plain input from a Gemini upstream.
    writes = 0 if cell.vendor_protocol == GEMINI else 10
    for reply in await cell.send_all(Ask(prompt), Ask(prompt, stream=True)):
        usage = reply.usage
        assert usage.input_tokens == 130, usage
        assert usage.cache_read == 20, usage
        assert usage.cache_write == (0 if cell.caller == GEMINI else writes), usage
        assert usage.output_tokens == 8, usage
    await cell.assert_billed(cache_write=writes)


CASE_FUNCTIONS: dict[str, Callable[[Cell], Awaitable[None]]] = {
    name: globals()[f"case_{name}"] for name in CASES
}


async def refused(cell: Cell, case: str, expected: Documented400) -> None:
    """A documented refusal: the status, the message, and no charge."""
    asks = {"image_input": Ask(f"Describe this image {cell.marker}", image=True)}
    failure = await cell.failure(asks[case])
    assert failure.status == expected.status, failure
    assert expected.message in failure.message, failure
    assert await cell.upstream_bodies() == [], "a refused request must not reach the vendor"
    await cell.assert_not_billed()


# ---------------------------------------------------------------------------- the matrix

ADAPTIVE_ONLY_CLAUDE = Upstream("anthropic", "claude-opus-4-8", "claude-opus-4-8", "anthropic")
CASE_UPSTREAMS: dict[tuple[str, str], Upstream] = {("adaptive_thinking", "anthropic"): ADAPTIVE_ONLY_CLAUDE}
"""(case, column) → the model a case calls instead of the column's usual one."""
MATRIX = [(client, upstream, case) for client in CLIENTS for upstream in UPSTREAMS for case in CASES]


@pytest.mark.parametrize("cell", MATRIX, ids=["-".join(c) for c in MATRIX])
async def test_cell(
    gateway: harness.GatewayHarness, record_property: Any, cell: tuple[str, str, str]
) -> None:
    client_name, upstream_name, case = cell
    key = await gateway.funded_key()
    before = await gateway.balance(key.wallet_id)
    client = CLIENTS[client_name](gateway.url, key.secret)
    try:
        upstream = CASE_UPSTREAMS.get((case, upstream_name), UPSTREAMS[upstream_name])
        current = Cell(gateway, client, upstream, key, before)
        documented = DOCUMENTED.get(cell)
        if documented is not None:
            await refused(current, case, documented)
            record_property("outcome", "400")
            record_property("reason", documented.reason)
            return
        await CASE_FUNCTIONS[case](current)
        degraded = sorted({r.degraded for r in current.replies if r.degraded})
        if degraded:
            record_property("note", "X-ByteSpike-Degraded: " + "; ".join(degraded))
    finally:
        await client.close()
