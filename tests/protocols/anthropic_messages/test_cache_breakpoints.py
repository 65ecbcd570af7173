"""At most four cache breakpoints reach Anthropic; cache_control is kept where it can go."""

from __future__ import annotations

from bytespike.canonical.parts import CacheControl, MediaPart, TextPart, ToolCallPart, ToolResultPart
from bytespike.canonical.request import ToolDefinition
from tests.protocols.anthropic_messages.canonical import assistant, encode, request, user

CC = CacheControl()


def count(body: dict) -> int:
    n = int("cache_control" in body)
    blocks = [*body.get("tools", []), *body.get("system", [])]
    for m in body["messages"]:
        for b in m["content"]:
            blocks.append(b)
            if b.get("type") == "tool_result":
                blocks += b.get("content", [])
    return n + sum("cache_control" in b for b in blocks)


def test_cache_control_everywhere_anthropic_has_it() -> None:
    req = request(
        user(
            TextPart("doc", cache_control=CC),
            MediaPart("image", media_type="image/png", data="iVBOR", cache_control=CC),
        ),
        assistant(ToolCallPart("c", "f", cache_control=CC)),
        user(ToolResultPart("c", (TextPart("r", cache_control=CC),), cache_control=CC)),
        tools=(ToolDefinition("f", cache_control=CacheControl("1h")),),
        system=(TextPart("sys", cache_control=CacheControl("1h")),),
        cache_control=CC,
    )
    body, dropped = encode(req)
    assert count(body) == 4
    assert list(dropped) == ["cache_control"]
    # The latest breakpoints (longest prefixes) and the top-level one are kept.
    assert body["cache_control"] == {"type": "ephemeral"}
    assert "cache_control" not in body["tools"][0] and "cache_control" not in body["system"][0]
    result = body["messages"][2]["content"][0]
    assert "cache_control" in result and "cache_control" in result["content"][0]
    # The canonical request was not mutated through shared dicts.
    again, _ = encode(req)
    assert again == body


def test_four_are_fine() -> None:
    req = request(
        user(TextPart("a", cache_control=CC), TextPart("b", cache_control=CC)),
        system=(TextPart("s", cache_control=CC),),
        cache_control=CC,
    )
    body, dropped = encode(req)
    assert count(body) == 4 and not dropped
