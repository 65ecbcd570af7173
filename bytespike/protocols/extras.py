"""Which entries of another protocol's ``Request.extras`` are real dropped fields.

Decoders keep two kinds of things in ``extras[<protocol>]``: wire fields the canonical model has
no slot for (``seed``, ``safetySettings``, ``service_tier``, …), which an encoder for another
protocol must report as dropped, and bookkeeping that only lets the same protocol re-encode its
own request byte-exactly (where a string was a list, per-part leftovers, original schemas),
which means nothing to the caller and must not appear in ``X-ByteSpike-Degraded`` or trip
``X-ByteSpike-Strict``. Containers of real fields are expanded to their field names, and
Gemini's per-part leftovers, which hold both, to the wire paths of the real ones.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bytespike.protocols.gemini.contents import PART_EXTRAS, foreign_part_fields

FIELD_CONTAINERS = {
    "openai_chat": frozenset({"fields"}),
    "anthropic_messages": frozenset({"body"}),
}
"""Entries holding top-level wire fields of that protocol: report their keys."""

BOOKKEEPING = {
    "openai_chat": frozenset({"layout"}),
    "anthropic_messages": frozenset(
        {"nested", "part_fields", "tool_fields", "output_format", "thinking_type"}
    ),
    "gemini": frozenset({"functionDeclarations", "toolConfig", "responseSchema"}),
    "openai_responses": frozenset(
        {
            "media_options",
            "tool_output_fields",
            "format_fields",
            "tool_fields",
            "strict_omitted",
            "raw_tool_choice",
            "tool_choice_omitted",
        }
    ),
}
"""Re-encoding aids of that protocol: never reported."""


TRANSPORT = frozenset({"model", "stream", "stream_options"})
"""Carried by the relay itself (the model from the catalogue, streaming mode and the usage chunk
on every route), so never lost in translation."""


def foreign_fields(protocol: str, extras: Mapping[str, Any]) -> list[str]:
    """Names of ``protocol``'s fields in ``extras`` that a different protocol's encoder drops."""
    if protocol == "openai_responses":
        # A Responses caller's extras are refused or reported once, by
        # openai_responses.requests.require_translatable, before any other encoder runs.
        return []
    names: list[str] = []
    containers = FIELD_CONTAINERS.get(protocol, frozenset())
    bookkeeping = BOOKKEEPING.get(protocol, frozenset())
    for key, value in extras.items():
        if value is None or value == {} or value == [] or value == ():
            continue
        if key in containers and isinstance(value, Mapping):
            names.extend(str(k) for k in value if k not in TRANSPORT)
        elif protocol == "openai_chat" and key == "layout":
            # Layout is bookkeeping, except that it alone remembers a custom tool's grammar: a
            # plain function elsewhere accepts any string (protocols.md §5.14).
            for i, tool in enumerate(value.get("tools", ())):
                custom = (
                    tool.get("custom") if isinstance(tool, Mapping) and tool.get("type") == "custom" else None
                )
                fmt = custom.get("format") if isinstance(custom, Mapping) else None
                if isinstance(fmt, Mapping) and fmt.get("type") == "grammar":
                    names.append(f"tools[{i}].custom.format")
        elif protocol == "gemini" and key == PART_EXTRAS:
            # Set-aside part fields: the re-encoding aid of a Gemini upstream, real fields for any
            # other (videoMetadata, mediaResolution, …).
            names.extend(foreign_part_fields(value))
        elif protocol == "anthropic_messages" and key == "server_tools":
            # Anthropic-hosted tools (web_search_…, code_execution_…) run only at Anthropic.
            names.extend(f"tools[{position}]" for position, _ in value)
        elif key not in bookkeeping:
            names.append(key)
    return names
