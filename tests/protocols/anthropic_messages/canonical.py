"""Shorthands for canonical requests in tests, and encoding them for Anthropic."""

from __future__ import annotations

from typing import Any

from bytespike.canonical.degradation import Degradations
from bytespike.canonical.parts import Part, TextPart
from bytespike.canonical.request import Message, Request
from bytespike.protocols.anthropic_messages.requests import check_request, decode_request, encode_request


def user(*parts: Part | str) -> Message:
    return Message("user", tuple(TextPart(p) if isinstance(p, str) else p for p in parts))


def assistant(*parts: Part | str) -> Message:
    return Message("assistant", tuple(TextPart(p) if isinstance(p, str) else p for p in parts))


def system(*parts: Part | str) -> Message:
    return Message("system", tuple(TextPart(p) if isinstance(p, str) else p for p in parts))


def request(*messages: Message, **fields: Any) -> Request:
    return Request(model=fields.pop("model", "gpt-5-4"), messages=messages or (user("hi"),), **fields)


def encode(req: Request, **options: Any) -> tuple[dict[str, Any], dict[str, str]]:
    """(body, {dropped field: reason}); the body must pass our own checks and decoder."""
    deg = Degradations()
    body = encode_request(req, model=options.pop("model", "claude-sonnet-4-6"), deg=deg, **options)
    check_request(body, count_tokens=options.get("count_tokens", False))
    decode_request(body, count_tokens=options.get("count_tokens", False))
    return body, dict(deg.dropped)
