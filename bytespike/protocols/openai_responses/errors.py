"""OpenAI Responses error envelopes (protocols.md §3.3, §5.12), both directions.

A failure before the stream starts uses the same ``{"error": {"message","type","param","code"}}``
envelope as OpenAI Chat, so those functions are re-exported. After the stream started the
failure is in-band and different from Chat: an ``event: error`` frame
``{"type":"error","code","message","param","sequence_number"}`` followed by ``response.failed``
whose ``response.error`` is set.
"""

from __future__ import annotations

from typing import Any

from bytespike.canonical.events import StreamError
from bytespike.errors import GatewayError
from bytespike.protocols.openai_chat.errors import (
    TYPE_FROM_STATUS,
    decode_error,
    encode_error,
    error_object,
)
from bytespike.protocols.openai_responses.frames import event_frame

__all__ = [
    "TYPE_FROM_STATUS",
    "decode_error",
    "decode_stream_error",
    "encode_error",
    "encode_stream_error",
    "error_event",
    "error_object",
    "is_error_body",
    "response_error",
]

RESPONSE_ERROR_CODE_FROM_STATUS = {429: "rate_limit_exceeded"}
"""``response.error.code`` is a closed enum in the SDK (``ResponseError.code``); everything that is
not a rate limit is ``server_error``."""
STATUS_FROM_RESPONSE_ERROR_CODE = {
    "rate_limit_exceeded": 429,
    "invalid_prompt": 400,
    "vector_store_timeout": 504,
}
"""HTTP status a decoded in-stream error stands for; the ``invalid_image``/``image_*`` family is
the caller's input (400); anything else is an upstream failure (502)."""
CODE_FROM_STATUS = {
    400: "invalid_param",
    429: "rate_limit_exceeded",
    503: "upstream_overloaded",
    504: "upstream_timeout",
}
"""Spec §6.3 code of a decoded in-stream error, as the other protocols' decoders give it."""


def is_error_body(body: Any) -> bool:
    """True for an error envelope; a ``response`` object whose ``error`` is set is not one."""
    return isinstance(body, dict) and bool(body.get("error")) and body.get("object") != "response"


def error_event(err: GatewayError, sequence_number: int) -> dict[str, Any]:
    """The payload of the mid-stream ``error`` event (``ResponseErrorEvent``)."""
    return {
        "type": "error",
        "code": err.code,
        "message": err.message,
        "param": err.param,
        "sequence_number": sequence_number,
    }


def response_error(err: GatewayError) -> dict[str, Any]:
    """The ``response.error`` object of a failed response."""
    return {"code": RESPONSE_ERROR_CODE_FROM_STATUS.get(err.status, "server_error"), "message": err.message}


def encode_stream_error(
    err: GatewayError, *, sequence_number: int = 0, response: dict[str, Any] | None = None
) -> bytes:
    """``event: error``, then ``response.failed`` when the stream's ``response`` object is known.

    Without ``response`` only the error frame is written: a ``response.failed`` carrying another id
    than ``response.created`` makes the SDK raise "Lifecycle response identity changed".
    """
    frames = event_frame(error_event(err, sequence_number))
    if response is not None:
        failed = {**response, "status": "failed", "error": response_error(err)}
        frames += event_frame(
            {"type": "response.failed", "response": failed, "sequence_number": sequence_number + 1}
        )
    return frames


def decode_stream_error(payload: dict[str, Any]) -> StreamError:
    """A `StreamError` from an ``error`` event or from a ``response.failed`` event's response."""
    err = payload
    if payload.get("type") == "response.failed":
        response = payload.get("response")
        err = (response.get("error") if isinstance(response, dict) else None) or {}
    if not isinstance(err, dict):
        err = {}
    code = err.get("code")
    status = 502
    if isinstance(code, str):
        status = STATUS_FROM_RESPONSE_ERROR_CODE.get(code) or (400 if "image" in code else 502)
    message = err.get("message")
    return StreamError(
        status,
        CODE_FROM_STATUS.get(status, "upstream_error"),
        f"upstream: {message if isinstance(message, str) and message else 'upstream error'}",
    )
