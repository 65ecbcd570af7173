"""Refuse media a text-only model cannot read, on the fast path too.

A translated request meets the target codec's own checks; a same-protocol request is forwarded
as it came, so a text-only model (catalogue ``input_modalities = ["text"]``) would otherwise get
images the vendor may reject or silently ignore. Only requests to such models are scanned.
"""

from __future__ import annotations

from typing import Any

from bytespike.errors import GatewayError
from bytespike.protocols import openai_responses
from bytespike.routing.catalogue import ModelEntry

VENDOR_NAME = {"anthropic": "Anthropic", "openai": "OpenAI", "gemini": "Google", "deepseek": "DeepSeek"}
MEDIA_PART_TYPES = frozenset(
    {"image", "document", "image_url", "input_audio", "file", "input_image", "input_file"}
)
"""Content-part ``type`` values carrying media in Anthropic, OpenAI Chat and Responses bodies."""


def _media_path(protocol: str, body: dict[str, Any]) -> str | None:
    """Path of the first media part in ``body``, or None."""
    if protocol == "gemini":
        for i, content in enumerate(body.get("contents") or ()):
            for j, part in enumerate((content or {}).get("parts") or ()):
                if isinstance(part, dict) and (
                    "inlineData" in part or "fileData" in part or "inline_data" in part
                ):
                    return f"contents[{i}].parts[{j}]"
        return None
    key = "input" if protocol == openai_responses.NAME else "messages"
    items = body.get(key)
    if not isinstance(items, list):
        return None
    for i, item in enumerate(items):
        content = item.get("content") if isinstance(item, dict) else None
        if not isinstance(content, list):
            continue
        for j, part in enumerate(content):
            if not isinstance(part, dict):
                continue
            if part.get("type") in MEDIA_PART_TYPES:
                return f"{key}[{i}].content[{j}]"
            nested = part.get("content")  # Anthropic tool_result blocks may hold images
            if isinstance(nested, list) and any(
                isinstance(b, dict) and b.get("type") in MEDIA_PART_TYPES for b in nested
            ):
                return f"{key}[{i}].content[{j}].content"
    return None


def check_input_modalities(protocol: str, body: dict[str, Any], model: ModelEntry) -> None:
    if "image" in model.input_modalities:
        return
    path = _media_path(protocol, body)
    if path is not None:
        vendor = VENDOR_NAME.get(model.provider, model.provider)
        raise GatewayError(
            400,
            "invalid_param",
            f"{path}: {vendor} accepts only text content, not image input ({model.slug} has no vision)",
            path,
        )
