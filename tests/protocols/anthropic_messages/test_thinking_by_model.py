"""Each Claude model gets the kind of thinking it accepts (protocols.md §0 #3): budgets become
adaptive thinking + effort on models after 4.6, efforts become budgets before 4.6, 4.6 takes both.

The whole translated bodies for three callers × three model generations are a reviewed snapshot
(``tests/protocols/snapshots/anthropic_thinking_by_model.json``; ``UPDATE_SNAPSHOTS=1`` rewrites
it)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import orjson
import pytest

from bytespike.protocols.anthropic_messages.models import claude_version, thinking_style
from bytespike.protocols.anthropic_messages.requests import check_request
from bytespike.relay.translation import decode_caller_request, encode_upstream_body

SNAPSHOT = Path(__file__).parents[1] / "snapshots" / "anthropic_thinking_by_model.json"
MODELS = ("claude-opus-4-8", "claude-sonnet-4-6", "claude-sonnet-4-5")
"""One model per thinking style: adaptive only, both, budget only."""
REQUESTS: dict[str, tuple[str, dict[str, Any]]] = {
    "gemini_thinking_budget": (
        "gemini",
        {
            "contents": [{"role": "user", "parts": [{"text": "Plan the migration."}]}],
            "generationConfig": {"thinkingConfig": {"thinkingBudget": 8192, "includeThoughts": True}},
        },
    ),
    "chat_reasoning_effort": (
        "openai_chat",
        {
            "model": "m",
            "messages": [{"role": "user", "content": "Plan the migration."}],
            "reasoning_effort": "high",
            "max_completion_tokens": 20000,
        },
    ),
    "responses_reasoning_effort": (
        "openai_responses",
        {"model": "m", "input": "Plan the migration.", "reasoning": {"effort": "low", "summary": "auto"}},
    ),
}


def _translate(caller: str, body: dict[str, Any], model: str, *, strict: bool = False) -> tuple[dict, list]:
    t = decode_caller_request(caller, "anthropic_messages", orjson.loads(orjson.dumps(body)), strict=strict)
    out = encode_upstream_body(t, upstream_model=model, provider="anthropic", stream=False)
    check_request(out)
    return out, [list(d) for d in t.deg.dropped]


def _snapshot() -> dict[str, Any]:
    return {
        name: {
            model: dict(zip(("body", "degraded"), _translate(caller, body, model), strict=True))
            for model in MODELS
        }
        for name, (caller, body) in REQUESTS.items()
    }


def test_translated_thinking_per_model_matches_the_reviewed_snapshot() -> None:
    actual = orjson.loads(orjson.dumps(_snapshot()))
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        SNAPSHOT.write_bytes(orjson.dumps(actual, option=orjson.OPT_INDENT_2) + b"\n")
    assert actual == orjson.loads(SNAPSHOT.read_bytes())


@pytest.mark.parametrize(
    ("model", "version", "style"),
    [
        ("claude-opus-4-8", (4, 8), "adaptive"),
        ("claude-opus-4-7", (4, 7), "adaptive"),
        ("claude-opus-5", (5, 0), "adaptive"),
        ("claude-sonnet-4-6", (4, 6), "both"),
        ("claude-sonnet-4-6-20260301", (4, 6), "both"),
        ("claude-sonnet-4-5", (4, 5), "budget"),
        ("claude-haiku-4-5-20251001", (4, 5), "budget"),
        ("claude-sonnet-4-20250514", (4, 0), "budget"),
        ("claude-3-7-sonnet-20250219", (3, 7), "budget"),
        ("deepseek-v3-anthropic", None, "both"),
    ],
)
def test_the_thinking_style_follows_the_claude_version_in_the_id(
    model: str, version: tuple[int, int] | None, style: str
) -> None:
    assert claude_version(model) == version
    assert thinking_style(model) == style


def test_a_budget_never_reaches_a_model_that_rejects_it() -> None:
    _, gemini_budget = REQUESTS["gemini_thinking_budget"]
    out, dropped = _translate("gemini", gemini_budget, "claude-opus-4-8")
    assert out["thinking"] == {"type": "adaptive", "display": "summarized"}
    assert out["output_config"] == {"effort": "medium"}  # 8192 tokens: the medium bucket
    assert out["max_tokens"] == 8192 + 4096  # the room the budget would have had
    assert [name for name, _ in dropped] == ["thinking.budget_tokens"]


def test_adaptive_thinking_never_reaches_a_model_before_4_6() -> None:
    _, chat = REQUESTS["chat_reasoning_effort"]
    out, dropped = _translate("openai_chat", chat, "claude-sonnet-4-5")
    assert out["thinking"] == {"type": "enabled", "budget_tokens": 4096}
    assert "output_config" not in out
    assert [name for name, _ in dropped] == ["output_config.effort"]


def test_model_46_keeps_the_callers_own_kind() -> None:
    for name, (caller, body) in REQUESTS.items():
        out, dropped = _translate(caller, body, "claude-sonnet-4-6", strict=True)
        assert dropped == [], name
    out, _ = _translate("gemini", REQUESTS["gemini_thinking_budget"][1], "claude-sonnet-4-6")
    assert out["thinking"]["type"] == "enabled" and out["thinking"]["budget_tokens"] == 8192
