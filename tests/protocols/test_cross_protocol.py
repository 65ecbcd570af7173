"""Cross-protocol translation (issue 3): every caller protocol reaching every upstream protocol.

(a) Requests: an arbitrary valid canonical request, written as caller C's wire body, goes through
    the relay's own glue (`decode_caller_request` → `encode_upstream_body`) to every upstream
    kind; the only exceptions allowed are 400s naming a field (strict mode included), and the
    upstream body passes that protocol's `check_request` and `decode_request`. The golden request
    fixtures of the four packages are swept the same way.
(b) Streams: a canonical event sequence, written as upstream U's SSE by U's `StreamEncoder`, is
    relayed the way `relay/streaming.py` does it (U's `StreamDecoder` → `TranslatedFrames` → C's
    `StreamEncoder`, error frames included), read back by C's `StreamDecoder` and assembled: the
    text, thinking, tool calls and usage are those of the original. What legitimately changes is
    listed in `_expected_after` and docs/translation.md.
(c) Snapshots: whole representative requests translated to every other protocol, compared with
    ``tests/protocols/snapshots/*.json`` together with what was dropped (``X-ByteSpike-Degraded``)
    and what strict mode refuses. ``UPDATE_SNAPSHOTS=1`` rewrites them; review every change.
(d) Billing: the cost of one canonical usage is the same whichever protocol carried it.

Tests whose docstring says "Currently FAILS" describe bugs this suite found; they are kept
failing on purpose until the codecs are fixed (docs/translation.md, "Known gaps").
"""

from __future__ import annotations

import itertools
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, event, given, note, settings
from hypothesis import strategies as st

from bytespike.accounting.pricing import cost_micros
from bytespike.canonical.assembler import Assembler
from bytespike.canonical.degradation import Degradations, StrictModeViolation
from bytespike.canonical.events import (
    PartDelta,
    PartEnd,
    PartStart,
    ResponseEnd,
    ResponseStart,
    SignatureDelta,
    StreamError,
    StreamEvent,
    TextDelta,
    ThinkingDelta,
    ToolArgumentsDelta,
)
from bytespike.canonical.parts import OpaquePart, TextPart, ThinkingPart, ToolCallPart, ToolResultPart
from bytespike.canonical.request import Message, Request, ToolDefinition
from bytespike.canonical.response import Response
from bytespike.canonical.usage import Usage
from bytespike.errors import GatewayError
from bytespike.protocols.anthropic_messages import requests as anthropic_requests
from bytespike.protocols.anthropic_messages import usage as anthropic_usage
from bytespike.protocols.anthropic_messages.versions import V2023_06_01, V2026_10_21
from bytespike.protocols.gemini import usage as gemini_usage
from bytespike.protocols.openai_chat import usage as chat_usage
from bytespike.protocols.openai_responses import usage as responses_usage
from bytespike.protocols.sse import SSESplitter
from bytespike.relay.frames import TranslatedFrames
from bytespike.relay.translation import (
    codec,
    decode_caller_request,
    encode_upstream_body,
    upstream_protocol_for,
)
from bytespike.relay.upstream_errors import remap_stream_error
from bytespike.routing.catalogue import load_catalogue
from tests.protocols.anthropic_messages import strategies as anthropic_strategies
from tests.protocols.anthropic_messages import validity as anthropic_validity
from tests.protocols.gemini import strategies as gemini_strategies
from tests.protocols.gemini import validity as gemini_validity
from tests.protocols.openai_chat import strategies as chat_strategies
from tests.protocols.openai_chat import validity as chat_validity
from tests.protocols.openai_responses import strategies as responses_strategies
from tests.protocols.openai_responses import support as responses_support

A, C, R, G = "anthropic_messages", "openai_chat", "openai_responses", "gemini"
PROTOCOLS = (A, C, R, G)
TARGETS: dict[str, tuple[str, str]] = {
    "anthropic": (A, "anthropic"),
    "openai": (C, "openai"),
    "deepseek": (C, "deepseek"),
    "responses": (R, "openai"),
    "gemini": (G, "gemini"),
}
"""Upstream kinds: name → (wire protocol, provider). ``responses`` is OpenAI spoken over the
Responses API, ``deepseek`` the OpenAI Chat codec's DeepSeek flavor."""
DEFAULT_PROTOCOL = {"anthropic": A, "openai": C, "gemini": G, "deepseek": C}
"""The protocol the catalogue gives each provider's models (bytespike/routing/catalogue.toml)."""
UPSTREAM_MODEL = "upstream-model"

REQUEST_SETTINGS = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
STREAM_SETTINGS = settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _wire(body: Any) -> Any:
    """What the bytes of ``body`` decode to on the other side (tuples become lists, …)."""
    return orjson.loads(orjson.dumps(body))


def translate(
    caller: str, target: str, body: dict[str, Any], *, strict: bool = False, stream: bool = False
) -> tuple[dict[str, Any], Degradations]:
    """The upstream body the relay sends for ``body`` (a caller's wire request), and the drops
    that go into ``X-ByteSpike-Degraded``; 400s are raised as the relay raises them."""
    upstream, provider = TARGETS[target]
    t = decode_caller_request(caller, upstream, _wire(body), strict=strict)
    out = encode_upstream_body(t, upstream_model=UPSTREAM_MODEL, provider=provider, stream=stream)
    return _wire(out), t.deg


SDK_REQUEST_CHECKS: dict[str, Any] = {
    A: lambda body, _: anthropic_validity.assert_valid_request(body),
    C: lambda body, provider: chat_validity.assert_valid_request(
        body, flavor="deepseek" if provider == "deepseek" else "openai"
    ),
    R: lambda body, _: responses_support.validate_request(body),
    G: lambda body, _: gemini_validity.assert_valid_request(body),
}
"""Each upstream protocol's request judged by its official SDK's own types."""


def check_upstream_body(
    upstream: str, body: dict[str, Any], provider: str | None = None, *, sdk: bool = True
) -> Request:
    """``body`` passes our own checks and decoder, and (``sdk``) the official SDK's request types
    for ``upstream`` (``provider`` deepseek: the OpenAI types plus DeepSeek's extensions)."""
    if sdk:
        SDK_REQUEST_CHECKS[upstream](body, provider)
    requests = codec(upstream).requests
    requests.check_request(body)
    return requests.decode_request(body)


# =============================================================================================
# (a) requests


def _as_its_decoder_makes_it(part: Any) -> bool:
    """Responses keeps unknown items as ``{"item": …}``/``{"content": …}`` opaque parts; the
    shared strategies also build Responses-tagged opaque parts no decoder can produce."""
    return not (
        isinstance(part, OpaquePart) and part.protocol == R and not {"item", "content"} & part.data.keys()
    )


def _realistic(req: Request) -> Request:
    messages = tuple(
        Message(m.role, tuple(p for p in m.parts if _as_its_decoder_makes_it(p))) for m in req.messages
    )
    return replace(req, messages=messages)


canonical_requests = st.one_of(
    anthropic_strategies.requests(),
    chat_strategies.requests,
    gemini_strategies.requests,
    responses_strategies.requests(),
).map(_realistic)
"""Every package's request strategy: all part kinds in all roles, foreign signatures and
provider data, odd names and ids, cache breakpoints, every generation knob."""


def encode_as_caller(caller: str, req: Request) -> dict[str, Any]:
    """``req`` as the caller's own wire body (a 400 when the caller's protocol cannot say it)."""
    options: dict[str, Any] = {A: {"version": V2023_06_01}, C: {"flavor": "openai"}}.get(caller, {})
    body = codec(caller).requests.encode_request(req, model="caller-model", deg=Degradations(), **options)
    return _wire(body)


def _tool_pairs(protocol: str, body: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(tool-call ids, tool-result ids) in wire order; Gemini entries without an id are
    ``name:<function name>`` (Gemini pairs those by name and order)."""
    calls: list[str] = []
    results: list[str] = []
    if protocol == A:
        for m in body["messages"]:
            for b in m["content"] if isinstance(m["content"], list) else ():
                if b.get("type") == "tool_use":
                    calls.append(b["id"])
                elif b.get("type") == "tool_result":
                    results.append(b["tool_use_id"])
    elif protocol == C:
        for m in body["messages"]:
            calls += [c["id"] for c in m.get("tool_calls") or ()]
            if m["role"] == "tool":
                results.append(m["tool_call_id"])
    elif protocol == R:
        for item in body.get("input") or ():
            if item.get("type") == "function_call":
                calls.append(item["call_id"])
            elif item.get("type") == "function_call_output":
                results.append(item["call_id"])
    else:
        for content in body["contents"]:
            for p in content["parts"]:
                for key, into in (("functionCall", calls), ("functionResponse", results)):
                    if key in p:
                        into.append(p[key].get("id") or "name:" + p[key]["name"])
    return calls, results


def _answered(protocol: str, body: dict[str, Any]) -> bool:
    """Every tool result answers a tool call of the same request (Gemini: by id, or by name for
    calls and results sent without ids)."""
    calls, results = _tool_pairs(protocol, body)
    return set(results) <= set(calls)


@pytest.mark.parametrize("caller", PROTOCOLS)
@REQUEST_SETTINGS
@given(req=canonical_requests, strict=st.booleans())
def test_any_valid_request_reaches_every_upstream_or_is_a_400_naming_the_field(
    caller: str, req: Request, strict: bool
) -> None:
    try:
        body = encode_as_caller(caller, req)
    except GatewayError:
        event("not expressible by the caller's protocol")
        return
    codec(caller).requests.check_request(body)  # the gateway's shape check runs first
    answered = _answered(caller, body)
    for target, (upstream, provider) in TARGETS.items():
        note(f"{caller} → {target}")
        try:
            out, deg = translate(caller, target, body, strict=strict, stream=req.stream)
        except GatewayError as err:
            assert err.status == 400 and err.param, f"{caller} → {target}: {err!r}"
            event(f"{target}: 400")
            continue
        if strict:
            assert deg.dropped == [], f"{caller} → {target}: strict mode let a drop through"
        # A route back to the caller's own protocol is the fast path in the relay (the caller's
        # bytes, not ours); there the strategies' bare opaque blocks would be judged.
        check_upstream_body(upstream, out, provider, sdk=upstream != caller)
        if answered:
            assert _answered(upstream, out), f"{caller} → {target}: a tool result lost its call"
        event(f"{target}: translated")


_PLAIN_TEXT = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9 ,.?!]{0,30}[A-Za-z0-9.?!]", fullmatch=True)
"""Text no codec has a reason to touch, so it must reach every upstream verbatim."""
_TOOL_NAME = st.from_regex(r"[a-z][a-z0-9_]{0,15}", fullmatch=True)
_ARGS_SCHEMA = {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]}


@st.composite
def plain_conversations(draw: st.DrawFn) -> Request:
    """What most traffic is: an optional system prompt, alternating user and assistant text,
    function tools with conventional names, and tool calls answered by results of the same id.
    Every protocol can say it and every upstream can take it, so none of it may be refused."""
    tools = draw(st.lists(_TOOL_NAME, max_size=3, unique=True))
    messages: list[Message] = []
    for turn in range(draw(st.integers(0, 3))):
        messages.append(Message("user", (TextPart(draw(_PLAIN_TEXT)),)))
        if tools and draw(st.integers(0, 2)):  # two turns in three call a tool
            call_id = f"call_{turn}_{draw(st.from_regex(r'[a-z0-9]{4}', fullmatch=True))}"
            call = ToolCallPart(call_id, draw(st.sampled_from(tools)), {"q": draw(_PLAIN_TEXT)})
            said = (TextPart(draw(_PLAIN_TEXT)),) if draw(st.booleans()) else ()
            messages.append(Message("assistant", (*said, call)))
            result = ToolResultPart(call_id, (TextPart(draw(_PLAIN_TEXT)),), is_error=draw(st.booleans()))
            messages.append(Message("user", (result,)))
        messages.append(Message("assistant", (TextPart(draw(_PLAIN_TEXT)),)))
    messages.append(Message("user", (TextPart(draw(_PLAIN_TEXT)),)))
    return Request(
        "caller-model",
        tuple(messages),
        system=(TextPart(draw(_PLAIN_TEXT)),) if draw(st.booleans()) else (),
        tools=tuple(ToolDefinition(name, draw(_PLAIN_TEXT), _ARGS_SCHEMA) for name in tools),
        max_tokens=draw(st.integers(16, 8192)),  # Responses raises anything lower to 16
        stream=draw(st.booleans()),
    )


def _texts(req: Request) -> list[str]:
    found = [p.text for p in req.system]
    for m in req.messages:
        for p in m.parts:
            if isinstance(p, TextPart):
                found.append(p.text)
            elif isinstance(p, ToolCallPart):
                found.append(p.arguments["q"])
            elif isinstance(p, ToolResultPart):
                found += [c.text for c in p.content if isinstance(c, TextPart)]
    return found + [t.description or "" for t in req.tools]


@pytest.mark.parametrize("caller", PROTOCOLS)
@REQUEST_SETTINGS
@given(req=plain_conversations(), strict=st.booleans())
def test_a_plain_conversation_reaches_every_upstream_whole(caller: str, req: Request, strict: bool) -> None:
    """The broad property above accepts any 400 naming a field, and most of its examples are
    requests some protocol cannot say; this one holds the common case to the strict standard:
    every caller's body translates for every upstream, passes that upstream's SDK types and our
    checks, loses nothing (strict mode passes), keeps every text and tool argument verbatim and
    every tool result paired with its call."""
    body = encode_as_caller(caller, req)
    codec(caller).requests.check_request(body)
    for target, (upstream, provider) in TARGETS.items():
        note(f"{caller} → {target}")
        out, deg = translate(caller, target, body, strict=strict, stream=req.stream)
        assert deg.dropped == [], f"{caller} → {target}: {deg.dropped}"
        check_upstream_body(upstream, out, provider, sdk=upstream != caller)
        wire = orjson.dumps(out).decode()
        for text in _texts(req):
            assert text in wire, f"{caller} → {target}: {text!r} did not arrive"
        assert _answered(upstream, out), f"{caller} → {target}: a tool result lost its call"
        event(f"{target}: {sum(1 for m in req.messages for p in m.parts if isinstance(p, ToolCallPart))} calls")


@pytest.mark.parametrize("caller", PROTOCOLS)
@REQUEST_SETTINGS
@given(req=canonical_requests, strict=st.booleans())
def test_anthropic_2026_10_21_encoding_of_any_translated_request_is_valid(
    caller: str, req: Request, strict: bool
) -> None:
    """The relay sends translated requests as 2023-06-01; the codec's 2026-10-21 form (which
    drops the sampling parameters) must be just as valid. Called without the relay's glue, the
    encoder raises `StrictModeViolation` itself."""
    try:
        body = encode_as_caller(caller, req)
        request = codec(caller).requests.decode_request(body)
    except GatewayError:
        return
    deg = Degradations(strict=strict)
    try:
        out = anthropic_requests.encode_request(request, model=UPSTREAM_MODEL, deg=deg, version=V2026_10_21)
    except GatewayError as err:
        assert err.status == 400 and err.param
        return
    except StrictModeViolation as exc:
        assert strict and exc.field
        return
    out = _wire(out)
    assert not {"temperature", "top_p", "top_k"} & out.keys()
    check_upstream_body(A, out, sdk=caller != A)  # A → A: the fast path in the relay


FIXTURES = Path(__file__).parent


def _fixture_requests() -> list[tuple[str, str, dict[str, Any]]]:
    out = []
    for protocol in PROTOCOLS:
        for path in sorted((FIXTURES / protocol / "fixtures").glob("request_*.json")):
            raw = orjson.loads(path.read_bytes())
            body = raw.get("request") if protocol == A else raw.get("body") if protocol == C else raw
            out.append((protocol, path.stem, body))
    return out


@pytest.mark.parametrize(
    ("caller", "name", "body"), _fixture_requests(), ids=[f"{p}-{n}" for p, n, _ in _fixture_requests()]
)
def test_every_golden_request_reaches_every_other_upstream_or_is_a_400(
    caller: str, name: str, body: dict[str, Any]
) -> None:
    for target, (upstream, provider) in TARGETS.items():
        if upstream == caller:
            continue
        for strict in (False, True):
            try:
                out, deg = translate(caller, target, body, strict=strict, stream=bool(body.get("stream")))
            except GatewayError as err:
                assert err.status == 400 and err.param, (target, err)
                continue
            assert not (strict and deg.dropped)
            check_upstream_body(upstream, out, provider)


# =============================================================================================
# (b) streams

REQUEST_ID = "req_0123456789abcdef"
TOOL_NAMES = st.from_regex(r"[A-Za-z_][A-Za-z0-9_-]{0,24}", fullmatch=True)
"""Names every protocol accepts as they are (Anthropic/Chat/Responses ``[a-zA-Z0-9_-]``, Gemini
starting with a letter or ``_``); other names are rewritten or refused on the request side,
where the relay also learns how to restore them (covered by the package tests)."""
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**9), 10**9) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)
tool_arguments = st.dictionaries(st.text(max_size=8), json_values, max_size=4)
SIGNATURE = "c2lnbmF0dXJlLWJ5dGVz"


def _fragments(draw: st.DrawFn, whole: str) -> list[str]:
    cuts = sorted(draw(st.sets(st.integers(0, len(whole)), max_size=5)))
    return [whole[a:b] for a, b in itertools.pairwise([0, *cuts, len(whole)])]


@st.composite
def usages(draw: st.DrawFn) -> Usage:
    """A consistent usage: cache tokens are part of the input, reasoning part of the output."""
    input_tokens = draw(st.integers(0, 2_000_000))
    read = draw(st.integers(0, input_tokens))
    write = draw(st.integers(0, input_tokens - read))
    output = draw(st.integers(0, 200_000))
    return Usage(input_tokens, output, read, write, draw(st.integers(0, output)))


@st.composite
def upstream_streams(draw: st.DrawFn) -> list[StreamEvent]:
    """What a vendor's stream decodes to: parts start in index order; text and thinking parts
    follow one another (no decoder interleaves two of them), while tool calls may interleave with
    anything (OpenAI parallel calls), start whole (Gemini) or stream their arguments in fragments
    cut anywhere, even inside an escape sequence. Ends with `ResponseEnd`, or is cut by a
    `StreamError`. (The wire is then read in pieces of 1, 7, 64 bytes or whole, so multi-byte
    characters are split across reads too.)"""
    kinds = draw(st.lists(st.sampled_from(["text", "thinking", "call", "whole_call"]), max_size=6))
    plans: list[list[StreamEvent]] = []
    for i, kind in enumerate(kinds):
        events: list[StreamEvent]
        if kind == "text":
            events = [PartStart(i, TextPart(""))]
            events += [PartDelta(i, TextDelta(t)) for t in draw(st.lists(st.text(max_size=8), max_size=4))]
        elif kind == "thinking":
            events = [PartStart(i, ThinkingPart())]
            events += [
                PartDelta(i, ThinkingDelta(t)) for t in draw(st.lists(st.text(max_size=8), max_size=4))
            ]
            if draw(st.booleans()):
                events.append(PartDelta(i, SignatureDelta(SIGNATURE, draw(st.sampled_from(PROTOCOLS)))))
        elif kind == "call":
            whole = orjson.dumps(draw(tool_arguments)).decode()
            events = [PartStart(i, ToolCallPart(f"call_{i}x", draw(TOOL_NAMES)))]
            events += [PartDelta(i, ToolArgumentsDelta(f)) for f in _fragments(draw, whole)]
        else:
            events = [PartStart(i, ToolCallPart(f"call_{i}x", draw(TOOL_NAMES), draw(tool_arguments)))]
        plans.append([*events, PartEnd(i)])
    start_usage = draw(st.none() | st.just(Usage(0)))
    out: list[StreamEvent] = [ResponseStart("upstream-id", "upstream-model", start_usage)]
    cursors = [0] * len(plans)
    started = 0
    open_text: int | None = None
    while any(c < len(p) for c, p in zip(cursors, plans, strict=True)):
        ready = [i for i in range(started) if cursors[i] < len(plans[i])]
        textual = (
            started < len(plans)
            and isinstance(plans[started][0], PartStart)
            and not isinstance(plans[started][0].part, ToolCallPart)
        )
        if started < len(plans) and not (textual and open_text is not None):
            ready.append(started)
        i = draw(st.sampled_from(ready))
        if i == started:
            started += 1
            if textual:
                open_text = i
        e = plans[i][cursors[i]]
        cursors[i] += 1
        out.append(e)
        if isinstance(e, PartEnd) and e.index == open_text:
            open_text = None
    if draw(st.sampled_from([False, False, False, False, False, True])):
        cut = draw(st.integers(1, len(out)))
        status = draw(st.sampled_from([429, 500, 503, 529]))
        return [*out[:cut], StreamError(status, "upstream_error", "the model is busy")]
    finish = draw(
        st.sampled_from(
            [
                None,
                "stop",
                "length",
                "tool_use",
                "stop_sequence",
                "content_filter",
                "refusal",
                "pause",
                "error",
            ]
        )
    )
    return [*out, ResponseEnd(finish, draw(usages()), None)]  # type: ignore[arg-type]


def _encoder(protocol: str) -> Any:
    # The relay always asks an OpenAI Chat upstream for the usage chunk; a Chat caller sees it
    # only with stream_options.include_usage, which this suite sets (else usage is not forwarded).
    options = {"include_usage": True} if protocol == C else {}
    return codec(protocol).streaming.StreamEncoder(model="caller-slug", request_id=REQUEST_ID, **options)


def _frames(wire: bytes, chunk: int) -> list[bytes]:
    """The SSE frames of ``wire`` read in ``chunk``-byte pieces, as the relay's splitter sees them."""
    splitter = SSESplitter()
    frames = [f for k in range(0, len(wire), chunk) for f in splitter.feed(wire[k : k + chunk])]
    assert not splitter.tail.strip(), f"an unterminated frame: {splitter.tail[:80]!r}"
    return frames


def upstream_wire(upstream: str, events: list[StreamEvent]) -> bytes:
    encoder = _encoder(upstream)
    return b"".join(encoder.encode(e) for e in events) + encoder.finish()


def relay(upstream: str, caller: str, wire: bytes, chunk: int) -> tuple[bytes, TranslatedFrames]:
    """`RelayStream.chunks` without the network and the ledger: frames through `TranslatedFrames`,
    the held terminal frame at the end, the caller's error frame when the upstream failed."""
    frames = TranslatedFrames(codec(upstream).streaming.StreamDecoder(), _encoder(caller))
    out: list[bytes] = []
    held: list[bytes] = []
    for frame in _frames(wire, chunk):
        now, terminal = frames.process(frame)
        out.append(now)
        held.append(terminal)
        if frames.facts.error is not None:
            return b"".join(out) + frames.error_frame(remap_stream_error(frames.facts.error)), frames
    now, terminal = frames.at_eof()
    out.append(now)
    held.append(terminal)
    if frames.facts.error is None and not frames.facts.finished:
        frames.facts.error = GatewayError(502, "upstream_error", "upstream: the stream ended early")
    if frames.facts.error is not None:
        return b"".join(out) + frames.error_frame(remap_stream_error(frames.facts.error)), frames
    return b"".join(out + held), frames


def caller_sees(caller: str, wire: bytes, chunk: int) -> list[StreamEvent]:
    decoder = codec(caller).streaming.StreamDecoder()
    return [e for f in _frames(wire, chunk) for e in decoder.feed(f)] + decoder.finish()


def assembled(events: list[StreamEvent]) -> Response:
    assembler = Assembler()
    for e in events:
        assembler.feed(e)
    return assembler.response()


def summary(resp: Response) -> dict[str, Any]:
    return {
        "text": "".join(p.text for p in resp.parts if isinstance(p, TextPart)),
        "thinking": "".join(p.text for p in resp.parts if isinstance(p, ThinkingPart)),
        "calls": [(p.name, p.arguments) for p in resp.parts if isinstance(p, ToolCallPart)],
        "usage": resp.usage,
    }


def _expected_after(upstream: str, caller: str, original: dict[str, Any]) -> dict[str, Any]:
    """The summary a caller should see; every difference from the original is a documented
    property of a wire format (docs/translation.md, "Streaming"):

    - Gemini's ``usageMetadata`` has no cache-write count: a Gemini hop folds cache writes into
      plain prompt tokens (``cache_write_tokens`` becomes 0, ``input_tokens`` is unchanged);
    - a Gemini stream carries a function call whole, when it ends: with interleaved parallel
      calls the order of the calls is the order they finished in (compared as a multiset).
    """
    expected = dict(original)
    if G in (upstream, caller):
        expected["usage"] = replace(original["usage"], cache_write_tokens=0)
        expected["calls"] = sorted(original["calls"], key=repr)
    return expected


def _signatures(resp: Response) -> set[tuple[str | None, str | None]]:
    return {
        (p.signature, p.signature_protocol) for p in resp.parts if isinstance(p, ThinkingPart) and p.signature
    }


@pytest.mark.parametrize("upstream", PROTOCOLS)
@STREAM_SETTINGS
@given(events=upstream_streams(), chunk=st.sampled_from([1, 7, 64, 1 << 20]))
def test_a_stream_translated_to_any_caller_keeps_text_tool_calls_and_usage(
    upstream: str, events: list[StreamEvent], chunk: int
) -> None:
    wire = upstream_wire(upstream, events)
    failed = isinstance(events[-1], StreamError)
    original = None if failed else summary(assembled(events))
    event("cut by an error" if failed else f"{len(original['calls'])} tool calls")  # type: ignore[index]
    for caller in PROTOCOLS:
        note(f"{upstream} → {caller}")
        out, frames = relay(upstream, caller, wire, chunk)
        seen = caller_sees(caller, out, chunk)
        assert seen and isinstance(seen[-1], ResponseEnd | StreamError)
        if not failed and upstream == R and events[-1].finish_reason == "error":  # type: ignore[union-attr]
            # Responses says "the turn failed" with `response.failed`, which its decoder reads as a
            # stream error (docs/translation.md §11, §13); the other wires fold that finish reason.
            assert isinstance(seen[-1], StreamError), f"{upstream} → {caller}"
            continue
        if failed:
            # Each protocol's own error frame, recognised by that protocol's decoder.
            assert isinstance(seen[-1], StreamError), f"{upstream} → {caller}: the failure was lost"
            assert not frames.facts.has_usage  # a failed stream is not billed
            continue
        assert isinstance(seen[-1], ResponseEnd), f"{upstream} → {caller}: {seen[-1]}"
        got = summary(assembled(seen))
        expected = _expected_after(upstream, caller, original)  # type: ignore[arg-type]
        if G in (upstream, caller):
            got["calls"] = sorted(got["calls"], key=repr)
        assert got == expected, f"{upstream} → {caller}"
        # Billing reads the usage the upstream decoder produced, whoever the caller is.
        billed = original["usage"] if upstream != G else expected["usage"]  # type: ignore[index]
        assert frames.facts.usage == billed
        # A thinking signature is never attributed to a protocol that did not issue it.
        assert _signatures(assembled(seen)) <= _signatures(assembled(events))


any_package_stream = st.one_of(
    anthropic_strategies.event_sequences(),
    chat_strategies.event_sequences().map(lambda plan: plan[0]),
    gemini_strategies.event_sequences(),
    responses_strategies.event_sequences(),
)
"""The packages' own event strategies: media, opaque and redacted parts, names every protocol
rewrites, interleaved text parts, cut streams without an ending."""


@STREAM_SETTINGS
@given(events=any_package_stream, chunk=st.sampled_from([3, 1 << 20]))
def test_any_event_sequence_relays_between_any_two_protocols_to_an_ending_the_caller_reads(
    events: list[StreamEvent], chunk: int
) -> None:
    for upstream in PROTOCOLS:
        wire = upstream_wire(upstream, events)
        for caller in PROTOCOLS:
            note(f"{upstream} → {caller}")
            out, _ = relay(upstream, caller, wire, chunk)
            seen = caller_sees(caller, out, chunk)
            assert seen and isinstance(seen[-1], ResponseEnd | StreamError)
            if isinstance(seen[-1], ResponseEnd):
                assembled(seen)  # valid JSON arguments, no delta before its start


# =============================================================================================
# (d) billing

USAGE_CODECS = {A: anthropic_usage, C: chat_usage, R: responses_usage, G: gemini_usage}
MODELS = tuple(load_catalogue().models.values())
MINIMAL: dict[str, dict[str, Any]] = {
    A: {"model": "m", "max_tokens": 64, "messages": [{"role": "user", "content": "Hello"}]},
    C: {"model": "m", "messages": [{"role": "user", "content": "Hello"}]},
    R: {"model": "m", "input": "Hello"},
    G: {"contents": [{"role": "user", "parts": [{"text": "Hello"}]}]},
}
"""The smallest request of each protocol: a single user text."""


@settings(max_examples=150, deadline=None, derandomize=True, database=None)
@given(usage=usages())
def test_the_cost_of_a_usage_is_the_same_whichever_protocol_carried_it(usage: Usage) -> None:
    """encode_usage → wire → decode_usage in each protocol, then `cost_micros` for every model
    of the catalogue. Gemini's ``usageMetadata`` cannot say "cache write": those tokens travel as
    plain prompt tokens, which costs the same on every model pricing cache writes at the input
    rate (all Gemini models do)."""
    for protocol, module in USAGE_CODECS.items():
        carried = module.decode_usage(_wire(module.encode_usage(usage)))
        if protocol != G:
            assert carried == usage, protocol
        else:
            assert carried == replace(usage, cache_write_tokens=0)
        for model in MODELS:
            if protocol != G or not usage.cache_write_tokens or model.price.cache_write == model.price.input:
                assert cost_micros(carried, model) == cost_micros(usage, model), (protocol, model.slug)


@settings(max_examples=60, deadline=None, derandomize=True, database=None)
@given(usage=usages())
def test_the_billed_usage_of_an_answer_does_not_depend_on_the_callers_protocol(usage: Usage) -> None:
    """The relay bills what the upstream's decoder read: on the fast path (the codec's own
    usage reader, or the stream tap) and translated to any caller (`translate_response`,
    `TranslatedFrames`), whole and streamed."""
    from bytespike.canonical.assembler import events_of
    from bytespike.protocols.codecs import CODECS
    from bytespike.relay.frames import PassthroughFrames
    from bytespike.relay.translation import translate_response

    answer = Response("upstream-id", "upstream-model", (TextPart("Hi"),), "stop", usage)
    for upstream in PROTOCOLS:
        body = _wire(codec(upstream).responses.encode_response(answer, model="m", request_id=REQUEST_ID))
        billed = {CODECS[upstream].decode_usage(CODECS[upstream].usage_of_response(body))}
        wire = upstream_wire(upstream, events_of(answer))
        tap = PassthroughFrames(upstream, upstream_model="m", slug="m", forward_usage=True)
        for frame in _frames(wire, 1 << 20):
            tap.process(frame)
        billed.add(tap.facts.usage)
        for caller in PROTOCOLS:
            if caller == upstream:
                continue
            t = decode_caller_request(caller, upstream, _wire(MINIMAL[caller]), strict=True)
            translated, _ = translate_response(t, body, slug="m", request_id=REQUEST_ID)
            billed.add(translated.usage)
            billed.add(relay(upstream, caller, wire, 1 << 20)[1].facts.usage)
        assert billed == {usage if upstream != G else replace(usage, cache_write_tokens=0)}, upstream


# =============================================================================================
# (c) snapshots of whole translated requests

SNAPSHOTS = Path(__file__).parent / "snapshots"
ANTHROPIC_SIGNATURE = "EqQBCkgIARABGAIiQMx3Lh0Q5c1nJ8qK7r2vYw=="
GEMINI_SIGNATURE = "CiQB0e2Kb9vXyZ3Qm8Hq6Wf1tA5pL2sN4dR7uJ0cE9gT"
ENCRYPTED_REASONING = "gAAAAABoZ2VuY3J5cHRlZC1yZWFzb25pbmc="
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
JPEG = "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAgGBgcGBQgHBwcJCQgKDBQNDAsLDBkSEw8U"
PDF = "JVBERi0xLjQKJcfsj6IKMSAwIG9iago8PC9UeXBlL0NhdGFsb2c+PgplbmRvYmoK"
BASH_SCHEMA = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "properties": {
        "command": {"type": "string", "description": "The command to execute"},
        "timeout": {"type": "number", "description": "Optional timeout in milliseconds"},
    },
    "required": ["command"],
    "additionalProperties": False,
}
WEATHER_SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["c", "f"]}},
    "required": ["city", "unit"],
    "additionalProperties": False,
}

SNAPSHOT_REQUESTS: dict[str, tuple[str, dict[str, Any]]] = {
    "anthropic_claude_code": (
        A,
        {
            "model": "claude-sonnet-4-6",
            "max_tokens": 32000,
            "stream": True,
            "system": [
                {"type": "text", "text": "You are Claude Code, Anthropic's official CLI for Claude."},
                {
                    "type": "text",
                    "text": "You are an interactive CLI tool that helps users with software engineering tasks.",
                    "cache_control": {"type": "ephemeral"},
                },
            ],
            "tools": [
                {"name": "Bash", "description": "Executes a bash command.", "input_schema": BASH_SCHEMA},
                {
                    "name": "Read",
                    "description": "Reads a file from the local filesystem.",
                    "input_schema": {
                        "type": "object",
                        "properties": {"file_path": {"type": "string"}},
                        "required": ["file_path"],
                    },
                    "cache_control": {"type": "ephemeral"},
                },
            ],
            "thinking": {"type": "enabled", "budget_tokens": 31999},
            "metadata": {"user_id": "user_4f1c_account_77ab_session_0b9e"},
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "<system-reminder>Current branch: main</system-reminder>"},
                        {"type": "text", "text": "Why does test_parse fail?"},
                    ],
                },
                {
                    "role": "assistant",
                    "content": [
                        {
                            "type": "thinking",
                            "thinking": "Run the test first.",
                            "signature": ANTHROPIC_SIGNATURE,
                        },
                        {"type": "text", "text": "Let me run the test and read the parser."},
                        {
                            "type": "tool_use",
                            "id": "toolu_01A09q90qw90lq917835lq9",
                            "name": "Bash",
                            "input": {"command": "pytest tests/test_parse.py -x"},
                        },
                        {
                            "type": "tool_use",
                            "id": "toolu_01B7mXkq2",
                            "name": "Read",
                            "input": {"file_path": "/repo/parse.py"},
                        },
                    ],
                },
                {
                    "role": "user",
                    "content": [
                        {
                            "type": "tool_result",
                            "tool_use_id": "toolu_01A09q90qw90lq917835lq9",
                            "content": "FAILED tests/test_parse.py::test_parse - ValueError: '1.5'",
                            "is_error": True,
                        },
                        {
                            "type": "tool_result",
                            "tool_use_id": "toolu_01B7mXkq2",
                            "content": [{"type": "text", "text": "def parse(s):\n    return int(s)\n"}],
                        },
                        {"type": "text", "text": "Keep going.", "cache_control": {"type": "ephemeral"}},
                    ],
                },
            ],
        },
    ),
    "anthropic_inline_system_and_documents": (
        A,
        {
            "model": "claude-opus-4-8",
            "max_tokens": 2048,
            "system": "You review contracts.",
            "temperature": 0.3,
            "top_p": 0.9,
            "top_k": 40,
            "stop_sequences": ["</review>"],
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {
                            "type": "document",
                            "title": "contract.pdf",
                            "source": {"type": "base64", "media_type": "application/pdf", "data": PDF},
                        },
                        {
                            "type": "document",
                            "source": {
                                "type": "text",
                                "media_type": "text/plain",
                                "data": "Clause 7: 30 days notice.",
                            },
                        },
                        {"type": "text", "text": "Summarise the notice period."},
                    ],
                },
                {"role": "assistant", "content": "The notice period is 30 days."},
                {"role": "user", "content": "Now list the risks."},
                {"role": "system", "content": "Answer inside <review> tags, at most five bullets."},
            ],
        },
    ),
    "anthropic_images_and_tool_result_image": (
        A,
        {
            "model": "claude-haiku-4-5",
            "max_tokens": 1024,
            "tools": [
                {
                    "name": "screenshot",
                    "description": "Screenshot the page.",
                    "input_schema": {"type": "object", "properties": {}},
                },
            ],
            "tool_choice": {"type": "any", "disable_parallel_tool_use": True},
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {
                            "type": "image",
                            "source": {"type": "base64", "media_type": "image/png", "data": PNG},
                        },
                        {"type": "image", "source": {"type": "url", "url": "https://example.com/chart.jpg"}},
                        {"type": "text", "text": "Compare the two charts, then check the live page."},
                    ],
                },
                {
                    "role": "assistant",
                    "content": [
                        {"type": "tool_use", "id": "toolu_shot_1", "name": "screenshot", "input": {}}
                    ],
                },
                {
                    "role": "user",
                    "content": [
                        {
                            "type": "tool_result",
                            "tool_use_id": "toolu_shot_1",
                            "content": [
                                {"type": "text", "text": "Page at 12:00"},
                                {
                                    "type": "image",
                                    "source": {"type": "base64", "media_type": "image/jpeg", "data": JPEG},
                                },
                            ],
                        }
                    ],
                },
            ],
        },
    ),
    "anthropic_adaptive_thinking_json_schema": (
        A,
        {
            "model": "claude-opus-4-8",
            "max_tokens": 16000,
            "system": "Extract the people and places.",
            "thinking": {"type": "adaptive", "display": "summarized"},
            "output_config": {
                "effort": "high",
                "format": {
                    "type": "json_schema",
                    "schema": {
                        "type": "object",
                        "properties": {
                            "people": {"type": "array", "items": {"type": "string"}},
                            "places": {"type": "array", "items": {"type": "string"}},
                        },
                        "required": ["people", "places"],
                        "additionalProperties": False,
                    },
                },
            },
            "service_tier": "auto",
            "messages": [{"role": "user", "content": "Alice met Bob in Paris, then flew to Oslo."}],
        },
    ),
    "responses_codex": (
        R,
        {
            "model": "gpt-5-4",
            "instructions": "You are Codex, a coding agent based on GPT-5.",
            "input": [
                {
                    "type": "message",
                    "role": "developer",
                    "content": [
                        {
                            "type": "input_text",
                            "text": "<permissions>sandbox_mode: workspace-write</permissions>",
                        }
                    ],
                },
                {
                    "type": "message",
                    "role": "user",
                    "content": [
                        {
                            "type": "input_text",
                            "text": "<environment_context>cwd: /repo</environment_context>",
                        }
                    ],
                },
                {
                    "type": "message",
                    "role": "user",
                    "content": [{"type": "input_text", "text": "Run the tests."}],
                },
                {
                    "type": "reasoning",
                    "id": "rs_68a1f0",
                    "summary": [{"type": "summary_text", "text": "**Running the test suite**"}],
                    "encrypted_content": ENCRYPTED_REASONING,
                },
                {
                    "type": "function_call",
                    "id": "fc_68a1f1",
                    "call_id": "call_Kz1YpQ",
                    "name": "shell",
                    "arguments": '{"command":["bash","-lc","pytest -q"],"workdir":"/repo"}',
                },
                {
                    "type": "function_call_output",
                    "call_id": "call_Kz1YpQ",
                    "output": '{"output":"1 failed, 41 passed","metadata":{"exit_code":1}}',
                },
            ],
            "tools": [
                {
                    "type": "function",
                    "name": "shell",
                    "description": "Runs a shell command and returns its output.",
                    "strict": False,
                    "parameters": {
                        "type": "object",
                        "properties": {
                            "command": {"type": "array", "items": {"type": "string"}},
                            "workdir": {"type": "string"},
                        },
                        "required": ["command"],
                        "additionalProperties": False,
                    },
                },
                {"type": "web_search"},
            ],
            "tool_choice": "auto",
            "parallel_tool_calls": False,
            "reasoning": {"effort": "medium", "summary": "auto"},
            "store": False,
            "stream": True,
            "include": ["reasoning.encrypted_content"],
            "prompt_cache_key": "019a-codex-session",
        },
    ),
    "responses_json_schema_media": (
        R,
        {
            "model": "gpt-5-4",
            "input": [
                {
                    "role": "user",
                    "content": [
                        {"type": "input_text", "text": "Extract the invoice total from both."},
                        {
                            "type": "input_image",
                            "image_url": f"data:image/png;base64,{PNG}",
                            "detail": "high",
                        },
                        {
                            "type": "input_file",
                            "filename": "invoice.pdf",
                            "file_data": f"data:application/pdf;base64,{PDF}",
                        },
                    ],
                }
            ],
            "text": {
                "format": {
                    "type": "json_schema",
                    "name": "invoice",
                    "strict": True,
                    "schema": {
                        "type": "object",
                        "properties": {"total": {"type": "number"}, "currency": {"type": "string"}},
                        "required": ["total", "currency"],
                        "additionalProperties": False,
                    },
                }
            },
            "max_output_tokens": 500,
            "temperature": 0,
            "user": "customer-42",
        },
    ),
    "chat_parallel_tool_results": (
        C,
        {
            "model": "gpt-5-4",
            "messages": [
                {"role": "system", "content": "You are a travel assistant."},
                {"role": "user", "content": "Weather in Paris and Tokyo?"},
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "call_paris01",
                            "type": "function",
                            "function": {"name": "get_weather", "arguments": '{"city":"Paris","unit":"c"}'},
                        },
                        {
                            "id": "call_tokyo02",
                            "type": "function",
                            "function": {"name": "get_weather", "arguments": '{"city":"Tokyo","unit":"c"}'},
                        },
                    ],
                },
                {"role": "tool", "tool_call_id": "call_paris01", "content": '{"temp": 18, "sky": "rain"}'},
                {
                    "role": "tool",
                    "tool_call_id": "call_tokyo02",
                    "content": "Error: the Tokyo station is offline",
                },
                {"role": "user", "content": "And should I pack an umbrella?"},
            ],
            "tools": [
                {
                    "type": "function",
                    "function": {
                        "name": "get_weather",
                        "description": "Current weather for a city.",
                        "parameters": WEATHER_SCHEMA,
                        "strict": True,
                    },
                }
            ],
            "tool_choice": "auto",
            "parallel_tool_calls": True,
            "max_completion_tokens": 800,
            "reasoning_effort": "low",
            "stop": ["\n\nUser:"],
            "stream": True,
            "stream_options": {"include_usage": True},
        },
    ),
    "chat_images_developer_json_schema": (
        C,
        {
            "model": "gpt-5-4-mini",
            "messages": [
                {"role": "developer", "content": "Answer in JSON only."},
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "What is in these pictures?"},
                        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}},
                        {
                            "type": "image_url",
                            "image_url": {"url": "https://example.com/cat.jpg", "detail": "low"},
                        },
                    ],
                },
                {"role": "assistant", "content": '{"objects": ["dot"]}'},
                {"role": "developer", "content": "From now on, also give a confidence."},
                {"role": "user", "content": "And now?"},
            ],
            "response_format": {
                "type": "json_schema",
                "json_schema": {
                    "name": "objects",
                    "strict": True,
                    "schema": {
                        "type": "object",
                        "properties": {
                            "objects": {"type": "array", "items": {"type": "string"}},
                            "confidence": {"type": "number"},
                        },
                        "required": ["objects", "confidence"],
                        "additionalProperties": False,
                    },
                },
            },
            "max_tokens": 300,
            "temperature": 0.2,
            "seed": 7,
            "user": "end-user-9",
        },
    ),
    "chat_deepseek_reasoning_history": (
        C,
        {
            "model": "deepseek-v4-pro",
            "thinking": {"type": "enabled"},
            "messages": [
                {"role": "user", "content": "How many files are in /tmp?"},
                {
                    "role": "assistant",
                    "content": "",
                    "reasoning_content": "I need to list the directory.",
                    "tool_calls": [
                        {
                            "id": "call_00_ls",
                            "type": "function",
                            "function": {"name": "run", "arguments": '{"cmd": "ls /tmp | wc -l"}'},
                        }
                    ],
                },
                {"role": "tool", "tool_call_id": "call_00_ls", "content": "12"},
            ],
            "tools": [
                {
                    "type": "function",
                    "function": {
                        "name": "run",
                        "description": "Run a shell command.",
                        "parameters": {
                            "type": "object",
                            "properties": {"cmd": {"type": "string"}},
                            "required": ["cmd"],
                        },
                    },
                }
            ],
            "max_tokens": 4096,
        },
    ),
    "gemini_function_response_and_signature": (
        G,
        {
            "systemInstruction": {"parts": [{"text": "You are a helpful assistant."}]},
            "contents": [
                {"role": "user", "parts": [{"text": "What's the weather in Zurich?"}]},
                {
                    "role": "model",
                    "parts": [
                        {"text": "Checking the forecast service.", "thought": True},
                        {
                            "functionCall": {
                                "id": "fc-zrh-1",
                                "name": "get_weather",
                                "args": {"city": "Zurich", "unit": "c"},
                            },
                            "thoughtSignature": GEMINI_SIGNATURE,
                        },
                    ],
                },
                {
                    "role": "user",
                    "parts": [
                        {
                            "functionResponse": {
                                "id": "fc-zrh-1",
                                "name": "get_weather",
                                "response": {"temp": 4, "sky": "snow"},
                            }
                        }
                    ],
                },
            ],
            "tools": [
                {
                    "functionDeclarations": [
                        {
                            "name": "get_weather",
                            "description": "Current weather for a city.",
                            "parameters": {
                                "type": "OBJECT",
                                "properties": {
                                    "city": {"type": "STRING"},
                                    "unit": {"type": "STRING", "enum": ["c", "f"]},
                                },
                                "required": ["city"],
                            },
                        }
                    ]
                }
            ],
            "toolConfig": {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["get_weather"]}},
            "generationConfig": {
                "temperature": 0.7,
                "maxOutputTokens": 2048,
                "stopSequences": ["END"],
                "thinkingConfig": {"thinkingBudget": 1024, "includeThoughts": True},
            },
        },
    ),
    "gemini_parallel_calls_without_ids": (
        G,
        {
            "contents": [
                {"role": "user", "parts": [{"text": "Time in Tokyo and weather in Paris, as JSON."}]},
                {
                    "role": "model",
                    "parts": [
                        {"functionCall": {"name": "get_time", "args": {"city": "Tokyo"}}},
                        {"functionCall": {"name": "get_weather", "args": {"city": "Paris", "unit": "c"}}},
                    ],
                },
                {
                    "role": "user",
                    "parts": [
                        {"functionResponse": {"name": "get_weather", "response": {"temp": 18}}},
                        {
                            "functionResponse": {
                                "name": "get_time",
                                "response": {"error": "clock service down"},
                            }
                        },
                    ],
                },
            ],
            "tools": [
                {
                    "functionDeclarations": [
                        {
                            "name": "get_time",
                            "parametersJsonSchema": {
                                "type": "object",
                                "properties": {"city": {"type": "string"}},
                            },
                        },
                        {"name": "get_weather", "parametersJsonSchema": WEATHER_SCHEMA},
                    ]
                }
            ],
            "generationConfig": {
                "responseMimeType": "application/json",
                "responseJsonSchema": {"type": "object", "properties": {"summary": {"type": "string"}}},
            },
        },
    ),
    "gemini_images_and_thinking_level": (
        G,
        {
            "contents": [
                {
                    "role": "user",
                    "parts": [
                        {"inlineData": {"mimeType": "image/jpeg", "data": JPEG}},
                        {"fileData": {"mimeType": "image/png", "fileUri": "https://example.com/diagram.png"}},
                        {"text": "Which of the two diagrams is newer?"},
                    ],
                }
            ],
            "safetySettings": [{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_ONLY_HIGH"}],
            "generationConfig": {"thinkingConfig": {"thinkingLevel": "low"}, "candidateCount": 1, "seed": 3},
        },
    ),
}
"""~12 representative whole requests, each in its caller's protocol."""


def _outcome(caller: str, target: str, body: dict[str, Any]) -> dict[str, Any]:
    upstream, provider = TARGETS[target]
    result: dict[str, Any] = {
        "upstream": upstream,
        "provider": provider,
        "relay_route": upstream_protocol_for(caller, provider, DEFAULT_PROTOCOL[provider]) == upstream,
    }
    stream = bool(body.get("stream"))
    try:
        out, deg = translate(caller, target, body, stream=stream)
    except GatewayError as err:
        result["error"] = {"status": err.status, "param": err.param, "message": err.message}
        return result
    check_upstream_body(upstream, out, provider)
    result["body"] = out
    result["degraded"] = [list(d) for d in deg.dropped]
    try:
        strict_out, _ = translate(caller, target, body, strict=True, stream=stream)
    except GatewayError as err:
        result["strict_400"] = err.param
    else:
        assert strict_out == out
        result["strict_400"] = None
    return result


def snapshot_of(name: str) -> dict[str, Any]:
    caller, body = SNAPSHOT_REQUESTS[name]
    translations = {
        target: _outcome(caller, target, body)
        for target, (upstream, provider) in TARGETS.items()
        if upstream != caller and not (caller == C and provider == "deepseek")
    }
    return {"caller": caller, "request": body, "translations": translations}


@pytest.mark.parametrize("name", sorted(SNAPSHOT_REQUESTS))
def test_whole_translated_requests_match_their_reviewed_snapshots(name: str) -> None:
    path = SNAPSHOTS / f"{name}.json"
    actual = _wire(snapshot_of(name))
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        SNAPSHOTS.mkdir(exist_ok=True)
        path.write_bytes(orjson.dumps(actual, option=orjson.OPT_INDENT_2) + b"\n")
    assert path.exists(), f"no snapshot yet: run with UPDATE_SNAPSHOTS=1 and review {path.name}"
    assert actual == orjson.loads(path.read_bytes())


# =============================================================================================
# Nothing is lost silently, and nothing is reported lost that was not (issue 3, item 7)


def _other_targets(caller: str) -> list[str]:
    return [t for t, (upstream, _) in TARGETS.items() if upstream != caller]


VARIANTS: dict[str, dict[str, dict[str, Any]]] = {
    "plain": {A: {}, C: {}, R: {}, G: {}},
    "explicit-defaults": {A: {"stream": False}, C: {"stream": False}, R: {"stream": False}, G: {}},
    "streamed": {
        A: {"stream": True},
        C: {"stream": True, "stream_options": {"include_usage": True}},
        R: {"stream": True},
        G: {},
    },
}
"""The plain request; with fields spelled out at their default (curl, hand-written clients); and
streamed the way the official SDKs stream (the OpenAI SDK asking for the usage chunk)."""


@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize(
    ("caller", "target"), [(c, t) for c in PROTOCOLS for t in _other_targets(c)], ids=lambda v: str(v)
)
def test_a_plain_text_request_is_translated_without_any_reported_drop(
    caller: str, target: str, variant: str
) -> None:
    """A single user text loses nothing on any route: ``X-ByteSpike-Degraded`` stays empty and
    ``X-ByteSpike-Strict: true`` lets it through.

    Currently FAILS for Anthropic and OpenAI Chat callers that send ``"stream": false``, and for
    OpenAI Chat callers streaming with ``stream_options.include_usage`` (what the OpenAI SDK
    sends when asked for usage). Both decoders keep such fields among their unmapped top-level
    fields (Anthropic ``body``, Chat ``fields``) so that the same protocol gets them back byte
    for byte, and `protocols.extras.foreign_fields` reports every field of those containers:
    the answer says ``X-ByteSpike-Degraded: stream`` / ``stream_options`` although nothing was
    lost (the relay itself honours ``include_usage``), and strict mode refuses the request with
    a 400 naming that field."""
    body = {**MINIMAL[caller], **VARIANTS[variant][caller]}
    stream = variant == "streamed"
    out, deg = translate(caller, target, body, stream=stream)
    assert deg.header_value() is None, deg.dropped
    assert translate(caller, target, body, strict=True, stream=stream)[0] == out


SQL_GRAMMAR = {"type": "grammar", "grammar": {"syntax": "lark", "definition": 'start: "SELECT" /.+/'}}
ONLY_IN_ONE_PROTOCOL: list[tuple[str, dict[str, Any], str]] = [
    (C, {"logit_bias": {"50256": -100}}, "logit_bias"),
    (A, {"context_management": {"edits": [{"type": "clear_tool_uses_20250919"}]}}, "context_management"),
    (A, {"tools": [{"type": "web_search_20250305", "name": "web_search", "max_uses": 3}]}, "tools"),
    (G, {"tools": [{"googleSearch": {}}, {"codeExecution": {}}]}, "tools"),
    (R, {"max_tool_calls": 5}, "max_tool_calls"),
    (C, {"tools": [{"type": "custom", "custom": {"name": "sql", "format": SQL_GRAMMAR}}]}, "tools"),
]
"""(caller, fields only that protocol has, the name the drop must be reported under): a tuning
field, a server-side feature, vendor-hosted tools and a grammar-constrained custom tool
(protocols.md §5.14: hosted tools and grammars are a 400, or a reported drop)."""


@pytest.mark.parametrize(
    ("caller", "extra", "name", "target"),
    [(c, e, n, t) for c, e, n in ONLY_IN_ONE_PROTOCOL for t in _other_targets(c)],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_a_field_only_the_callers_protocol_has_is_reported_under_its_own_name_on_every_route(
    caller: str, extra: dict[str, Any], name: str, target: str
) -> None:
    """Either a 400 naming the field, or the field in ``X-ByteSpike-Degraded`` (so strict mode
    refuses it by that name).

    Currently FAILS in two ways. OpenAI Chat and Responses encoders never look at another
    protocol's extras, so Anthropic server tools and ``context_management``, Gemini
    ``googleSearch``/``codeExecution`` tools and Chat's ``logit_bias`` vanish without a trace on
    routes to OpenAI or DeepSeek. Anthropic and Gemini encoders do report them, but under the
    caller codec's bookkeeping key (``fields``, ``body``, ``server_tools``) instead of the
    caller's field."""
    body = {**MINIMAL[caller], **extra}
    try:
        _, deg = translate(caller, target, body)
    except GatewayError as err:
        assert err.status == 400 and err.param is not None and err.param.startswith(name), err
        return
    reported = [field for field, _ in deg.dropped]
    assert any(field.startswith(name) for field in reported), (
        f"{name} not reported; X-ByteSpike-Degraded: {reported}"
    )
    with pytest.raises(GatewayError) as refused:
        translate(caller, target, body, strict=True)
    assert refused.value.status == 400


@pytest.mark.parametrize("target", _other_targets(R))
def test_previous_response_id_is_never_ignored_on_a_translated_route(target: str) -> None:
    """``previous_response_id`` asks for the stored conversation before ``input``. The relay
    resolves it and removes it before translating (relay/chaining.py, tests/relay/test_chaining.py);
    translation itself never drops an unresolved one silently: it refuses it."""
    body = {"model": "m", "previous_response_id": "resp_0123abc", "input": "And the second one?"}
    try:
        out, deg = translate(R, target, body)
    except GatewayError as err:
        assert err.status == 400 and err.param == "previous_response_id"
        return
    assert (
        "previous_response_id" in [f for f, _ in deg.dropped] or "resp_0123abc" in orjson.dumps(out).decode()
    )


@pytest.mark.parametrize("target", _other_targets(C))
def test_an_image_url_that_is_a_malformed_data_url_is_refused_or_forwarded_as_a_valid_body(
    target: str,
) -> None:
    """Found by the property test above. The Chat decoder takes ``data:bad`` for a web URL;
    the Responses encoder writes it as ``input_image.image_url`` and the Responses decoder (like
    the API) rejects that very body ("a data URL must look like data:<type>;base64,<data>").

    Currently FAILS for openai_chat → responses (a route the relay does not use today: OpenAI
    models are served to non-Responses callers over OpenAI Chat)."""
    body = {
        "model": "m",
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Hi"},
                    {"type": "image_url", "image_url": {"url": "data:bad"}},
                ],
            }
        ],
    }
    try:
        out, _ = translate(C, target, body)
    except GatewayError as err:
        assert err.status == 400
        return
    upstream, provider = TARGETS[target]
    check_upstream_body(upstream, out, provider)
