"""Checks that a body we send over OpenAI Chat is one the API accepts, with the openai SDK's own
request TypedDicts (``CompletionCreateParams``) as the schema, validated by pydantic. DeepSeek
takes its own extensions besides (``thinking``, ``reasoning_content``: protocols.md §2)."""

from __future__ import annotations

from typing import Any

from openai.types.chat.completion_create_params import (
    CompletionCreateParamsNonStreaming,
    CompletionCreateParamsStreaming,
)

from tests.protocols.sdk_types import adapter, field_names, validate

DEEPSEEK_EXTENSIONS = frozenset({"thinking"})
"""Top-level fields DeepSeek adds to the OpenAI schema."""


def assert_valid_request(body: dict[str, Any], *, flavor: str = "openai") -> None:
    kind = CompletionCreateParamsStreaming if body.get("stream") is True else CompletionCreateParamsNonStreaming
    allowed = field_names(kind) | (DEEPSEEK_EXTENSIONS if flavor == "deepseek" else frozenset())
    unknown = set(body) - allowed
    assert not unknown, f"fields the Chat Completions API does not know: {sorted(unknown)}"
    validate(adapter(kind), body, "CompletionCreateParams")
