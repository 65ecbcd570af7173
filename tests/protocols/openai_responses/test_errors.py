"""Responses error envelopes: before the stream (OpenAI envelope) and in-band after it started."""

from __future__ import annotations

import orjson
import pytest
from openai.types.responses import ResponseErrorEvent, ResponseFailedEvent

from bytespike.canonical.events import StreamError
from bytespike.errors import GatewayError
from bytespike.protocols.openai_chat import errors as chat_errors
from bytespike.protocols.openai_responses import errors
from tests.protocols.openai_responses.support import payloads, sdk_events


def test_non_stream_envelope_is_openais() -> None:
    err = GatewayError(400, "invalid_param", "input: must be a string", "input")
    assert errors.encode_error is chat_errors.encode_error
    assert orjson.loads(errors.encode_error(err, "req_1")) == {
        "error": {
            "message": "input: must be a string",
            "type": "invalid_request_error",
            "param": "input",
            "code": "invalid_param",
        }
    }
    assert errors.decode_error({"error": {"code": "rate_limit_exceeded", "message": "slow down"}}) == (
        "rate_limit_exceeded",
        "slow down",
    )


@pytest.mark.parametrize(
    ("body", "is_error"),
    [
        ({"error": {"message": "x"}}, True),
        ({"error": None, "object": "response", "output": []}, False),
        ({"error": {"code": "server_error"}, "object": "response", "status": "failed"}, False),
        ("nope", False),
    ],
)
def test_is_error_body(body: object, is_error: bool) -> None:
    assert errors.is_error_body(body) is is_error


def test_stream_error_without_context_is_one_error_frame() -> None:
    frame = errors.encode_stream_error(GatewayError(502, "upstream_error", "boom"), sequence_number=7)
    [payload] = payloads(frame)
    assert payload == {
        "type": "error",
        "code": "upstream_error",
        "message": "boom",
        "param": None,
        "sequence_number": 7,
    }
    ResponseErrorEvent.model_validate(payload)


def test_stream_error_with_response_adds_response_failed() -> None:
    response = {
        "id": "resp_1",
        "object": "response",
        "created_at": 1,
        "model": "m",
        "output": [],
        "status": "in_progress",
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
    }
    body = errors.encode_stream_error(
        GatewayError(429, "rate_limit_exceeded", "later"), sequence_number=3, response=response
    )
    error, failed = payloads(body)
    assert error["sequence_number"] == 3 and failed["sequence_number"] == 4
    assert failed["response"]["status"] == "failed"
    assert failed["response"]["error"] == {"code": "rate_limit_exceeded", "message": "later"}
    ResponseFailedEvent.model_validate(failed)
    # The SDK yields both as events (no exception: the error event has no top-level "error" key).
    assert [e.type for e in sdk_events(body)] == ["error", "response.failed"]


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (
            {"type": "error", "code": "server_error", "message": "crash"},
            StreamError(502, "upstream_error", "upstream: crash"),
        ),
        (
            {"type": "error", "code": "rate_limit_exceeded", "message": "slow"},
            StreamError(429, "rate_limit_exceeded", "upstream: slow"),
        ),
        (
            {"type": "error", "code": "invalid_prompt", "message": "no"},
            StreamError(400, "invalid_param", "upstream: no"),
        ),
        (
            {"type": "error", "code": "image_too_large", "message": "big"},
            StreamError(400, "invalid_param", "upstream: big"),
        ),
        (
            {"type": "error", "code": "vector_store_timeout", "message": "t"},
            StreamError(504, "upstream_timeout", "upstream: t"),
        ),
        ({"type": "error"}, StreamError(502, "upstream_error", "upstream: upstream error")),
        (
            {"type": "response.failed", "response": {"error": {"code": "server_error", "message": "died"}}},
            StreamError(502, "upstream_error", "upstream: died"),
        ),
        (
            {"type": "response.failed", "response": "junk"},
            StreamError(502, "upstream_error", "upstream: upstream error"),
        ),
        (
            {"type": "response.failed", "response": {"error": "junk"}},
            StreamError(502, "upstream_error", "upstream: upstream error"),
        ),
    ],
)
def test_decode_stream_error(payload: dict, expected: StreamError) -> None:
    assert errors.decode_stream_error(payload) == expected
