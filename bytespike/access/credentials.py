"""Where a caller's key is read from, in the spec's precedence (spec §2.2).

``x-api-key`` > ``Authorization: Bearer`` > ``x-goog-api-key`` > ``?key=``; every form is
accepted on every route; bodies are never read for credentials. A header sent twice with
different values is ambiguous and refused.
"""

from __future__ import annotations

from collections.abc import Sequence

from bytespike.errors import GatewayError, authentication_failed


def extract_credential(headers: Sequence[tuple[bytes, bytes]], query_key: str | None) -> str:
    """The key presented by the caller; raises 401 when there is none or it is ambiguous."""
    found: dict[bytes, list[bytes]] = {}
    for name, value in headers:
        if name in (b"x-api-key", b"authorization", b"x-goog-api-key"):
            found.setdefault(name, []).append(value)
    for name, values in found.items():
        if len(set(values)) > 1:
            raise GatewayError(401, "invalid_api_key", f"conflicting {name.decode()} headers")
    if b"x-api-key" in found:
        return found[b"x-api-key"][0].decode("latin-1").strip()
    if b"authorization" in found:
        raw = found[b"authorization"][0].decode("latin-1").strip()
        scheme, _, token = raw.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise authentication_failed("Authorization header must be 'Bearer <key>'")
        return token.strip()
    if b"x-goog-api-key" in found:
        return found[b"x-goog-api-key"][0].decode("latin-1").strip()
    if query_key:
        return query_key.strip()
    raise authentication_failed("missing API key: send x-api-key or Authorization: Bearer")
