"""Google error envelopes (spec §6.2, protocols.md §4.6), both directions."""

from __future__ import annotations

from typing import Any

import orjson

from bytespike.errors import GatewayError

STATUS_FROM_HTTP = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    402: "RESOURCE_EXHAUSTED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ABORTED",
    413: "INVALID_ARGUMENT",
    422: "INVALID_ARGUMENT",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    502: "UNAVAILABLE",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
HTTP_FROM_CODE = {"model_not_found": 404}
"""Spec §9 #4: on the Google surface an unknown model is 404 ``NOT_FOUND``."""


def http_status(err: GatewayError) -> int:
    return HTTP_FROM_CODE.get(err.code, err.status)


def _error_object(err: GatewayError) -> dict[str, Any]:
    status = http_status(err)
    message = err.message
    if err.code == "invalid_api_key":
        message = f"API key not valid. {err.message}"
    return {
        "code": status,
        "message": message,
        "status": STATUS_FROM_HTTP.get(status) or ("INTERNAL" if status >= 500 else "INVALID_ARGUMENT"),
        "details": [
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": err.code.upper(),
                "domain": "bytespike",
            }
        ],
    }


def encode_error(err: GatewayError, request_id: str | None = None) -> bytes:
    return orjson.dumps({"error": _error_object(err)})


def encode_stream_error(err: GatewayError) -> bytes:
    return b"data: " + orjson.dumps({"error": _error_object(err)}) + b"\n\n"


def decode_error(body: Any) -> tuple[str | None, str]:
    if isinstance(body, list) and body:
        body = body[0]
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        e = body["error"]
        return (str(e.get("status")) if e.get("status") else None, str(e.get("message") or "upstream error"))
    return None, "upstream error"


def is_error_body(body: Any) -> bool:
    return isinstance(body, dict) and isinstance(body.get("error"), dict) and "candidates" not in body
