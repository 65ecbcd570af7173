"""Thought-signature wrapping for foreign vendors, and derived tool-call ids."""

from __future__ import annotations

import base64

import pytest

from bytespike.protocols.gemini.ids import derive_tool_call_id, history_scope, is_derived_id, response_scope
from bytespike.protocols.gemini.signatures import (
    SKIP_SIGNATURE_SENTINEL,
    unwrap_signature,
    wrap_foreign_signature,
)


def test_wrapped_signatures_round_trip_in_both_base64_alphabets() -> None:
    wrapped = wrap_foreign_signature("anthropic_messages", "EqQB+/==", redacted=True)
    assert unwrap_signature(wrapped) == ("anthropic_messages", "EqQB+/==", True)
    url_safe = base64.urlsafe_b64encode(base64.b64decode(wrapped)).decode()
    assert unwrap_signature(url_safe) == ("anthropic_messages", "EqQB+/==", True)
    assert unwrap_signature(wrap_foreign_signature("", "x")) == (None, "x", False)


@pytest.mark.parametrize(
    "value",
    [
        SKIP_SIGNATURE_SENTINEL,
        "CiQBVKhc7yOq0d3Dy7gHqJ3oV5d4kz5nKc1mQ2x9vYw5o8PKjJ0SaQFUqFzvX0yq",
        "short",
        "!" * 40,
        "A" * 29,
        base64.b64encode(b"bytespike-signature\x00no-separator-here").decode(),
        base64.b64encode(b"bytespike-signature\x00proto\x00").decode(),
        base64.b64encode(b"bytespike-signature\x00\xff\xfe\x00-sig").decode(),
    ],
)
def test_anything_else_is_a_gemini_signature(value: str) -> None:
    assert unwrap_signature(value) is None


def test_derived_ids_are_stable_distinct_and_recognisable() -> None:
    first = derive_tool_call_id(history_scope(1, 0), "f")
    assert first == derive_tool_call_id(history_scope(1, 0), "f")
    assert first != derive_tool_call_id(history_scope(1, 1), "f")
    assert first != derive_tool_call_id(history_scope(1, 0), "g")
    assert derive_tool_call_id(response_scope("r", 0), "f") != derive_tool_call_id(
        response_scope("s", 0), "f"
    )
    assert is_derived_id(first) and not is_derived_id("toolu_01")
