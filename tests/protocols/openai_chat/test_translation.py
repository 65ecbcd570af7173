"""encode_request for requests decoded from other protocols: whole translated bodies as snapshots,
what each host flavor drops (and reports) and what becomes a 400."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from bytespike.canonical.degradation import Degradations, StrictModeViolation
from bytespike.canonical.parts import (
    CacheControl,
    MediaPart,
    OpaquePart,
    ProviderData,
    TextPart,
    ThinkingPart,
    ToolCallPart,
    ToolResultPart,
)
from bytespike.canonical.request import (
    Message,
    Reasoning,
    Request,
    ResponseFormat,
    ToolChoice,
    ToolDefinition,
)
from bytespike.errors import GatewayError
from bytespike.protocols.openai_chat.identifiers import encode_tool_call_id, encode_tool_name, tool_name_map
from bytespike.protocols.openai_chat.requests import (
    check_request,
    decode_request,
    effort_for_budget,
    encode_request,
)
from tests.protocols.openai_chat import golden


def _encode(
    req: Request, *, flavor: str = "openai", strict: bool = False
) -> tuple[dict[str, Any], list[str]]:
    deg = Degradations(strict=strict)
    body = encode_request(req, model="target-model", deg=deg, flavor=flavor)  # type: ignore[arg-type]
    return body, [f for f, _ in deg.dropped]


# ---------------------------------------------------------------- translations (snapshots)

LONG_ID = "toolu_01A09q90qw90lq917835lq9__thought__" + "c2lnbmF0dXJl" * 4


def _anthropic_like_request() -> Request:
    """What the Anthropic decoder hands over for a Claude Code turn (thinking, tools, caching)."""
    return Request(
        model="claude-opus-4-8",
        system=(TextPart("You are Claude Code.", cache_control=CacheControl()),),
        messages=(
            Message("user", (TextPart("Fix the bug in a.py"),)),
            Message(
                "assistant",
                (
                    ThinkingPart(
                        "Look at the file first.",
                        signature="EqQBCkgIAR",
                        signature_protocol="anthropic_messages",
                    ),
                    TextPart("Reading the file."),
                    ToolCallPart(LONG_ID, "mcp.fs/read", {"path": "a.py"}),
                    ToolCallPart("toolu_02", "screenshot", {}),
                ),
            ),
            Message(
                "user",
                (
                    ToolResultPart(LONG_ID, (TextPart("print(1/0)"),), name="mcp.fs/read"),
                    ToolResultPart(
                        "toolu_02",
                        (
                            TextPart("see image"),
                            MediaPart("image", media_type="image/png", data="iVBORw0KGgo="),
                        ),
                        is_error=True,
                    ),
                    TextPart("Also mind the tests.", cache_control=CacheControl(ttl="1h")),
                ),
            ),
            Message("system", (TextPart("The user prefers short answers."),)),
        ),
        tools=(
            ToolDefinition(
                "mcp.fs/read", "Read a file", {"type": "object", "properties": {"path": {"type": "string"}}}
            ),
            ToolDefinition(
                "screenshot", None, {"type": "object", "properties": {}}, cache_control=CacheControl()
            ),
        ),
        tool_choice=ToolChoice("tool", "mcp.fs/read", parallel=False),
        max_tokens=32000,
        temperature=1.0,
        top_k=40,
        stop=("A", "B", "C", "D", "E"),
        stream=True,
        reasoning=Reasoning(enabled=True, budget_tokens=31999),
        user_id="user_" + "a" * 64 + "_account_" + "b" * 36 + "_session_" + "c" * 36,
        cache_control=CacheControl(),
        # Anthropic re-encoding bookkeeping only: nothing the OpenAI encoder must report.
        extras={"anthropic_messages": {"output_format": True}},
    )


def test_anthropic_turn_to_openai_snapshot() -> None:
    body, dropped = _encode(_anthropic_like_request())
    read = encode_tool_name("mcp.fs/read")
    long_id = encode_tool_call_id(LONG_ID)
    assert read.startswith("mcp_fs_read_") and len(read) == len("mcp_fs_read_") + 8
    assert long_id.startswith("call_") and len(long_id) == 37
    assert body == {
        "model": "target-model",
        "messages": [
            {"role": "system", "content": "You are Claude Code."},
            {"role": "user", "content": "Fix the bug in a.py"},
            {
                "role": "assistant",
                "content": "Reading the file.",
                "tool_calls": [
                    {
                        "id": long_id,
                        "type": "function",
                        "function": {"name": read, "arguments": '{"path":"a.py"}'},
                    },
                    {
                        "id": "toolu_02",
                        "type": "function",
                        "function": {"name": "screenshot", "arguments": "{}"},
                    },
                ],
            },
            {"role": "tool", "tool_call_id": long_id, "content": "print(1/0)"},
            {"role": "tool", "tool_call_id": "toolu_02", "content": "Error: see image"},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Attachments returned by tool call toolu_02:"},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
                    {"type": "text", "text": "Also mind the tests."},
                ],
            },
            {"role": "system", "content": "The user prefers short answers."},
        ],
        "max_completion_tokens": 32000,
        "temperature": 1.0,
        "stop": ["A", "B", "C", "D"],
        "stream": True,
        "stream_options": {"include_usage": True},
        "tools": [
            {
                "type": "function",
                "function": {
                    "name": read,
                    "description": "Read a file",
                    "parameters": {"type": "object", "properties": {"path": {"type": "string"}}},
                },
            },
            {
                "type": "function",
                "function": {"name": "screenshot", "parameters": {"type": "object", "properties": {}}},
            },
        ],
        "tool_choice": {"type": "function", "function": {"name": read}},
        "parallel_tool_calls": False,
        "reasoning_effort": "high",
        "safety_identifier": body["safety_identifier"],
    }
    assert len(body["safety_identifier"]) == 64
    assert dropped == [
        "cache_control",
        "thinking.signature",
        "thinking",
        "top_k",
        "stop",
        "reasoning.budget_tokens",
    ]
    assert tool_name_map(t.name for t in _anthropic_like_request().tools) == {read: "mcp.fs/read"}
    check_request(body)
    decode_request(body)


def test_anthropic_turn_to_deepseek_snapshot() -> None:
    req = replace(
        _anthropic_like_request(),
        messages=tuple(
            replace(
                m,
                parts=tuple(
                    p for p in m.parts if not (isinstance(p, ToolResultPart) and p.tool_call_id == "toolu_02")
                ),
            )
            for m in _anthropic_like_request().messages
        ),
    )
    body, dropped = _encode(req, flavor="deepseek")
    assert body["messages"][2] == {
        "role": "assistant",
        "content": "Reading the file.",
        # The reasoning of a tool-calling turn goes back as reasoning_content; the Anthropic
        # signature does not (protocols.md §5.7).
        "reasoning_content": "Look at the file first.",
        "tool_calls": [
            {
                "id": encode_tool_call_id(LONG_ID),
                "type": "function",
                "function": {"name": encode_tool_name("mcp.fs/read"), "arguments": '{"path":"a.py"}'},
            },
            {"id": "toolu_02", "type": "function", "function": {"name": "screenshot", "arguments": "{}"}},
        ],
    }
    assert body["messages"][4] == {"role": "user", "content": "Also mind the tests."}
    assert "max_tokens" in body and "max_completion_tokens" not in body
    assert body["thinking"] == {"type": "enabled"} and body["reasoning_effort"] == "high"
    assert body["stop"] == ["A", "B", "C", "D", "E"]
    assert "parallel_tool_calls" not in body and "safety_identifier" not in body and "user" not in body
    assert dropped == [
        "cache_control",
        "thinking.signature",
        "top_k",
        "parallel_tool_calls",
        "reasoning.budget_tokens",
        "user_id",
    ]


def test_deepseek_sends_reasoning_only_for_tool_calling_turns() -> None:
    req = Request(
        model="x",
        messages=(
            Message("user", (TextPart("q1"),)),
            Message("assistant", (ThinkingPart("plain turn"), TextPart("a1"))),
            Message("user", (TextPart("q2"),)),
            Message("assistant", (ToolCallPart("c1", "f"),)),
            Message("user", (ToolResultPart("c1", (TextPart("r"),)),)),
            Message("assistant", (ThinkingPart("after the tool"), TextPart("a2"))),
            Message("user", (TextPart("q3"),)),
        ),
    )
    body, dropped = _encode(req, flavor="deepseek")
    assistants = [m for m in body["messages"] if m["role"] == "assistant"]
    assert "reasoning_content" not in assistants[0]
    assert assistants[1]["reasoning_content"] == ""  # required on tool-calling turns, even if empty
    assert assistants[2]["reasoning_content"] == "after the tool"
    assert dropped == []


def test_deepseek_flavor_drops_what_deepseek_rejects() -> None:
    body = {
        "model": "m",
        "messages": [
            {
                "role": "developer",
                "content": [{"type": "text", "text": "a", "prompt_cache_breakpoint": {"mode": "explicit"}}],
            },
            {
                "role": "user",
                "content": [{"type": "text", "text": "b"}, {"type": "text", "text": "c"}],
                "name": "n",
            },
            {
                "role": "assistant",
                "content": None,
                "refusal": "no",
                "audio": {"id": "audio_1"},
                "tool_calls": [
                    {
                        "id": "c1",
                        "type": "custom",
                        "custom": {"name": "k", "input": "raw"},
                        "extra_content": {"google": {}},
                    }
                ],
            },
            {
                "role": "tool",
                "tool_call_id": "c1",
                "content": [{"type": "text", "text": "x"}, {"type": "text", "text": "y"}],
            },
        ],
        "tools": [{"type": "custom", "custom": {"name": "k"}}],
        "n": 1,
        "seed": 5,
        "logprobs": True,
        "top_logprobs": 3,
        "presence_penalty": 0.5,
        "temperature": None,
        "reasoning_effort": "none",
        "user": "u",
    }
    out, dropped = _encode(decode_request(body), flavor="deepseek")
    assert out["messages"] == [
        {"role": "system", "content": "a"},
        {"role": "user", "content": "b\n\nc", "name": "n"},
        {
            "role": "assistant",
            "content": "no",
            "reasoning_content": "",
            "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "k", "arguments": '{"input":"raw"}'}}
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "x\n\ny"},
    ]
    assert out["tools"][0]["function"]["name"] == "k"
    assert out["thinking"] == {"type": "disabled"} and "reasoning_effort" not in out
    assert out["logprobs"] is True and out["top_logprobs"] == 3  # thinking explicitly off
    assert (
        out["presence_penalty"] == 0.5 and "n" not in out and "seed" not in out and "temperature" not in out
    )
    assert dropped == [
        "content.prompt_cache_breakpoint",
        "tool_calls.extra",
        "messages.audio",
        "user_id",
        "seed",
    ]


def test_deepseek_refuses_what_it_cannot_carry() -> None:
    with pytest.raises(GatewayError) as err:
        _encode(
            decode_request({"model": "m", "messages": [{"role": "user", "content": "x"}], "n": 3}),
            flavor="deepseek",
        )
    assert (err.value.status, err.value.param) == (400, "n")
    grammar = golden.load("request_tools")["body"]
    with pytest.raises(GatewayError) as err:
        _encode(decode_request(grammar), flavor="deepseek")
    assert err.value.param == "tools[1].custom.format"
    image = Request("m", (Message("user", (MediaPart("image", url="https://x/y.png"),)),))
    with pytest.raises(GatewayError) as err:
        _encode(image, flavor="deepseek")
    assert err.value.param == "messages[0].content[0]"
    text_doc = Request(
        "m", (Message("user", (MediaPart("document", media_type="text/plain", data="aGVsbG8="),)),)
    )
    assert _encode(text_doc, flavor="deepseek")[0]["messages"] == [{"role": "user", "content": "hello"}]


@pytest.mark.parametrize(
    ("part", "param"),
    [
        (MediaPart("video", media_type="video/mp4", data="AAAA"), "messages[0].content[0]"),
        (MediaPart("document", url="https://example.com/a.pdf"), "messages[0].content[0]"),
        (MediaPart("document", file_id="file_011CNha8iCJcU1wXNR6q4V8w"), "messages[0].content[0]"),
        (MediaPart("image", file_id="files/abc"), "messages[0].content[0]"),
        (MediaPart("audio", url="https://example.com/a.wav"), "messages[0].content[0]"),
        (ToolCallPart("c", "f"), "messages[0].content[0]"),
    ],
)
def test_content_openai_cannot_carry_is_a_400(part: Any, param: str) -> None:
    with pytest.raises(GatewayError) as err:
        _encode(Request("m", (Message("user", (part,)),)))
    assert (err.value.status, err.value.param) == (400, param)


def test_assistant_media_tool_results_and_empty_requests_are_400s() -> None:
    for parts in ((MediaPart("image", url="u"),), (ToolResultPart("c"),)):
        with pytest.raises(GatewayError) as err:
            _encode(Request("m", (Message("assistant", parts),)))
        assert err.value.param == "messages[0].content[0]"
    with pytest.raises(GatewayError) as err:
        _encode(Request("m", (Message("system", (MediaPart("image", url="u"),)),)))
    assert err.value.status == 400
    with pytest.raises(GatewayError) as err:
        _encode(Request("m", ()))
    assert err.value.param == "messages"


def test_media_encodings_for_translated_parts() -> None:
    req = Request(
        "m",
        (
            Message(
                "user",
                (
                    MediaPart("image", data="/9j/4AAQ"),
                    MediaPart("image", file_id="file-abc", filename="cat.jpg"),
                    MediaPart("document", media_type="application/pdf", data="JVBERi0=", title="Q3 report"),
                    MediaPart("document", media_type="text/markdown", data="IyBoaQ=="),
                    MediaPart("document", file_id="file-pdf1"),
                    MediaPart("audio", media_type="audio/mpeg", data="SUQz"),
                    MediaPart("audio", media_type="audio/flac", data="ZkxhQw=="),
                ),
            ),
        ),
    )
    out, _ = _encode(req)
    assert out["messages"][0]["content"] == [
        {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,/9j/4AAQ"}},
        {"type": "file", "file": {"file_id": "file-abc", "filename": "cat.jpg"}},
        {
            "type": "file",
            "file": {"file_data": "data:application/pdf;base64,JVBERi0=", "filename": "Q3 report.pdf"},
        },
        {
            "type": "file",
            "file": {"file_data": "data:text/markdown;base64,IyBoaQ==", "filename": "document.md"},
        },
        {"type": "file", "file": {"file_id": "file-pdf1"}},
        {"type": "input_audio", "input_audio": {"data": "SUQz", "format": "mp3"}},
        {"type": "input_audio", "input_audio": {"data": "ZkxhQw==", "format": "flac"}},
    ]
    assert decode_request(out).messages[0].parts[2] == MediaPart(
        "document", media_type="application/pdf", data="JVBERi0=", filename="Q3 report.pdf"
    )


def test_reasoning_and_format_translations() -> None:
    base = Request("m", (Message("user", (TextPart("x"),)),))
    cases = [
        (Reasoning(enabled=False), "openai", {"reasoning_effort": "none"}, []),
        (Reasoning(effort="xhigh"), "openai", {"reasoning_effort": "xhigh"}, []),
        (Reasoning(enabled=True), "openai", {}, []),
        (Reasoning(include_thoughts=True), "openai", {}, ["reasoning.include_thoughts"]),
        (
            Reasoning(enabled=True, budget_tokens=1500),
            "openai",
            {"reasoning_effort": "medium"},
            ["reasoning.budget_tokens"],
        ),
        (Reasoning(enabled=False, effort="low"), "deepseek", {"thinking": {"type": "disabled"}}, []),
        (Reasoning(effort="minimal"), "deepseek", {"reasoning_effort": "high"}, []),
        (
            Reasoning(enabled=True, effort="xhigh"),
            "deepseek",
            {"thinking": {"type": "enabled"}, "reasoning_effort": "max"},
            [],
        ),
    ]
    for reasoning, flavor, expected, drops in cases:
        body, dropped = _encode(replace(base, reasoning=reasoning), flavor=flavor)
        assert {k: body[k] for k in ("reasoning_effort", "thinking") if k in body} == expected, reasoning
        assert dropped == drops
    assert [effort_for_budget(b) for b in (128, 1024, 2048, 4096, 32000)] == [
        "low",
        "low",
        "medium",
        "high",
        "high",
    ]

    schema = ResponseFormat("json_schema", schema={"type": "object"}, name="my schema!", strict=True)
    body, _ = _encode(replace(base, response_format=schema))
    assert body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": encode_tool_name("my schema!"), "schema": {"type": "object"}, "strict": True},
    }
    body, _ = _encode(replace(base, response_format=ResponseFormat("json_schema")))
    assert body["response_format"] == {"type": "json_schema", "json_schema": {"name": "response"}}
    body, dropped = _encode(replace(base, response_format=ResponseFormat("text")), flavor="deepseek")
    assert body["response_format"] == {"type": "text"} and dropped == []
    body, dropped = _encode(replace(base, response_format=schema), flavor="deepseek")
    assert body["response_format"] == {"type": "json_object"} and dropped == ["response_format.json_schema"]


def test_tool_choice_translations() -> None:
    tool = ToolDefinition("f", parameters={"type": "object"})
    base = Request("m", (Message("user", (TextPart("x"),)),), tools=(tool,))
    for choice, expected in [
        (ToolChoice("none"), "none"),
        (ToolChoice("required"), "required"),
        (ToolChoice("tool", "f"), {"type": "function", "function": {"name": "f"}}),
    ]:
        assert _encode(replace(base, tool_choice=choice))[0]["tool_choice"] == expected
    body, dropped = _encode(replace(base, tool_choice=ToolChoice("auto", parallel=True)), flavor="deepseek")
    assert body["tool_choice"] == "auto" and "parallel_tool_calls" not in body and dropped == []
    body, dropped = _encode(replace(base, tools=(), tool_choice=ToolChoice("required", parallel=False)))
    assert "tool_choice" not in body and "parallel_tool_calls" not in body and dropped == ["tool_choice"]
    body, dropped = _encode(replace(base, tools=(), tool_choice=ToolChoice("auto")))
    assert "tool_choice" not in body and dropped == []
    strict = replace(base, tools=(replace(tool, strict=True),))
    assert _encode(strict, flavor="deepseek")[1] == ["tools.strict"]

    legacy = decode_request(golden.load("request_legacy_functions")["body"])
    forced = replace(legacy, tool_choice=ToolChoice("tool", "get_current_weather"))
    assert _encode(forced)[0]["function_call"] == {"name": "get_current_weather"}
    body, dropped = _encode(replace(legacy, tool_choice=ToolChoice("required")))
    assert "function_call" not in body and dropped == ["tool_choice"]
    body, _ = _encode(legacy, flavor="deepseek")
    assert body["messages"][1]["tool_calls"][0]["id"] == "call_legacy_0"
    assert body["messages"][2] == {
        "role": "tool",
        "tool_call_id": "call_legacy_0",
        "content": '{"temperature": "22", "unit": "celsius"}',
    }


def test_changed_layout_values_are_not_resent_verbatim() -> None:
    """The layout is echoed only while it still decodes to the canonical value."""
    req = decode_request(golden.load("request_images")["body"])
    parts = list(req.messages[0].parts)
    parts[2] = MediaPart("image", url="https://example.com/other.png")
    req = replace(
        req, messages=(Message("user", tuple(parts)),), response_format=ResponseFormat("json_object")
    )
    body, _ = _encode(req)
    assert body["messages"][0]["content"][2] == {
        "type": "image_url",
        "image_url": {"url": "https://example.com/other.png"},
    }
    assert body["messages"][0]["content"][1]["image_url"]["url"].startswith("data:image/png;base64,")
    assert body["response_format"] == {"type": "json_object"}


def test_thinking_parts_in_user_messages_and_foreign_opaque_parts_are_dropped() -> None:
    req = Request(
        "m",
        (
            Message(
                "user",
                (
                    TextPart("x"),
                    ThinkingPart("?"),
                    OpaquePart("anthropic_messages", {"type": "server_tool_use"}),
                ),
            ),
            Message(
                "assistant",
                (
                    TextPart("y"),
                    OpaquePart("gemini", {"executableCode": {}}),
                    ThinkingPart("", redacted=True, signature="enc", signature_protocol="anthropic_messages"),
                ),
            ),
        ),
    )
    body, dropped = _encode(req)
    assert body["messages"] == [{"role": "user", "content": "x"}, {"role": "assistant", "content": "y"}]
    assert dropped == ["thinking", "content.server_tool_use", "content.opaque", "thinking.signature"]


def test_strict_mode_turns_the_first_drop_into_a_violation() -> None:
    with pytest.raises(StrictModeViolation) as err:
        _encode(_anthropic_like_request(), strict=True)
    assert err.value.field == "cache_control"


def test_own_reasoning_content_is_resent_to_openai_compatible_hosts() -> None:
    own = ThinkingPart("mine", provider_data=ProviderData("openai_chat", {"field": "reasoning_content"}))
    req = Request("m", (Message("assistant", (own, TextPart("a"))),))
    body, dropped = _encode(req)
    assert (
        body["messages"][0] == {"role": "assistant", "content": "a", "reasoning_content": "mine"}
        and dropped == []
    )


def test_odd_but_valid_wire_details_round_trip() -> None:
    body = {
        "model": "m",
        "messages": [
            {"role": "user", "content": "x"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {"id": "c", "type": "function", "function": {"name": "f", "arguments": "[1, 2]"}}
                ],
            },
            {"role": "tool", "tool_call_id": "c", "content": "ok", "name": "f"},
        ],
    }
    req = decode_request(body)
    call = req.messages[1].parts[0]
    assert isinstance(call, ToolCallPart) and call.arguments == {"_raw": "[1, 2]"}
    assert encode_request(req, model="m", deg=Degradations()) == body


def test_deepseek_drops_logprobs_while_thinking_may_be_on() -> None:
    body = {"model": "m", "messages": [{"role": "user", "content": "x"}], "logprobs": True}
    out, dropped = _encode(decode_request(body), flavor="deepseek")
    assert "logprobs" not in out and dropped == ["logprobs"]


def test_undecodable_text_document_is_a_400_for_deepseek() -> None:
    req = Request(
        "m", (Message("user", (MediaPart("document", media_type="text/plain", data="!!notbase64"),)),)
    )
    with pytest.raises(GatewayError):
        _encode(req, flavor="deepseek")
