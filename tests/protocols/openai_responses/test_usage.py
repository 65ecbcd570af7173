"""Responses usage ↔ canonical Usage: the wire is already inclusive, so nothing is re-added."""

from __future__ import annotations

import pytest

from bytespike.canonical.usage import Usage
from bytespike.protocols.openai_responses.usage import decode_usage, encode_usage
from tests.protocols.openai_responses.support import load

WIRE = {
    "input_tokens": 1200,
    "input_tokens_details": {"cached_tokens": 1024, "cache_write_tokens": 100},
    "output_tokens": 300,
    "output_tokens_details": {"reasoning_tokens": 250},
    "total_tokens": 1500,
}


def test_cached_and_reasoning_tokens_are_parts_of_the_totals() -> None:
    # vllm-project/vllm PR #40912: cached tokens must not be added to input_tokens again.
    usage = decode_usage(WIRE)
    assert usage == Usage(
        input_tokens=1200,
        output_tokens=300,
        cache_read_tokens=1024,
        cache_write_tokens=100,
        reasoning_tokens=250,
    )
    assert usage.uncached_input_tokens == 76
    assert usage.total_tokens == 1500


def test_encode_is_the_inverse() -> None:
    assert encode_usage(decode_usage(WIRE)) == WIRE


def test_fixture_usage_round_trips() -> None:
    wire = load("response_hosted.json")["usage"]
    assert encode_usage(decode_usage(wire)) == wire


@pytest.mark.parametrize(
    "junk",
    [
        None,
        "x",
        [],
        {},
        {"input_tokens": "12"},
        {"input_tokens": True},
        {"input_tokens": -3},
        {"input_tokens_details": 5},
    ],
)
def test_junk_decodes_to_zero(junk: object) -> None:
    assert decode_usage(junk).is_empty()


def test_encode_has_every_field_the_sdk_requires() -> None:
    from openai.types.responses import ResponseUsage

    ResponseUsage.model_validate(encode_usage(Usage()))
    ResponseUsage.model_validate(encode_usage(Usage(5, 7, 1, 2, 3)))
