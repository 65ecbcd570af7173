"""Upstream failures → `GatewayError`s the caller's protocol can render.

The caller's key is fine when a vendor says 401/403/404 (those concern the gateway's own vendor
credentials or model ids), so those become 502; client-side mistakes the vendor reports
(400/413/422) keep their status and message; vendor rate limits stay 429; overload and
timeouts keep their meaning (503/504). A 200 whose body is an error object is rewritten the
same way (spec §4.3 #4).
"""

from __future__ import annotations

from typing import Any

from bytespike.errors import GatewayError
from bytespike.protocols.codecs import Codec

STATUS_FROM_VENDOR_TYPE = {
    # Anthropic error types, OpenAI codes/types, Google status strings.
    "invalid_request_error": 400,
    "INVALID_ARGUMENT": 400,
    "FAILED_PRECONDITION": 400,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "rate_limit_exceeded": 429,
    "RESOURCE_EXHAUSTED": 429,
    "overloaded_error": 503,
    "UNAVAILABLE": 503,
    "timeout_error": 504,
    "DEADLINE_EXCEEDED": 504,
}


def _retry_after(value: str | None) -> int | None:
    try:
        return int(float(value)) if value else None
    except ValueError:
        return None


def error_from_upstream(status: int, codec: Codec, body: Any, retry_after: str | None = None) -> GatewayError:
    vendor_type, message = codec.decode_error(body)
    message = f"upstream: {message}"
    if status in (400, 409, 413, 422):
        code = "request_too_large" if status == 413 else "invalid_param"
        return GatewayError(status, code, message, upstream_type=vendor_type)
    if status == 429:
        return GatewayError(
            429,
            "rate_limit_exceeded",
            message,
            retry_after=_retry_after(retry_after),
            upstream_type=vendor_type,
        )
    if status in (401, 403):
        return GatewayError(
            502,
            "upstream_auth_failed",
            "the upstream rejected the gateway's credentials",
            upstream_type=vendor_type,
        )
    if status in (408, 504):
        return GatewayError(504, "upstream_timeout", message, upstream_type=vendor_type)
    if status in (503, 529):
        return GatewayError(
            503,
            "upstream_overloaded",
            message,
            retry_after=_retry_after(retry_after),
            upstream_type=vendor_type,
        )
    return GatewayError(
        502, "upstream_error", f"{message} (upstream status {status})", upstream_type=vendor_type
    )


def rewrite_error_body(codec: Codec, body: Any) -> GatewayError:
    vendor_type, _ = codec.decode_error(body)
    status = STATUS_FROM_VENDOR_TYPE.get(vendor_type or "", 502)
    err = error_from_upstream(status, codec, body)
    err.message = err.message + " (the upstream sent it with status 200)"
    return err


def remap_stream_error(err: GatewayError) -> GatewayError:
    """A mid-stream error frame keeps the vendor's meaning (overloaded stays overloaded)."""
    status = STATUS_FROM_VENDOR_TYPE.get(err.upstream_type or "")
    if status is None or status == err.status:
        return err
    code = {429: "rate_limit_exceeded", 503: "upstream_overloaded", 504: "upstream_timeout"}.get(
        status, err.code
    )
    return GatewayError(status, code, err.message, upstream_type=err.upstream_type)


def answer_error_from_stream(err: GatewayError) -> GatewayError:
    """An upstream's in-band stream error, answered as a whole reply (relay/stream_modes.py):
    its status follows the same rules as an HTTP error status (a vendor 500 is the gateway's 502)."""
    err = remap_stream_error(err)
    if err.status >= 500 and err.status not in (503, 504):
        return GatewayError(502, "upstream_error", err.message, upstream_type=err.upstream_type)
    return err
