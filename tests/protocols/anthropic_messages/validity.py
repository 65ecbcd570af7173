"""Checks that a body we send to Anthropic is one the Messages API accepts, with the anthropic
SDK's own request TypedDicts (``MessageCreateParams``) as the schema, validated by pydantic."""

from __future__ import annotations

from typing import Any

from anthropic.types.message_create_params import (
    MessageCreateParamsNonStreaming,
    MessageCreateParamsStreaming,
)

from tests.protocols.sdk_types import adapter, field_names, validate

SAMPLING_PARAMS = {"temperature": (int, float), "top_p": (int, float), "top_k": (int,)}
"""Taken under ``anthropic-version: 2023-06-01`` (what the relay sends), absent from the SDK's
2026-10-21 types (protocols.md §0 #1): checked here by hand."""


def assert_valid_request(body: dict[str, Any]) -> None:
    kind = MessageCreateParamsStreaming if body.get("stream") is True else MessageCreateParamsNonStreaming
    unknown = set(body) - field_names(kind) - SAMPLING_PARAMS.keys()
    assert not unknown, f"fields the Messages API does not know: {sorted(unknown)}"
    for name, kinds in SAMPLING_PARAMS.items():
        if name in body:
            value = body[name]
            assert isinstance(value, kinds) and not isinstance(value, bool), f"{name}: {value!r}"
    rest = {k: v for k, v in body.items() if k not in SAMPLING_PARAMS}
    validate(adapter(kind), rest, "MessageCreateParams")
