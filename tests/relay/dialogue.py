"""Readers for the conversation an upstream received, whatever its dialect.

`turns(protocol, body)` lists (role, text) of every turn the vendor was sent, roles normalized
to ``user``/``assistant`` and system prompts left out, so a test can check that a chained or
translated request carried the whole history.
"""

from __future__ import annotations

from typing import Any

from tests.conformance.clients import OPENAI_RESPONSES
from tests.web.billing import ANTHROPIC, OPENAI_CHAT


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    texts = []
    for block in content or ():
        if (
            isinstance(block, dict)
            and isinstance(block.get("text"), str)
            and not block.get("thought")
            and block.get("type") in (None, "text", "input_text", "output_text")
        ):
            texts.append(block["text"])
    return " ".join(texts)


def turns(protocol: str, body: dict[str, Any]) -> list[tuple[str, str]]:
    """(role, text) of each turn with text, in order."""
    found: list[tuple[str, str]] = []
    if protocol in (ANTHROPIC, OPENAI_CHAT):
        for message in body.get("messages", []):
            if message.get("role") in ("user", "assistant"):
                found.append((message["role"], _text(message.get("content"))))
    elif protocol == OPENAI_RESPONSES:
        raw = body.get("input")
        items = [{"role": "user", "content": raw}] if isinstance(raw, str) else raw or []
        for item in items:
            if item.get("type", "message") == "message" and item.get("role") in ("user", "assistant"):
                found.append((item["role"], _text(item.get("content"))))
    else:
        for content in body.get("contents", []):
            role = "assistant" if content.get("role") == "model" else "user"
            found.append((role, _text(content.get("parts"))))
    return [(role, text) for role, text in found if text]
