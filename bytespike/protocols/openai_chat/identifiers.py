"""Tool names and tool-call ids as OpenAI accepts them, rewritten the same way every time.

OpenAI function names must match ``^[a-zA-Z0-9_-]{1,64}$`` (protocols.md §2.4) and tool-call ids
longer than 40 characters are rejected; Gemini names may hold ``.``/``:`` and Anthropic names run
to 128 characters, and ids may carry a smuggled Gemini signature (§5.5). A name or id that does
not fit is replaced by a readable prefix plus a hash of the original, so a call, its result and
``tool_choice`` keep matching, and `tool_name_map` lets the response side restore the original.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable

TOOL_NAME = re.compile(r"[a-zA-Z0-9_-]{1,64}")
TOOL_CALL_ID = re.compile(r"[a-zA-Z0-9_-]{1,40}")
# "Invalid 'messages[1].tool_calls[0].id': string too long. Expected a string with maximum
# length 40" (OpenAI API); the character set is what every OpenAI-compatible host accepts.
_NOT_NAME_CHAR = re.compile(r"[^a-zA-Z0-9_-]")


def _digest(value: str, length: int) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:length]


def encode_tool_name(name: str) -> str:
    """``name`` if OpenAI accepts it, else a 55-character sanitized prefix + ``_`` + 8 hex digits
    of its SHA-256 (the scheme LiteLLM uses, protocols.md §5.3)."""
    if TOOL_NAME.fullmatch(name):
        return name
    return f"{_NOT_NAME_CHAR.sub('_', name)[:55]}_{_digest(name, 8)}"


def encode_tool_call_id(call_id: str) -> str:
    """``call_id`` if OpenAI accepts it, else ``call_`` + 32 hex digits of its SHA-256."""
    if TOOL_CALL_ID.fullmatch(call_id):
        return call_id
    return f"call_{_digest(call_id, 32)}"


def tool_name_map(names: Iterable[str]) -> dict[str, str]:
    """{name on the wire: original name} for every name `encode_tool_name` had to rewrite."""
    return {wire: name for name in names if (wire := encode_tool_name(name)) != name}
