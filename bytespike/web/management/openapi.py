"""The OpenAPI 3.1 document of the management API, generated from the endpoint table.

Paths, parameters, request and response schemas all come from the same `Endpoint` objects and
JSON Schemas the server validates and renders with, so the document describes the real
responses (schemathesis checks it in tests/web_management).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from bytespike.web.management.endpoint import Endpoint
from bytespike.web.management.schemas import ERROR, ID
from bytespike.web.route_registry import PUBLIC

ERROR_STATUSES = {
    "400": "Invalid parameter or body (`invalid_param`, naming the field in `param`)",
    "401": "Missing, unknown, revoked, rotated-out or expired key (`invalid_api_key`)",
    "403": "Scope missing, address not allowed, org paused, or not an administrator (`permission_denied`)",
    "404": "No such resource, or not one this key may see (`not_found`)",
    "409": "Conflicts with the current state (duplicate key, revoked key, last owner, …)",
    "413": "Body over 1 MiB",
    "429": "Over the management budget of the key (`rate_limit_exceeded`, with Retry-After)",
}


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def _operation(ep: Endpoint) -> dict[str, Any]:
    params: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": ID} for name in ep.path_params
    ]
    params += [
        {"name": p.name, "in": "query", "required": False, "schema": p.schema, "description": p.description}
        for p in ep.query
    ]
    op: dict[str, Any] = {
        "operationId": ep.operation_id,
        "summary": ep.summary,
        "tags": [ep.tag],
        "x-bytespike-scope": ep.scope,
        "parameters": params,
        "responses": {
            str(ep.status): {
                "description": ep.description or "OK",
                "content": {"application/json": {"schema": ep.response}},
            },
            **{status: _error(text) for status, text in ERROR_STATUSES.items()},
            "default": _error("Other failure, in the same envelope"),
        },
        "security": [] if ep.scope == PUBLIC else [{"apiKey": []}, {"bearer": []}, {"queryKey": []}],
    }
    if ep.scope != PUBLIC:
        op["description"] = f"Requires the `{ep.scope}` scope. {ep.description}".strip()
    if ep.body is not None:
        op["requestBody"] = {
            "required": ep.body_required,
            "content": {"application/json": {"schema": ep.body}},
        }
    return op


def document(endpoints: Iterable[Endpoint]) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for ep in endpoints:
        paths.setdefault(ep.path, {})[ep.method.lower()] = _operation(ep)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "bytespike management API",
            "version": "1",
            "description": "Keys, usage, billing and administration. Free; about 600 calls a minute per key. "
            "See docs/management-api.md.",
        },
        "paths": paths,
        "components": {
            "schemas": {"Error": ERROR},
            "securitySchemes": {
                "apiKey": {"type": "apiKey", "in": "header", "name": "x-api-key"},
                "bearer": {"type": "http", "scheme": "bearer"},
                "queryKey": {"type": "apiKey", "in": "query", "name": "key"},
            },
        },
    }
