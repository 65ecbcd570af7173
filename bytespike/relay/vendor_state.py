"""Refuse fields that make a vendor look up state kept under the gateway's own account.

The gateway calls each vendor with one account shared by all its keys. A field naming an object
the vendor stores (a conversation, a stored prompt, a file, a vector store, a cached context) is
resolved in that shared account for whichever key sends it: the cross-key problem
``previous_response_id`` had (relay/chaining.py). The gateway offers none of the APIs that
create such objects, so no key can own one: each field is a 400 naming it, in the caller's
protocol, on every route, before routing, free (docs/translation.md §2, "State kept by a
vendor"). References to objects the gateway's own answers hand out (reasoning item ids, code
containers) stay, because they are how an account continues its own work; see the same section.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from bytespike.errors import GatewayError
from bytespike.protocols import anthropic_messages, gemini, openai_chat, openai_responses
from bytespike.protocols.gemini.parts import is_gemini_file_uri

NO_FILES_API = "the gateway has no Files API, so the id could only name a file in its shared vendor account"
SEND_FILE_INSTEAD = "send the file inline (base64) or by URL"
RESPONSES_FIELDS = {
    "conversation": (
        "OpenAI conversations live in the gateway's shared OpenAI account and are not offered per key; "
        "continue a conversation with previous_response_id, which the gateway keeps per account"
    ),
    "prompt": (
        "stored prompt templates belong to the gateway's OpenAI project, not to your key; "
        "send the instructions and input themselves"
    ),
}
"""Responses fields refused whenever they are set (not null), with the reason the caller reads."""
BACKGROUND_REASON = (
    "background responses are kept in the gateway's shared OpenAI account and polled by id "
    "(GET /v1/responses/{id}), which the gateway does not serve; send the request without "
    "background (stream it if it runs long)"
)
ITEM_REFERENCE_REASON = (
    "an item_reference is resolved from items stored in the gateway's shared OpenAI account; "
    "send the item itself (the Vercel AI SDK does with store: false) or continue with "
    "previous_response_id"
)
VECTOR_STORE_REASON = "file_search searches vector stores of the gateway's shared OpenAI account"
CACHED_CONTENT_REASON = (
    "cached contents live in the gateway's shared Google account and the gateway has no "
    "cachedContents API; send the contents themselves (Gemini caches repeated prefixes implicitly)"
)
FILE_SEARCH_STORE_REASON = "fileSearch searches file search stores of the gateway's shared Google account"
CUSTOM_SKILL_REASON = (
    "custom skills are uploaded to the gateway's shared Anthropic workspace, not per key; "
    "use Anthropic's own skills (type anthropic)"
)

Finding = tuple[str, str]
"""(path of the field, why it is refused)."""


def refuse_vendor_state(protocol: str, body: Any) -> None:
    """400 naming the first field of ``body`` (the caller's own, before chaining adds history)
    that would make the vendor resolve state of the gateway's shared account."""
    if not isinstance(body, dict):
        return
    for path, reason in FINDERS[protocol](body):
        raise GatewayError(400, "invalid_param", f"{path}: {reason}", path)


def json_objects(value: Any) -> Iterator[tuple[int, dict[str, Any]]]:
    """The objects of a JSON array, with their indices (anything else yields nothing)."""
    if isinstance(value, list):
        for i, item in enumerate(value):
            if isinstance(item, dict):
                yield i, item


# ---------------------------------------------------------------------------- OpenAI Responses


def _responses(body: dict[str, Any]) -> Iterator[Finding]:
    for name, reason in RESPONSES_FIELDS.items():
        if body.get(name) is not None:
            yield name, reason
    if body.get("background") is True:
        yield "background", BACKGROUND_REASON
    for i, item in json_objects(body.get("input")):
        if item.get("type") == "item_reference":
            yield f"input[{i}]", ITEM_REFERENCE_REASON
        for key in ("content", "output"):  # message parts; function_call_output parts
            for j, part in json_objects(item.get(key)):
                if part.get("file_id") is not None:
                    yield f"input[{i}].{key}[{j}].file_id", f"{NO_FILES_API}; {SEND_FILE_INSTEAD}"
    for i, tool in json_objects(body.get("tools")):
        kind = tool.get("type")
        if kind == "file_search":
            yield f"tools[{i}]", VECTOR_STORE_REASON
        elif kind == "code_interpreter":
            container = tool.get("container")
            if isinstance(container, dict) and container.get("file_ids"):
                yield f"tools[{i}].container.file_ids", NO_FILES_API
        elif kind == "image_generation":
            mask = tool.get("input_image_mask")
            if isinstance(mask, dict) and mask.get("file_id") is not None:
                yield f"tools[{i}].input_image_mask.file_id", f"{NO_FILES_API}; send the mask as image_url"


# ---------------------------------------------------------------------------- OpenAI Chat


def _chat(body: dict[str, Any]) -> Iterator[Finding]:
    for i, message in json_objects(body.get("messages")):
        for j, part in json_objects(message.get("content")):
            file = part.get("file") if part.get("type") == "file" else None
            if isinstance(file, dict) and file.get("file_id") is not None:
                yield f"messages[{i}].content[{j}].file.file_id", f"{NO_FILES_API}; send file_data instead"


# ---------------------------------------------------------------------------- Anthropic Messages


def _anthropic_blocks(blocks: Any, path: str) -> Iterator[Finding]:
    for j, block in json_objects(blocks):
        source = block.get("source")
        if isinstance(source, dict) and source.get("type") == "file":
            yield f"{path}[{j}].source", f"{NO_FILES_API}; {SEND_FILE_INSTEAD}"
        elif block.get("type") == "container_upload":
            yield f"{path}[{j}]", NO_FILES_API
        elif block.get("type") == "tool_result":
            yield from _anthropic_blocks(block.get("content"), f"{path}[{j}].content")


def _anthropic(body: dict[str, Any]) -> Iterator[Finding]:
    for i, message in json_objects(body.get("messages")):
        yield from _anthropic_blocks(message.get("content"), f"messages[{i}].content")
    container = body.get("container")
    if isinstance(container, dict):
        for k, skill in json_objects(container.get("skills")):
            if skill.get("type") != "anthropic":
                yield f"container.skills[{k}]", CUSTOM_SKILL_REASON


# ---------------------------------------------------------------------------- Gemini


def _gemini_file(part: dict[str, Any], path: str) -> Iterator[Finding]:
    for key in ("fileData", "file_data"):  # the SDKs send either casing
        data = part.get(key)
        if not isinstance(data, dict):
            continue
        uri_key = "fileUri" if "fileUri" in data else "file_uri"
        uri = data.get(uri_key)
        if isinstance(uri, str) and is_gemini_file_uri(uri):
            yield (
                f"{path}.{key}.{uri_key}",
                "Gemini Files API and Cloud Storage URIs are read with the gateway's shared Google "
                f"account, and the gateway has no Files API; {SEND_FILE_INSTEAD}",
            )


def _gemini(body: dict[str, Any]) -> Iterator[Finding]:
    for key in ("cachedContent", "cached_content"):
        if body.get(key):
            yield key, CACHED_CONTENT_REASON
    for i, content in json_objects(body.get("contents")):
        for j, part in json_objects(content.get("parts")):
            yield from _gemini_file(part, f"contents[{i}].parts[{j}]")
            for name in ("functionResponse", "function_response"):
                response = part.get(name)
                if isinstance(response, dict):
                    for k, inner in json_objects(response.get("parts")):
                        yield from _gemini_file(inner, f"contents[{i}].parts[{j}].{name}.parts[{k}]")
    for i, tool in json_objects(body.get("tools")):
        for name in ("fileSearch", "file_search"):
            if name in tool:
                yield f"tools[{i}].{name}", FILE_SEARCH_STORE_REASON


FINDERS: dict[str, Callable[[dict[str, Any]], Iterator[Finding]]] = {
    openai_responses.NAME: _responses,
    openai_chat.NAME: _chat,
    anthropic_messages.NAME: _anthropic,
    gemini.NAME: _gemini,
}
