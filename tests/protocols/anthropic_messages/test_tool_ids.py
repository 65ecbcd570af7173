from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from bytespike.protocols.anthropic_messages.tool_ids import sanitize_tool_id

VALID = re.compile(r"^[a-zA-Z0-9_-]+$")


def test_valid_ids_are_kept() -> None:
    assert sanitize_tool_id("toolu_01A09q90qw90lq917835lq9") == "toolu_01A09q90qw90lq917835lq9"
    assert sanitize_tool_id("call-abc_123") == "call-abc_123"


def test_invalid_ids_become_valid_distinct_and_stable() -> None:
    a, b = sanitize_tool_id("a.b"), sanitize_tool_id("a:b")
    assert VALID.fullmatch(a) and VALID.fullmatch(b) and a != b
    assert sanitize_tool_id("").startswith("toolu_")
    assert sanitize_tool_id("x" * 300) == sanitize_tool_id("x" * 300)
    assert len(sanitize_tool_id("x" * 300)) <= 128


@given(st.text())
def test_any_id_becomes_valid_deterministically(raw: str) -> None:
    out = sanitize_tool_id(raw)
    assert VALID.fullmatch(out) and len(out) <= 128
    assert sanitize_tool_id(raw) == out
