"""OpenAI error envelopes (spec §6.2, protocols.md §2.7), both directions.

Also used by the Responses surface and the management API, which share the shape.
"""

from __future__ import annotations

from typing import Any

import orjson

from bytespike.errors import GatewayError

TYPE_FROM_STATUS = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    409: "invalid_request_error",
    413: "invalid_request_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
    500: "api_error",
    502: "api_error",
    503: "overloaded_error",
    504: "api_error",
}


def error_object(err: GatewayError) -> dict[str, Any]:
    etype = TYPE_FROM_STATUS.get(err.status) or (
        "api_error" if err.status >= 500 else "invalid_request_error"
    )
    return {"message": err.message, "type": etype, "param": err.param, "code": err.code}


def encode_error(err: GatewayError, request_id: str | None = None) -> bytes:
    return orjson.dumps({"error": error_object(err)})


def encode_stream_error(err: GatewayError) -> bytes:
    """A data-only frame with a top-level ``error``; the SDK raises APIError on it (§2.6)."""
    return b"data: " + orjson.dumps({"error": error_object(err)}) + b"\n\n"


def decode_error(body: Any) -> tuple[str | None, str]:
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        e = body["error"]
        return (str(e.get("code") or e.get("type") or "") or None, str(e.get("message") or "upstream error"))
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        return None, body["error"]
    return None, "upstream error"


def is_error_body(body: Any) -> bool:
    return isinstance(body, dict) and bool(body.get("error")) and "choices" not in body


STATUS_FROM_ERROR_TYPE = {
    "invalid_request_error": 400,
    "rate_limit_error": 429,
    "rate_limit_exceeded": 429,
    "insufficient_quota": 429,
    "overloaded_error": 503,
    "server_overloaded": 503,
    "timeout": 504,
}
"""Vendor error ``type``/``code`` → the status a mid-stream error keeps; anything else is a 502."""
CODE_FROM_STATUS = {
    400: "invalid_param",
    429: "rate_limit_exceeded",
    503: "upstream_overloaded",
    504: "upstream_timeout",
}


def decode_stream_error(error: Any) -> tuple[int, str, str]:
    """(status, spec code, message) of an in-band ``{"error": …}`` frame's ``error`` value."""
    e = error if isinstance(error, dict) else {"message": str(error)}
    vendor = next((v for v in (e.get("type"), e.get("code")) if v in STATUS_FROM_ERROR_TYPE), None)
    status = STATUS_FROM_ERROR_TYPE[vendor] if vendor else 502
    return (
        status,
        CODE_FROM_STATUS.get(status, "upstream_error"),
        f"upstream: {e.get('message') or 'upstream error'}",
    )
