"""Where an OpenAI Chat upstream reads the token limit (issue 3 follow-up): ``max_tokens`` for
DeepSeek, Zhipu and an operator's own vendor, ``max_completion_tokens`` for OpenAI, Doubao's
reasoning models, MiniMax and Moonshot, per catalogue row (``max_tokens_field``).

Whole translated upstream bodies are compared with ``snapshots/max_tokens_field.json``
(``UPDATE_SNAPSHOTS=1`` rewrites it; review every change); the fast path's rename is asserted on
the body the relay forwards.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import orjson
import pytest

from bytespike.protocols.openai_chat.hosts import adapt_max_tokens_field
from bytespike.relay.translation import decode_caller_request, encode_upstream_body
from bytespike.routing.catalogue import CatalogueError, load_catalogue

SNAPSHOT = Path(__file__).parent / "snapshots" / "max_tokens_field.json"
OWN_VENDOR = {
    "slug": "llama-x",
    "family": "llama",
    "provider": "together",
    "protocol": "openai_chat",
    "price": {"input": 1, "output": 2},
}
CATALOGUE = load_catalogue(
    {
        "models": [
            OWN_VENDOR,
            {**OWN_VENDOR, "slug": "llama-y", "max_tokens_field": "max_completion_tokens"},
        ]
    }
)
CHAT_MODELS = sorted(s for s, m in CATALOGUE.models.items() if m.protocol == "openai_chat")
ONE_PER_VENDOR = (
    "deepseek-v4-pro",
    "doubao-seed-1-5-pro",
    "doubao-seed-2-0-pro",
    "glm-5-1",
    "gpt-5-4",
    "kimi-k2-6",
    "llama-x",
    "llama-y",
    "minimax-m2-7",
)
"""Snapshotted whole: one model of each vendor, both Doubao rows and the operator's two."""
CALLERS: dict[str, dict[str, Any]] = {
    "anthropic_messages": {
        "model": "m",
        "max_tokens": 300,
        "system": "Be brief.",
        "messages": [{"role": "user", "content": "Hello"}],
    },
    "gemini": {
        "contents": [{"role": "user", "parts": [{"text": "Hello"}]}],
        "generationConfig": {"maxOutputTokens": 300},
    },
    "openai_responses": {"model": "m", "input": "Hello", "max_output_tokens": 300},
}


def _translated(caller: str, slug: str, *, stream: bool = False) -> dict[str, Any]:
    model = CATALOGUE.models[slug]
    t = decode_caller_request(caller, "openai_chat", CALLERS[caller], strict=True)
    return encode_upstream_body(
        t,
        upstream_model=model.upstream_model,
        provider=model.provider,
        stream=stream,
        max_tokens_field=model.max_tokens_field,
    )


def test_translated_bodies_match_their_reviewed_snapshot() -> None:
    actual = {caller: {slug: _translated(caller, slug) for slug in ONE_PER_VENDOR} for caller in CALLERS}
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        SNAPSHOT.parent.mkdir(exist_ok=True)
        SNAPSHOT.write_bytes(orjson.dumps(actual, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n")
    assert actual == orjson.loads(SNAPSHOT.read_bytes())


@pytest.mark.parametrize("caller", sorted(CALLERS))
def test_every_chat_model_gets_the_limit_where_its_vendor_reads_it(caller: str) -> None:
    fields = {}
    for slug in CHAT_MODELS:
        body = _translated(caller, slug)
        fields[slug] = [k for k in body if k.startswith("max_")]
        assert body[fields[slug][0]] == 300
    assert fields == {
        "deepseek-r1": ["max_tokens"],
        "deepseek-v3-2": ["max_tokens"],
        "deepseek-v4-flash": ["max_tokens"],
        "deepseek-v4-pro": ["max_tokens"],
        "doubao-seed-1-5-pro": ["max_tokens"],
        "doubao-seed-2-0-pro": ["max_completion_tokens"],
        "glm-5-1": ["max_tokens"],
        "gpt-5-4": ["max_completion_tokens"],
        "gpt-5-4-mini": ["max_completion_tokens"],
        "gpt-5-4-nano": ["max_completion_tokens"],
        "gpt-5-4-pro": ["max_completion_tokens"],
        "gpt-5-5": ["max_completion_tokens"],
        "gpt-5-5-instant": ["max_completion_tokens"],
        "kimi-k2-6": ["max_completion_tokens"],
        "llama-x": ["max_tokens"],
        "llama-y": ["max_completion_tokens"],
        "minimax-m2-7": ["max_completion_tokens"],
    }


def test_a_streamed_translation_keeps_the_field() -> None:
    body = _translated("anthropic_messages", "glm-5-1", stream=True)
    assert body["max_tokens"] == 300 and "max_completion_tokens" not in body
    assert body["stream_options"] == {"include_usage": True}


@pytest.mark.parametrize(
    ("sent", "field", "forwarded"),
    [
        ({"max_completion_tokens": 50}, "max_tokens", {"max_tokens": 50}),
        # Both given: the one OpenAI documents as the bound wins, as in the decoder.
        ({"max_completion_tokens": 50, "max_tokens": 80}, "max_tokens", {"max_tokens": 50}),
        ({"max_completion_tokens": None, "max_tokens": 80}, "max_tokens", {"max_tokens": 80}),
        ({"max_tokens": 80}, "max_tokens", {"max_tokens": 80}),
        ({"max_completion_tokens": 50}, "max_completion_tokens", {"max_completion_tokens": 50}),
        # A caller's legacy field goes as sent: the max_completion_tokens hosts accept it too.
        ({"max_tokens": 80}, "max_completion_tokens", {"max_tokens": 80}),
        ({}, "max_tokens", {}),
    ],
)
def test_the_fast_path_moves_the_limit_to_the_field_the_vendor_reads(
    sent: dict[str, Any], field: str, forwarded: dict[str, Any]
) -> None:
    body = {"model": "m", "messages": [{"role": "user", "content": "Hi"}], **sent}
    adapt_max_tokens_field(body, field)
    assert body == {"model": "m", "messages": [{"role": "user", "content": "Hi"}], **forwarded}


def test_a_row_names_one_of_the_two_fields() -> None:
    with pytest.raises(CatalogueError, match="max_tokens_field"):
        load_catalogue({"models": [{**OWN_VENDOR, "max_tokens_field": "max_output_tokens"}]})
