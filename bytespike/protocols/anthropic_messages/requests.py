"""Shape checks of an Anthropic Messages request before it is relayed (fast path).

Only what the gateway needs and what would otherwise reach the vendor as garbage is checked:
field presence and JSON types, with the path of the culprit in the error.
"""

from __future__ import annotations

from typing import Any

from bytespike.errors import invalid_request

ROLES = frozenset({"user", "assistant", "system"})


def check_request(body: Any, *, count_tokens: bool = False) -> None:
    if not isinstance(body, dict):
        raise invalid_request("request body must be a JSON object")
    if not isinstance(body.get("model"), str):
        raise invalid_request("model: field required (string)", "model")
    if not count_tokens:
        mt = body.get("max_tokens")
        if mt is None:
            raise invalid_request("max_tokens: field required", "max_tokens")
        if not isinstance(mt, int) or isinstance(mt, bool) or mt < 0:
            raise invalid_request("max_tokens: must be a non-negative integer", "max_tokens")
    messages = body.get("messages")
    if not isinstance(messages, list):
        raise invalid_request("messages: field required (array)", "messages")
    for i, m in enumerate(messages):
        if not isinstance(m, dict):
            raise invalid_request(f"messages.{i}: must be an object", f"messages.{i}")
        if m.get("role") not in ROLES:
            raise invalid_request(
                f"messages.{i}.role: must be one of user, assistant, system", f"messages.{i}.role"
            )
        content = m.get("content")
        if not isinstance(content, str | list):
            raise invalid_request(
                f"messages.{i}.content: must be a string or an array", f"messages.{i}.content"
            )
        if isinstance(content, list):
            for j, block in enumerate(content):
                if not isinstance(block, dict) or not isinstance(block.get("type"), str):
                    raise invalid_request(
                        f"messages.{i}.content.{j}: must be an object with a type",
                        f"messages.{i}.content.{j}",
                    )
    system = body.get("system")
    if system is not None and not isinstance(system, str | list):
        raise invalid_request("system: must be a string or an array of text blocks", "system")
    if "stream" in body and not isinstance(body["stream"], bool):
        raise invalid_request("stream: must be a boolean", "stream")
    for name in ("temperature", "top_p"):
        if name in body and (not isinstance(body[name], int | float) or isinstance(body[name], bool)):
            raise invalid_request(f"{name}: must be a number", name)
    if "tools" in body and not isinstance(body["tools"], list):
        raise invalid_request("tools: must be an array", "tools")
    if "stop_sequences" in body and not (
        isinstance(body["stop_sequences"], list) and all(isinstance(s, str) for s in body["stop_sequences"])
    ):
        raise invalid_request("stop_sequences: must be an array of strings", "stop_sequences")


def max_output_tokens(body: dict[str, Any]) -> int:
    return int(body.get("max_tokens") or 0)
