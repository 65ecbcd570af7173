"""Anthropic usage ⇄ canonical: input excludes cache tokens on the wire, includes them inside."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bytespike.canonical.usage import Usage
from bytespike.protocols.anthropic_messages.usage import decode_usage, encode_usage


def test_encode_usage_in_anthropic_semantics() -> None:
    # vllm-project/vllm PR #40912: input_tokens must not include cached tokens.
    usage = Usage(
        input_tokens=1000,
        output_tokens=50,
        cache_read_tokens=700,
        cache_write_tokens=200,
        reasoning_tokens=20,
    )
    assert encode_usage(usage) == {
        "input_tokens": 100,
        "output_tokens": 50,
        "cache_creation_input_tokens": 200,
        "cache_read_input_tokens": 700,
        "output_tokens_details": {"thinking_tokens": 20},
    }
    assert encode_usage(Usage()) == {
        "input_tokens": 0,
        "output_tokens": 0,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
    }


def test_decode_usage() -> None:
    assert decode_usage(None) == Usage()
    assert decode_usage({"input_tokens": 5, "output_tokens": 2, "cache_read_input_tokens": None}) == Usage(
        5, 2
    )


@given(st.integers(0, 10**7), st.integers(0, 10**7), st.integers(0, 10**7), st.integers(0, 10**7))
def test_round_trip(uncached: int, read: int, write: int, output: int) -> None:
    usage = Usage(uncached + read + write, output, read, write, min(output, 7))
    assert decode_usage(encode_usage(usage)) == usage
