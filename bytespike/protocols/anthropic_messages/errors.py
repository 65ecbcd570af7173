"""Anthropic error envelopes (spec §6.1, protocols.md §1.9), both directions."""

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
    409: "conflict_error",
    413: "request_too_large",
    422: "invalid_request_error",
    429: "rate_limit_error",
    500: "api_error",
    502: "api_error",
    503: "overloaded_error",
    504: "timeout_error",
    529: "overloaded_error",
}
TYPE_FROM_CODE = {"model_not_found": "not_found_error"}
"""Spec §9 #4: an unknown model is a 400 whose Anthropic type is ``not_found_error``."""


def error_type(err: GatewayError) -> str:
    return (
        TYPE_FROM_CODE.get(err.code)
        or TYPE_FROM_STATUS.get(err.status)
        or ("api_error" if err.status >= 500 else "invalid_request_error")
    )


def encode_error(err: GatewayError, request_id: str | None = None) -> bytes:
    body: dict[str, Any] = {"type": "error", "error": {"type": error_type(err), "message": err.message}}
    if request_id:
        body["request_id"] = request_id
    return orjson.dumps(body)


def encode_stream_error(err: GatewayError) -> bytes:
    """The mid-stream ``event: error`` frame (protocols.md §1.7)."""
    payload = orjson.dumps({"type": "error", "error": {"type": error_type(err), "message": err.message}})
    return b"event: error\ndata: " + payload + b"\n\n"


def decode_error(body: Any) -> tuple[str | None, str]:
    """(vendor error type, message) from an Anthropic error body; tolerant of junk."""
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        e = body["error"]
        return (str(e.get("type")) if e.get("type") else None, str(e.get("message") or "upstream error"))
    return None, "upstream error"


def is_error_body(body: Any) -> bool:
    return isinstance(body, dict) and body.get("type") == "error" and isinstance(body.get("error"), dict)


STATUS_AND_CODE_FROM_TYPE = {
    "invalid_request_error": (400, "invalid_param"),
    "request_too_large": (413, "request_too_large"),
    "rate_limit_error": (429, "rate_limit_exceeded"),
    "overloaded_error": (503, "upstream_overloaded"),
    "timeout_error": (504, "upstream_timeout"),
    "authentication_error": (502, "upstream_auth_failed"),
    "permission_error": (502, "upstream_auth_failed"),
}
"""A mid-stream ``event: error`` → (status, gateway code) for a canonical `StreamError`; the
same meaning `relay/upstream_errors.py` gives a failed upstream call. Anything else (``api_error``,
``billing_error``, unknown types) is a 502 ``upstream_error``."""


def status_and_code(error_type: str | None) -> tuple[int, str]:
    return STATUS_AND_CODE_FROM_TYPE.get(error_type or "", (502, "upstream_error"))
