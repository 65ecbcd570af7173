"""Shape checks of an OpenAI Chat request before it is relayed (fast path)."""

from __future__ import annotations

from typing import Any

from bytespike.errors import invalid_request

ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "function"})


def _int_field(body: dict[str, Any], name: str) -> None:
    v = body.get(name)
    if v is not None and (not isinstance(v, int) or isinstance(v, bool) or v < 0):
        raise invalid_request(f"{name}: must be a non-negative integer", name)


def check_request(body: Any) -> None:
    if not isinstance(body, dict):
        raise invalid_request("request body must be a JSON object")
    if not isinstance(body.get("model"), str):
        raise invalid_request("model: field required (string)", "model")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise invalid_request("messages: field required (non-empty array)", "messages")
    for i, m in enumerate(messages):
        if not isinstance(m, dict):
            raise invalid_request(f"messages[{i}]: must be an object", f"messages[{i}]")
        if m.get("role") not in ROLES:
            raise invalid_request(
                f"messages[{i}].role: must be one of {', '.join(sorted(ROLES))}", f"messages[{i}].role"
            )
        content = m.get("content")
        if content is not None and not isinstance(content, str | list):
            raise invalid_request(
                f"messages[{i}].content: must be a string or an array", f"messages[{i}].content"
            )
    for name in ("max_tokens", "max_completion_tokens", "n"):
        _int_field(body, name)
    if "stream" in body and not isinstance(body["stream"], bool):
        raise invalid_request("stream: must be a boolean", "stream")
    so = body.get("stream_options")
    if so is not None and not isinstance(so, dict):
        raise invalid_request("stream_options: must be an object", "stream_options")
    for name in ("temperature", "top_p", "presence_penalty", "frequency_penalty"):
        if (
            name in body
            and body[name] is not None
            and (not isinstance(body[name], int | float) or isinstance(body[name], bool))
        ):
            raise invalid_request(f"{name}: must be a number", name)
    if "tools" in body and not isinstance(body["tools"], list):
        raise invalid_request("tools: must be an array", "tools")


def max_output_tokens(body: dict[str, Any]) -> int:
    return int(body.get("max_completion_tokens") or body.get("max_tokens") or 0)


def wants_usage(body: dict[str, Any]) -> bool:
    so = body.get("stream_options")
    return isinstance(so, dict) and bool(so.get("include_usage"))
