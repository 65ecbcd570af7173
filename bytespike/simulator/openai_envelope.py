"""OpenAI's key check and error envelope, shared by the Chat and Responses simulations.

Errors are ``{"error": {"message", "type", "param", "code"}}`` (spec/protocols.md §2.7); the key
travels as ``Authorization: Bearer``.
"""

from __future__ import annotations

from collections.abc import Mapping

from bytespike.simulator.asgi import HttpAnswer
from bytespike.simulator.fields import bearer_token
from bytespike.simulator.vendor import json_answer

ERROR_BY_STATUS: dict[int, tuple[str, str | None]] = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("invalid_request_error", "permission_denied"),
    404: ("invalid_request_error", "model_not_found"),
    409: ("invalid_request_error", "conflict"),
    422: ("invalid_request_error", None),
    429: ("requests", "rate_limit_exceeded"),
    500: ("server_error", None),
    503: ("server_error", "overloaded"),
}
"""Status → (``type``, ``code``); other 4xx are ``invalid_request_error``, other 5xx
``server_error``."""

_RETRY_AFTER_STATUSES = frozenset({429, 503})


def error_object(status: int, message: str) -> dict[str, object]:
    error_type, code = ERROR_BY_STATUS.get(
        status, ("server_error" if status >= 500 else "invalid_request_error", None)
    )
    return {"error": {"message": message, "type": error_type, "param": None, "code": code}}


class OpenAiEnvelope:
    """Auth and error steps of `VendorApi`, common to both OpenAI APIs."""

    def check_auth(
        self, headers: Mapping[bytes, bytes], query: bytes, api_key: str | None
    ) -> HttpAnswer | None:
        key = bearer_token(headers.get(b"authorization"))
        if not key:
            return self.error(
                401,
                "You didn't provide an API key. You need to provide your API key in an Authorization "
                "header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
            )
        if api_key is not None and key != api_key:
            return self.error(401, "Incorrect API key provided.")
        return None

    def error(self, status: int, message: str) -> HttpAnswer:
        headers = [(b"x-request-id", b"req_sim_error")]
        if status in _RETRY_AFTER_STATUSES:
            headers.append((b"retry-after", b"1"))
        return json_answer(status, error_object(status, message), headers)

    def error_in_body(self, status: int, message: str) -> HttpAnswer:
        return json_answer(200, error_object(status, message))
