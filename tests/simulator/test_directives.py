from __future__ import annotations

import pytest

from bytespike.simulator.config import SimulatorConfig
from bytespike.simulator.directives import (
    DIRECTIVE_KEYS,
    NO_DIRECTIVES,
    DirectiveError,
    Directives,
    parse_directives,
    resolve_pacing,
)


def test_text_without_directives_is_untouched_and_shares_the_empty_result() -> None:
    directives, text = parse_directives("hello  there")
    assert directives is NO_DIRECTIVES
    assert text == "hello  there"


def test_values_and_flags_are_parsed_and_removed_from_the_text() -> None:
    directives, text = parse_directives(
        "hi [[sim:error=503, words=7,cache_read=12,cache_write=3,reasoning=40]] there [[sim:hang]] [[sim:tool,stop=END]]"
    )
    assert directives == Directives(
        error=503, words=7, cache_read=12, cache_write=3, reasoning=40, hang=True, tool=True, stop="END"
    )
    assert text == "hi there"


def test_later_blocks_override_earlier_ones() -> None:
    directives, _ = parse_directives("[[sim:words=3]] [[sim:words=9,latency_ms=2.5]]")
    assert directives.words == 9
    assert directives.latency_ms == 2.5


def test_error_body_takes_an_optional_status() -> None:
    assert parse_directives("[[sim:error_body]]")[0].error_body == 500
    assert parse_directives("[[sim:error_body=429]]")[0].error_body == 429


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("[[sim:nonsense=1]]", "unknown simulator directive 'nonsense'"),
        ("[[sim:words=many]]", "'words' expects an integer"),
        ("[[sim:error=200]]", "'error' must be >= 400"),
        ("[[sim:error=600]]", "HTTP error status"),
        ("[[sim:chunks=0]]", "'chunks' must be >= 1"),
        ("[[sim:hang=yes]]", "'hang' is a flag"),
        ("[[sim:latency_ms=-1]]", "'latency_ms' must be >= 0"),
        ("[[sim:drop_after]]", "'drop_after' needs a value"),
        ("[[sim:mode=sometimes]]", "'mode' must be 'whole' or 'stream'"),
    ],
)
def test_bad_directives_are_refused_with_a_reason(text: str, fragment: str) -> None:
    with pytest.raises(DirectiveError, match=fragment.replace("(", r"\(")):
        parse_directives(text)


def test_every_documented_key_is_known() -> None:
    documented = {
        "error", "error_body", "drop_after", "midstream_error", "hang", "latency_ms", "chunk_delay_ms",
        "chunks", "words", "tool", "no_tool", "parallel", "cache_read", "cache_write", "reasoning",
        "input", "stop", "max_tokens_stop", "mode",
    }  # fmt: skip
    assert documented == DIRECTIVE_KEYS


def test_pacing_prefers_directive_then_header_then_config() -> None:
    config = SimulatorConfig(latency_ms=5, chunk_delay_ms=6, chunks=7)
    from_config = resolve_pacing(config, {}, NO_DIRECTIVES)
    assert (from_config.latency_ms, from_config.chunk_delay_ms, from_config.chunks, from_config.words) == (
        5,
        6,
        7,
        None,
    )
    headers = {
        b"x-sim-latency-ms": b"15",
        b"x-sim-chunk-delay-ms": b"16",
        b"x-sim-chunks": b"17",
        b"x-sim-words": b"18",
    }
    from_headers = resolve_pacing(config, headers, NO_DIRECTIVES)
    assert (
        from_headers.latency_ms,
        from_headers.chunk_delay_ms,
        from_headers.chunks,
        from_headers.words,
    ) == (
        15,
        16,
        17,
        18,
    )
    directives = Directives(latency_ms=25, chunk_delay_ms=26, chunks=27, words=28)
    from_directives = resolve_pacing(config, headers, directives)
    assert (
        from_directives.latency_ms,
        from_directives.chunk_delay_ms,
        from_directives.chunks,
        from_directives.words,
    ) == (25, 26, 27, 28)


def test_a_bad_pacing_header_is_refused() -> None:
    with pytest.raises(DirectiveError, match="x-sim-chunks"):
        resolve_pacing(SimulatorConfig(), {b"x-sim-chunks": b"zero"}, NO_DIRECTIVES)
