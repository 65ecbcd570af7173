"""One regression test per translation bug of other gateways (spec/protocols.md §7) that the OpenAI
Chat codec could have: each test names the bug it guards against."""

from __future__ import annotations

from typing import Any

import orjson

from bytespike.canonical.degradation import Degradations
from bytespike.canonical.events import (
    PartDelta,
    PartEnd,
    PartStart,
    ResponseEnd,
    ResponseStart,
    StreamEvent,
    TextDelta,
    ThinkingDelta,
    ToolArgumentsDelta,
)
from bytespike.canonical.parts import (
    CacheControl,
    ProviderData,
    TextPart,
    ThinkingPart,
    ToolCallPart,
    ToolResultPart,
)
from bytespike.canonical.request import Message, Request, ToolChoice, ToolDefinition
from bytespike.canonical.usage import Usage
from bytespike.protocols.openai_chat.identifiers import TOOL_CALL_ID, TOOL_NAME, tool_name_map
from bytespike.protocols.openai_chat.requests import decode_request, encode_request
from bytespike.protocols.openai_chat.responses import decode_response, encode_response
from bytespike.protocols.openai_chat.usage import decode_usage, encode_usage
from tests.protocols.openai_chat import golden, sdk_oracle
from tests.protocols.openai_chat.test_streaming import assemble, decode_sse, encode_all, frames

CHUNK = {"id": "chatcmpl-r", "object": "chat.completion.chunk", "created": 1, "model": "m"}


def _sse(*deltas: dict[str, Any], finish: str = "stop", usage: dict[str, Any] | None = None) -> bytes:
    chunks: list[Any] = [
        {**CHUNK, "choices": [{"index": 0, "delta": d, "finish_reason": None}]} for d in deltas
    ]
    chunks.append({**CHUNK, "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]})
    if usage is not None:
        chunks.append({**CHUNK, "choices": [], "usage": usage})
    return golden.sse_of([*chunks, "[DONE]"])


def _call(
    index: int, *, call_id: str | None = None, name: str | None = None, args: str = ""
) -> dict[str, Any]:
    call: dict[str, Any] = {"index": index, "function": {"arguments": args}}
    if call_id:
        call |= {"id": call_id, "type": "function"}
        call["function"]["name"] = name
    return call


# ------------------------------------------------------------------- tool-call streaming


def test_tool_index_counts_tool_calls_only_after_thinking_and_text() -> None:
    """BerriAI/litellm #5231, new-api's ``content_block_index - 1``: the first call is index 0
    even when thinking and text came first (the SDK raises IndexError otherwise)."""
    events: list[StreamEvent] = [
        ResponseStart("msg_1", "claude"),
        PartStart(0, ThinkingPart()),
        PartDelta(0, ThinkingDelta("hmm")),
        PartEnd(0),
        PartStart(1, TextPart("")),
        PartDelta(1, TextDelta("ok")),
        PartEnd(1),
        PartStart(2, ToolCallPart("toolu_1", "f")),
        PartDelta(2, ToolArgumentsDelta("{}")),
        PartEnd(2),
        ResponseEnd("tool_use", Usage()),
    ]
    sse = encode_all(events)
    indices = [tc["index"] for f in frames(sse)[:-1] for tc in f["choices"][0]["delta"].get("tool_calls", [])]
    assert indices == [0, 0]
    _, completion = sdk_oracle.stream(sse)
    assert completion.choices[0].message.tool_calls[0].id == "toolu_1"  # type: ignore[index]


def test_complete_parallel_calls_get_their_own_indices() -> None:
    """BerriAI/litellm PR #16194 (Gemini parallel calls all at index 0) and #27144 (arguments
    known only when the call is complete): each complete call is index 0, 1, … with its JSON."""
    events: list[StreamEvent] = [ResponseStart("g", "gemini")]
    for i in range(3):
        events += [PartStart(i, ToolCallPart(f"call_{i}", "f", {"n": i})), PartEnd(i)]
    events.append(ResponseEnd("tool_use", Usage()))
    _, completion = sdk_oracle.stream(encode_all(events))
    calls = completion.choices[0].message.tool_calls or []
    assert [(c.index, orjson.loads(c.function.arguments)) for c in calls] == [
        (0, {"n": 0}),
        (1, {"n": 1}),
        (2, {"n": 2}),
    ]  # type: ignore[attr-defined]


def test_interleaved_parallel_fragments_reach_the_right_call() -> None:
    """praxis-proxy/ai #266, kitty-bridge PR #116: interleaved argument fragments must go to the
    call of their own index, both when decoding and when encoding."""
    sse = _sse(
        {"tool_calls": [_call(0, call_id="a", name="f"), _call(1, call_id="b", name="g")]},
        {"tool_calls": [_call(1, args='{"y":'), _call(0, args='{"x":')]},
        {"tool_calls": [_call(0, args="1}"), _call(1, args="2}")]},
        finish="tool_calls",
    )
    resp = assemble(decode_sse(sse))
    assert resp.parts == (ToolCallPart("a", "f", {"x": 1}), ToolCallPart("b", "g", {"y": 2}))
    events: list[StreamEvent] = [
        ResponseStart("m", "m"),
        PartStart(0, ToolCallPart("a", "f")),
        PartStart(1, ToolCallPart("b", "g")),
        PartDelta(1, ToolArgumentsDelta('{"y":')),
        PartDelta(0, ToolArgumentsDelta('{"x":')),
        PartDelta(0, ToolArgumentsDelta("1}")),
        PartDelta(1, ToolArgumentsDelta("2}")),
        PartEnd(0),
        PartEnd(1),
        ResponseEnd("tool_use", Usage()),
    ]
    _, completion = sdk_oracle.stream(encode_all(events))
    assert [c.function.arguments for c in completion.choices[0].message.tool_calls or []] == [
        '{"x":1}',
        '{"y":2}',
    ]


def test_arguments_before_the_call_header_are_buffered_not_lost() -> None:
    """BerriAI/litellm #13373 (deltas for an unopened block) and PR #19928 (accumulate
    arguments): fragments that precede the id/name are kept for the call."""
    sse = _sse(
        {"tool_calls": [_call(0, args='{"a"')]},
        {"tool_calls": [_call(0, call_id="c1", name="f", args=":1}")]},
        finish="tool_calls",
    )
    assert assemble(decode_sse(sse)).parts == (ToolCallPart("c1", "f", {"a": 1}),)
    headless = _sse({"tool_calls": [_call(0, args='{"b":2}')]}, finish="tool_calls")
    assert assemble(decode_sse(headless)).parts == (ToolCallPart("call_chatcmpl-r_0", "", {"b": 2}),)


def test_arguments_never_become_text_and_empty_tool_lists_never_become_calls() -> None:
    """BerriAI/litellm PR #13638 (argument fragments emitted as text) and #29286 (``content`` with
    ``tool_calls: []`` turned into an empty tool input)."""
    sse = _sse(
        {"content": "Hello", "tool_calls": []},
        {"tool_calls": [_call(0, call_id="c", name="f", args='{"q":"x"}')]},
        finish="tool_calls",
    )
    resp = assemble(decode_sse(sse))
    assert resp.parts == (TextPart("Hello"), ToolCallPart("c", "f", {"q": "x"}))


def test_tool_input_survives_an_openai_compatible_upstream() -> None:
    """BerriAI/litellm #25321, #29491, #25561/#25836/#25390: the tool input must not be dropped or
    become ``{}`` on the way through."""
    resp = assemble(decode_sse(golden.sse_of(golden.load("stream_tool_calls_parallel")["chunks"])))
    assert [p.arguments for p in resp.parts] == [{"city": "Paris"}, {"city": "Tokyo"}]  # type: ignore[union-attr]


def test_reasoning_then_tool_calls_keeps_arguments_intact() -> None:
    """musistudio/claude-code-router #1397: a reasoning → tool_calls transition corrupted
    argument deltas."""
    sse = _sse(
        {"reasoning_content": "I should call f."},
        {"reasoning_content": " Now.", "tool_calls": [_call(0, call_id="c", name="f", args='{"k":')]},
        {"tool_calls": [_call(0, args='"v"}')]},
        finish="tool_calls",
    )
    resp = assemble(decode_sse(sse))
    assert isinstance(resp.parts[0], ThinkingPart) and resp.parts[0].text == "I should call f. Now."
    assert resp.parts[1] == ToolCallPart("c", "f", {"k": "v"})


def test_streamed_reasoning_is_kept() -> None:
    """QuantumNous/new-api PR #642: thinking content lost in the stream."""
    resp = assemble(decode_sse(golden.sse_of(golden.load("stream_deepseek_reasoning")["chunks"])))
    assert resp.parts[0] == ThinkingPart(
        "The user wants the date.", provider_data=ProviderData("openai_chat", {"field": "reasoning_content"})
    )


# --------------------------------------------------------------------------------- usage


def test_usage_keeps_openai_semantics() -> None:
    """vllm-project/vllm PR #40912 and the double-counting class: ``prompt_tokens`` already
    includes cached tokens, so it is neither reduced nor increased either way."""
    usage = decode_usage(
        {"prompt_tokens": 100, "completion_tokens": 10, "prompt_tokens_details": {"cached_tokens": 80}}
    )
    assert (usage.input_tokens, usage.cache_read_tokens, usage.uncached_input_tokens) == (100, 80, 20)
    assert encode_usage(usage)["prompt_tokens"] == 100


def test_cache_usage_is_read_from_the_stream() -> None:
    """BerriAI/litellm #5364: cache usage missing when streaming."""
    events = decode_sse(golden.sse_of(golden.load("stream_text")["chunks"]))
    assert isinstance(events[-1], ResponseEnd) and events[-1].usage.cache_read_tokens == 1024


def test_usage_chunk_only_when_asked_and_never_merged_into_the_finish_chunk() -> None:
    """Arthur-Ficial/apfel #100, headroomlabs-ai/headroom PR #2026 (usage chunk sent without
    include_usage) and router-for-me/CLIProxyAPI #796 (usage merged into the finish chunk)."""
    events: list[StreamEvent] = [
        ResponseStart("r", "m"),
        PartStart(0, TextPart("hi")),
        PartEnd(0),
        ResponseEnd("stop", Usage(3, 1)),
    ]
    without = frames(encode_all(events, include_usage=False))
    assert all(f == "[DONE]" or ("usage" not in f and f["choices"]) for f in without)
    with_usage = frames(encode_all(events, include_usage=True))
    finish, usage_chunk = with_usage[-3], with_usage[-2]
    assert finish["choices"][0]["finish_reason"] == "stop" and finish["usage"] is None
    assert usage_chunk["choices"] == [] and usage_chunk["usage"]["total_tokens"] == 4


def test_usage_on_a_chunk_with_choices_is_read() -> None:
    """diegosouzapw/OmniRoute #9750: usage on a ``choices: [{delta: {}}]`` chunk was dropped."""
    resp = assemble(decode_sse(golden.sse_of(golden.load("stream_combined_finish")["chunks"])))
    assert resp.usage == Usage(input_tokens=7, output_tokens=3)


# ------------------------------------------------------------------- thinking / signatures


def test_foreign_signatures_are_never_replayed() -> None:
    """QuantumNous/new-api #2660, ding113/claude-code-hub #518, NousResearch/hermes-agent
    #24401, openclaw/openclaw #91205: a signature from one vendor sent to another is rejected."""
    req = Request(
        "m",
        (
            Message("user", (TextPart("q"),)),
            Message(
                "assistant",
                (
                    ThinkingPart("t", signature="EqQBsig", signature_protocol="anthropic_messages"),
                    ToolCallPart("c", "f"),
                ),
            ),
            Message("user", (ToolResultPart("c", (TextPart("r"),)),)),
        ),
    )
    for flavor in ("openai", "deepseek"):
        deg = Degradations()
        body = encode_request(req, model="m", deg=deg, flavor=flavor)  # type: ignore[arg-type]
        assert b"EqQBsig" not in orjson.dumps(body)
        assert "thinking.signature" in deg.header_value()  # type: ignore[operator]


def test_each_parallel_call_keeps_its_own_vendor_extras() -> None:
    """prism-php/prism #830: only the first parallel call kept its signature (Gemini's
    OpenAI-compatible ``extra_content.google.thought_signature``)."""
    body = golden.load("response_forced_tool_stop")["body"]
    again = encode_response(decode_response(body), model=body["model"], request_id="r")
    sigs = [
        c["extra_content"]["google"]["thought_signature"]
        for c in again["choices"][0]["message"]["tool_calls"]
    ]
    assert sigs == ["c2lnLWE=", "c2lnLWI="]


# --------------------------------------------------------------- requests / roles / names


def test_inline_system_messages_keep_their_place() -> None:
    """fuergaosi233/claude-code-proxy #83, nyroway/nyro PR #217, chenyme/grok2api PR #598,
    UKGovernmentBEIS/inspect_ai PR #4095, EasyMetaAu/helm-api PR #166: Claude Code ≥2.1.154's
    mid-conversation ``role: "system"`` must be accepted and kept (OpenAI takes it in place)."""
    req = Request(
        "m",
        (
            Message("user", (TextPart("a"),)),
            Message("system", (TextPart("be brief"),)),
            Message("user", (TextPart("b"),)),
        ),
    )
    body = encode_request(req, model="m", deg=Degradations())
    assert [m["role"] for m in body["messages"]] == ["user", "system", "user"]


def test_empty_contents_never_become_empty_text_parts() -> None:
    """anthropics/claude-code #53473, cline/cline PR #7247: empty text blocks are rejected by
    Anthropic, so an OpenAI ``content: ""`` must not turn into one."""
    req = decode_request(
        {
            "model": "m",
            "messages": [
                {"role": "user", "content": ""},
                {
                    "role": "assistant",
                    "content": "",
                    "tool_calls": [
                        {"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}
                    ],
                },
                {"role": "tool", "tool_call_id": "c", "content": ""},
            ],
        }
    )
    parts = [p for m in req.messages for p in m.parts]
    assert not any(isinstance(p, TextPart) and p.text == "" for p in parts)
    assert parts[1] == ToolResultPart("c", (), name="f")


def test_tool_messages_follow_their_assistant_message_directly() -> None:
    """openai/codex #7051: "an assistant message with 'tool_calls' must be followed by tool
    messages" — results come first even when the canonical user turn mixes them with text."""
    req = Request(
        "m",
        (
            Message("assistant", (ToolCallPart("c1", "f"), ToolCallPart("c2", "f"))),
            Message(
                "user",
                (
                    TextPart("and also…"),
                    ToolResultPart("c1", (TextPart("1"),)),
                    ToolResultPart("c2", (TextPart("2"),)),
                ),
            ),
        ),
    )
    body = encode_request(req, model="m", deg=Degradations())
    assert [(m["role"], m.get("tool_call_id")) for m in body["messages"]] == [
        ("assistant", None),
        ("tool", "c1"),
        ("tool", "c2"),
        ("user", None),
    ]


def test_tool_names_are_sanitized_consistently_and_restored() -> None:
    """home-assistant/core #147760, anthropics/claude-code #96152 (name regex and length limits):
    a rewritten name is the same in tools, tool_calls and tool_choice, and maps back."""
    long_name = "mcp__github__" + "x" * 80
    names = ["mcp.fs/read", long_name]
    req = Request(
        "m",
        (Message("assistant", tuple(ToolCallPart(f"c{i}", n) for i, n in enumerate(names))),),
        tools=tuple(ToolDefinition(n) for n in names),
        tool_choice=ToolChoice("tool", long_name),
    )
    body = encode_request(req, model="m", deg=Degradations())
    declared = [t["function"]["name"] for t in body["tools"]]
    called = [c["function"]["name"] for c in body["messages"][0]["tool_calls"]]
    assert declared == called and all(TOOL_NAME.fullmatch(n) for n in declared)
    assert body["tool_choice"]["function"]["name"] == declared[1]
    mapping = tool_name_map(names)
    answer = {
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "tool_calls": [
                        {"id": "x", "type": "function", "function": {"name": declared[1], "arguments": "{}"}}
                    ],
                },
                "finish_reason": "tool_calls",
            }
        ]
    }
    assert decode_response(answer, tool_names=mapping).parts[0].name == long_name  # type: ignore[union-attr]


def test_foreign_tool_ids_are_rewritten_the_same_for_calls_and_results() -> None:
    """maximhq/bifrost #5097: ids from another vendor (here a Gemini id carrying a smuggled
    signature) rejected by the target's id rules."""
    foreign = "call_9f__thought__Q2lTLUVxb0tCcVlnUkxHWTFtK0YvZ0V3Mmt1cGRqd0l4Wm5PZ2NNdlVtZUZhYUpFSg=="
    req = Request(
        "m",
        (
            Message("assistant", (ToolCallPart(foreign, "f"),)),
            Message("user", (ToolResultPart(foreign, (TextPart("ok"),)),)),
        ),
    )
    body = encode_request(req, model="m", deg=Degradations())
    call_id = body["messages"][0]["tool_calls"][0]["id"]
    assert TOOL_CALL_ID.fullmatch(call_id) and body["messages"][1]["tool_call_id"] == call_id


def test_tool_type_never_leaks_into_parameters() -> None:
    """BerriAI/litellm #30557: a tool's own ``type`` overwrote ``parameters.type``."""
    schema = {"type": "object", "properties": {"type": {"type": "string"}}}
    req = Request(
        "m",
        (Message("user", (TextPart("x"),)),),
        tools=(ToolDefinition("t", "d", schema, cache_control=CacheControl()),),
    )
    body = encode_request(req, model="m", deg=Degradations())
    assert body["tools"] == [
        {"type": "function", "function": {"name": "t", "description": "d", "parameters": schema}}
    ]
