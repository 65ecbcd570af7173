"""Nothing is lost silently (issue 3 item 7): what a translated route cannot carry is either
mapped to the target's own field or named in ``X-ByteSpike-Degraded`` (a 400 under
``X-ByteSpike-Strict``), in both directions. Driven through the relay's own translation glue."""

from __future__ import annotations

from typing import Any

import pytest

from bytespike.errors import GatewayError
from tests.protocols.openai_chat import golden as chat_golden
from tests.protocols.test_cross_protocol import translate

EPHEMERAL = {"type": "ephemeral"}


def _dropped(deg: Any) -> list[str]:
    return [name for name, _ in deg.dropped]


# ---------------------------------------------------------------- (a) Chat prompt_cache_breakpoint


def test_chat_breakpoints_become_anthropic_cache_control_on_the_same_blocks() -> None:
    body = chat_golden.load("request_cache_breakpoint")["body"]
    out, deg = translate("openai_chat", "anthropic", body)
    assert out["system"] == [
        {"type": "text", "text": "A very long shared instruction block.", "cache_control": EPHEMERAL}
    ]
    assert out["messages"][0]["content"] == [
        {"type": "text", "text": "A long document to cache.", "cache_control": EPHEMERAL},
        {"type": "text", "text": "Question about it?"},
    ]
    # The system breakpoint asked for a 12h lifetime: Anthropic offers 5m and 1h only.
    assert "system[0].cache_control.ttl" in _dropped(deg)
    assert not any(name.startswith("messages[") for name in _dropped(deg))


def test_a_breakpoint_without_a_lifetime_maps_exactly_and_passes_strict_mode() -> None:
    body = {
        "model": "m",
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Long prefix.", "prompt_cache_breakpoint": {"mode": "explicit"}},
                    {
                        "type": "image_url",
                        "image_url": {"url": "https://example.com/a.png"},
                        "prompt_cache_breakpoint": {"mode": "explicit"},
                    },
                ],
            }
        ],
    }
    out, deg = translate("openai_chat", "anthropic", body, strict=True)
    blocks = out["messages"][0]["content"]
    assert [b.get("cache_control") for b in blocks] == [EPHEMERAL, EPHEMERAL]
    assert deg.dropped == []


def test_a_breakpoint_with_a_lifetime_is_a_400_in_strict_mode() -> None:
    body = chat_golden.load("request_cache_breakpoint")["body"]
    body.pop("prompt_cache_options")
    with pytest.raises(GatewayError) as err:
        translate("openai_chat", "anthropic", body, strict=True)
    assert err.value.status == 400 and err.value.param == "system[0].cache_control.ttl"


@pytest.mark.parametrize("target", ["gemini", "responses"])
def test_chat_breakpoints_are_reported_where_the_target_has_none(target: str) -> None:
    body = chat_golden.load("request_cache_breakpoint")["body"]
    _, deg = translate("openai_chat", target, body)
    assert any(name.endswith("cache_control") for name in _dropped(deg)), _dropped(deg)


def test_chat_breakpoints_go_back_to_openai_and_are_reported_to_deepseek() -> None:
    body = chat_golden.load("request_cache_breakpoint")["body"]
    out, deg = translate("openai_chat", "openai", body)
    assert out["messages"][1]["content"][0]["prompt_cache_breakpoint"] == {"mode": "explicit"}
    assert "cache_control" not in _dropped(deg)
    _, deg = translate("openai_chat", "deepseek", body)
    assert "content.prompt_cache_breakpoint" in _dropped(deg) and "cache_control" not in _dropped(deg)
