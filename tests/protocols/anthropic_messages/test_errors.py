from __future__ import annotations

import orjson
import pytest

from bytespike.errors import GatewayError
from bytespike.protocols.anthropic_messages.errors import (
    decode_error,
    encode_error,
    encode_stream_error,
    is_error_body,
    status_and_code,
)


@pytest.mark.parametrize(
    ("error_type", "expected"),
    [
        ("overloaded_error", (503, "upstream_overloaded")),
        ("rate_limit_error", (429, "rate_limit_exceeded")),
        ("invalid_request_error", (400, "invalid_param")),
        ("api_error", (502, "upstream_error")),
        (None, (502, "upstream_error")),
    ],
)
def test_status_and_code_of_a_mid_stream_error(error_type: str | None, expected: tuple[int, str]) -> None:
    assert status_and_code(error_type) == expected


def test_the_decoded_error_renders_back_as_the_same_type() -> None:
    for error_type in (
        "overloaded_error",
        "rate_limit_error",
        "invalid_request_error",
        "api_error",
        "timeout_error",
    ):
        status, code = status_and_code(error_type)
        frame = encode_stream_error(GatewayError(status, code, "m"))
        assert orjson.loads(frame.split(b"data: ", 1)[1])["error"]["type"] == error_type


def test_error_envelopes() -> None:
    err = GatewayError(400, "model_not_found", "model 'x' is not in the catalogue", "model")
    assert orjson.loads(encode_error(err, "req_1")) == {
        "type": "error",
        "error": {"type": "not_found_error", "message": "model 'x' is not in the catalogue"},
        "request_id": "req_1",
    }
    assert orjson.loads(encode_error(GatewayError(599, "x", "m")))["error"]["type"] == "api_error"
    assert orjson.loads(encode_error(GatewayError(418, "x", "m")))["error"]["type"] == "invalid_request_error"


def test_decode_error_is_tolerant() -> None:
    body = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    assert decode_error(body) == ("overloaded_error", "Overloaded")
    assert is_error_body(body) and not is_error_body({"type": "message"})
    assert decode_error({"error": {}}) == (None, "upstream error")
    assert decode_error("junk") == (None, "upstream error")
