"""The relay's tap on a Responses stream: usage, first content, terminal frame, error frames."""

from __future__ import annotations

import pytest

from bytespike.canonical.usage import Usage
from bytespike.protocols.openai_responses.streaming import ResponsesStreamTap
from tests.protocols.openai_responses.support import frames, load, sse


@pytest.mark.parametrize("named", [True, False])
def test_usage_content_and_terminal(named: bool) -> None:
    tap = ResponsesStreamTap()
    results = [tap.feed(f) for f in frames(sse(load("stream_tool_calls.json")["events"], named=named))]
    assert results[-1] is True and not any(results[:-1])
    assert tap.facts.finished and tap.facts.has_usage and tap.facts.content_started
    assert tap.facts.usage == Usage(80, 140, 0, 0, 96)
    assert tap.facts.error is None


def test_content_started_only_at_the_first_delta() -> None:
    tap = ResponsesStreamTap()
    events = load("stream_tool_calls.json")["events"]
    for event in events[:4]:  # created, in_progress, item added, summary part added
        tap.feed(sse([event]))
    assert not tap.facts.content_started
    tap.feed(sse([events[4]]))
    assert tap.facts.content_started


def test_a_call_with_arguments_only_in_done_counts_as_content_and_cached_usage_is_read() -> None:
    # BerriAI/litellm #5364: cache usage missing when streaming.
    tap = ResponsesStreamTap()
    for f in frames(sse(load("stream_arguments_only_in_done.json")["events"])):
        tap.feed(f)
    assert tap.facts.content_started
    assert tap.facts.usage == Usage(50, 9, 40, 0, 0)


def test_error_then_failed_keeps_the_first_error() -> None:
    tap = ResponsesStreamTap()
    results = [tap.feed(f) for f in frames(sse(load("stream_failed.json")["events"]))]
    assert not any(results) and not tap.facts.finished
    assert tap.facts.error is not None
    assert (tap.facts.error.status, tap.facts.error.code, tap.facts.error.message) == (
        502,
        "upstream_error",
        "The model crashed.",
    )
    assert tap.facts.error.upstream_type == "server_error"


def test_response_failed_alone_is_an_error() -> None:
    tap = ResponsesStreamTap()
    tap.feed(
        sse(
            [
                {
                    "type": "response.failed",
                    "response": {"error": {"code": "rate_limit_exceeded", "message": "slow"}},
                }
            ]
        )
    )
    assert tap.facts.error is not None and tap.facts.error.message == "slow"
    tap2 = ResponsesStreamTap()
    tap2.feed(sse([{"type": "response.failed", "response": None}]))
    assert tap2.facts.error is not None and tap2.facts.error.message == "upstream error"


def test_incomplete_is_terminal_and_junk_is_ignored() -> None:
    tap = ResponsesStreamTap()
    for junk in (b": keep-alive\n\n", b"data: not json\n\n", b"data: [1]\n\n", b'data: {"no":"type"}\n\n'):
        assert tap.feed(junk) is False
    assert tap.feed(b'data: {"type":"response.output_text.delta","delta":"x"}\n\n') is False
    assert tap.facts.content_started
    assert tap.feed(sse([{"type": "response.incomplete", "response": {"usage": None}}])) is True
    assert tap.facts.finished and not tap.facts.has_usage
