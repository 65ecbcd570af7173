"""Canonical messages → Anthropic turns: per-part policies and the turn rules."""

from __future__ import annotations

import pytest

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
from bytespike.protocols.anthropic_messages.messages import continues_tool_turn_without_thinking
from tests.protocols.anthropic_messages.canonical import assistant, encode, request, system, user

SIGNED = ThinkingPart("plan", signature="sig-A", signature_protocol="anthropic_messages")


def test_foreign_and_unsigned_thinking_is_dropped_and_reported() -> None:
    req = request(
        user("q"),
        assistant(
            SIGNED,
            ThinkingPart("from gpt", signature="gAAAA", signature_protocol="openai_responses"),
            ThinkingPart("deepseek reasoning_content"),
            ThinkingPart("", signature="x", signature_protocol="gemini", redacted=True),
            ThinkingPart("", signature="EmwK", signature_protocol="anthropic_messages", redacted=True),
            "answer",
        ),
        user("more"),
    )
    body, dropped = encode(req)
    assert body["messages"][1]["content"] == [
        {"type": "thinking", "thinking": "plan", "signature": "sig-A"},
        {"type": "redacted_thinking", "data": "EmwK"},
        {"type": "text", "text": "answer"},
    ]
    assert set(dropped) == {
        "messages[1].content[1].thinking",
        "messages[1].content[2].thinking",
        "messages[1].content[3].thinking",
    }
    assert "openai_responses" in dropped["messages[1].content[1].thinking"]


def test_parts_in_the_wrong_role_are_dropped_and_reported() -> None:
    req = request(
        user("q", SIGNED, ToolCallPart("c", "f")),
        assistant("a", ToolResultPart("c", (TextPart("r"),))),
        system("ok", MediaPart("image", media_type="image/png", data="iVBOR")),
    )
    body, dropped = encode(req)
    assert set(dropped) == {
        "messages[0].content[1].thinking",
        "messages[0].content[2]",
        "messages[1].content[1]",
        "messages[2].content[1]",
    }
    # A system turn after an assistant turn is hoisted (protocols.md §1.3 placement rules).
    assert body["system"] == [{"type": "text", "text": "ok"}]


def test_opaque_parts_go_only_to_their_own_protocol() -> None:
    block = {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {}}
    req = request(
        user("q"),
        assistant(OpaquePart("anthropic_messages", block), OpaquePart("gemini", {"executableCode": {}})),
    )
    body, dropped = encode(req)
    assert body["messages"][1]["content"] == [block]
    assert list(dropped) == ["messages[1].content[1]"]


def test_tool_results_first_and_consecutive_results_merged() -> None:
    # OpenAI sends one role:tool message per result: they become one user turn, results first
    # (openai/codex #7051: no result may be lost on the way).
    req = request(
        user("q"),
        assistant(ToolCallPart("call_1", "a"), ToolCallPart("call_2", "b")),
        user(ToolResultPart("call_1", (TextPart("r1"),))),
        user("and a note", ToolResultPart("call_2", (TextPart("r2"),), is_error=True)),
    )
    body, dropped = encode(req)
    assert body["messages"][2]["content"] == [
        {"type": "tool_result", "tool_use_id": "call_1", "content": [{"type": "text", "text": "r1"}]},
        {
            "type": "tool_result",
            "tool_use_id": "call_2",
            "content": [{"type": "text", "text": "r2"}],
            "is_error": True,
        },
        {"type": "text", "text": "and a note"},
    ]
    assert len(body["messages"]) == 3 and not dropped


def test_empty_and_blank_text_never_reach_anthropic() -> None:
    # anthropics/claude-code #53473, cline/cline PR #7247; LibreChat-AI/agents PR #124.
    req = request(
        user("", "  \n"),
        user("real"),
        assistant(TextPart("", cache_control=CacheControl()), ToolCallPart("c", "f")),
        user(ToolResultPart("c", (TextPart(""),)), TextPart(" ")),
        assistant(" "),
        user("last"),
    )
    body, dropped = encode(req)
    assert body["messages"] == [
        # Blank text is kept when the merged turn has other text (the API accepts that).
        {"role": "user", "content": [{"type": "text", "text": "  \n"}, {"type": "text", "text": "real"}]},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "c", "name": "f", "input": {}}]},
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": "c"}, {"type": "text", "text": "last"}],
        },
    ]
    assert list(dropped) == ["messages[2].content[0].cache_control"]


def test_inline_system_kept_where_anthropic_accepts_it_else_hoisted() -> None:
    req = request(
        system("first"),
        user("q"),
        system("reminder"),
        assistant("a"),
        system("misplaced after assistant"),
        user("q2"),
        system("last one"),
        system=(TextPart("top"),),
    )
    body, _ = encode(req)
    assert body["system"] == [
        {"type": "text", "text": "top"},
        {"type": "text", "text": "first"},
        {"type": "text", "text": "misplaced after assistant"},
    ]
    assert [m["role"] for m in body["messages"]] == ["user", "system", "assistant", "user", "system"]


def test_inline_system_after_a_server_tool_use() -> None:
    srv = OpaquePart(
        "anthropic_messages",
        {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {}},
    )
    body, _ = encode(request(user("q"), assistant(srv), system("note"), assistant("go on")))
    assert [m["role"] for m in body["messages"]] == ["user", "assistant", "system", "assistant"]


def test_prefill_with_trailing_whitespace_is_trimmed() -> None:
    body, dropped = encode(request(user("q"), assistant("The answer is ")))
    assert body["messages"][-1]["content"] == [{"type": "text", "text": "The answer is"}]
    assert list(dropped) == ["messages[1].content[0].text"]


def test_assistant_turn_left_empty_by_trimming_is_removed() -> None:
    body, _ = encode(
        request(user("q"), assistant(ToolCallPart("c", "f")), user(ToolResultPart("c")), assistant("x", "\n"))
    )
    assert body["messages"][-1]["content"] == [{"type": "text", "text": "x"}]


def test_citations_on_user_text_only_before_2026() -> None:
    cited = TextPart(
        "quote", provider_data=ProviderData("anthropic_messages", {"citations": [{"type": "char_location"}]})
    )
    old, _ = encode(request(user(cited), assistant(cited), user("q")))
    assert old["messages"][0]["content"][0]["citations"] == [{"type": "char_location"}]
    new, dropped = encode(request(user(cited), assistant(cited), user("q")), version="2026-10-21")
    assert "citations" not in new["messages"][0]["content"][0]
    assert new["messages"][1]["content"][0]["citations"] == [{"type": "char_location"}]
    assert list(dropped) == ["messages[0].content[0].citations"]


def test_foreign_provider_data_is_not_sent() -> None:
    text = TextPart("x", provider_data=ProviderData("openai_chat", {"annotations": []}))
    call = ToolCallPart("c", "f", provider_data=ProviderData("gemini", {"thoughtSignature": "abc"}))
    body, dropped = encode(request(user(text), assistant(call), user(ToolResultPart("c"))))
    assert body["messages"][0]["content"] == [{"type": "text", "text": "x"}]
    assert body["messages"][1]["content"] == [{"type": "tool_use", "id": "c", "name": "f", "input": {}}]
    assert not dropped


@pytest.mark.parametrize(
    ("messages", "expected"),
    [
        ([], False),
        ([{"role": "user", "content": [{"type": "text"}]}, {"role": "user", "content": []}], False),
        (
            [
                {"role": "assistant", "content": [{"type": "tool_use"}]},
                {"role": "user", "content": [{"type": "text"}]},
            ],
            False,
        ),
        (
            [
                {"role": "assistant", "content": [{"type": "thinking"}, {"type": "tool_use"}]},
                {"role": "user", "content": [{"type": "tool_result"}]},
            ],
            False,
        ),
        (
            [
                {"role": "assistant", "content": [{"type": "tool_use"}]},
                {"role": "user", "content": [{"type": "tool_result"}]},
            ],
            True,
        ),
    ],
)
def test_continues_tool_turn_without_thinking(messages: list, expected: bool) -> None:
    assert continues_tool_turn_without_thinking(messages) is expected
