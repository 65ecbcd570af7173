"""The documented token-count estimate (docs/translation.md §17) for models whose vendor has no
counting endpoint: characters / 4 over what the model reads, 16 characters of framing per
message, 1,000 tokens per media part."""

from __future__ import annotations

import orjson

from bytespike.canonical.parts import MediaPart, TextPart, ToolCallPart, ToolResultPart
from bytespike.canonical.request import Message, Request, ToolDefinition
from bytespike.relay.count_tokens import estimate_tokens


def test_text_is_four_characters_per_token_plus_framing() -> None:
    request = Request("m", (Message("user", (TextPart("x" * 400),)),), system=(TextPart("y" * 40),))
    assert estimate_tokens(request) == (40 + 16 + 400) // 4


def test_tools_calls_results_and_media() -> None:
    schema = {"type": "object", "properties": {"city": {"type": "string"}}}
    request = Request(
        "m",
        (
            Message("user", (TextPart("Weather?"), MediaPart("image", "image/png", data="iVBOR"))),
            Message("assistant", (ToolCallPart("c1", "get_weather", {"city": "Paris"}),)),
            Message("user", (ToolResultPart("c1", (TextPart("sunny"), MediaPart("image", url="https://x/a.png"))),)),
        ),
        tools=(ToolDefinition("get_weather", "Weather.", schema),),
    )
    chars = (
        3 * 16
        + len("Weather?")
        + len("get_weather") + len(orjson.dumps({"city": "Paris"}))
        + len("sunny")
        + len("get_weather") + len("Weather.") + len(orjson.dumps(schema))
    )
    assert estimate_tokens(request) == chars // 4 + 2 * 1000


def test_an_empty_request_still_counts_one_token() -> None:
    assert estimate_tokens(Request("m", ())) == 1
