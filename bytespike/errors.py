"""The gateway's one error type, raised anywhere and rendered by the caller's protocol.

A `GatewayError` carries the HTTP status and the spec's machine code (spec §6.3); each
`protocols/<name>/errors.py` turns it into that protocol's envelope. Nothing here knows a
wire format.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(eq=False)
class GatewayError(Exception):
    """A failure the caller is told about; never billed."""

    status: int
    """HTTP status sent to the caller."""
    code: str
    """Spec §6.3 machine code, e.g. ``invalid_api_key``, ``model_not_in_group``."""
    message: str
    """Human-readable sentence; names the field at fault where there is one."""
    param: str | None = None
    """Path of the offending request field (``messages[0].content``), when known."""
    retry_after: int | None = None
    """Seconds, sent as ``Retry-After`` on 429/503 when known."""
    upstream_type: str | None = None
    """The vendor's own error type/status string when relaying an upstream error."""

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def __str__(self) -> str:
        return f"{self.status} {self.code}: {self.message}"


def invalid_request(message: str, param: str | None = None) -> GatewayError:
    """400 for a malformed body, a missing field or a wrong type."""
    return GatewayError(400, "invalid_param", message, param)


def authentication_failed(message: str = "invalid x-api-key") -> GatewayError:
    """401 for a missing, malformed, unknown, revoked or expired key (spec §2.2)."""
    return GatewayError(401, "invalid_api_key", message)


def model_not_found(model: str) -> GatewayError:
    """Unknown model: 400 ``model_not_found`` (spec §9 #4; Gemini renders 404)."""
    return GatewayError(400, "model_not_found", f"model {model!r} is not in the catalogue", "model")


def model_not_in_group(model: str, group: str) -> GatewayError:
    """403 when the key's routing group cannot reach the model (spec §9 #3)."""
    return GatewayError(
        403, "model_not_in_group", f"model {model!r} is not reachable from routing group {group!r}", "model"
    )


def insufficient_balance(
    message: str = "insufficient_balance: the wallet cannot cover this request",
) -> GatewayError:
    """402 when the wallet cannot cover the request (spec §4.3)."""
    return GatewayError(402, "insufficient_balance", message)


def body_too_large(limit: int) -> GatewayError:
    """413 for a body over the surface's limit."""
    return GatewayError(413, "request_too_large", f"request body exceeds the {limit} byte limit")


def route_not_found(path: str) -> GatewayError:
    """404 for a path no surface serves."""
    return GatewayError(404, "not_found", f"no route for {path}")
