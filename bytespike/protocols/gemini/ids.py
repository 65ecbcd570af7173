"""Tool-call ids for Gemini function calls that arrive without one.

The Gemini Developer API may omit ``functionCall.id`` (protocols.md §5.5); every other protocol
needs an id to pair a call with its result. The id is derived from where the call sits (its
position in the history, or the response id and call ordinal) and its name, so decoding the
same history twice gives the same ids and a ``functionResponse`` without id pairs with the call
it answers. Derived ids carry `DERIVED_ID_PREFIX` and are never sent to Gemini: encoders omit
them and Gemini pairs calls and results by order and name, as it does for its own id-less calls.
They fit every vendor's id rule (Anthropic ``^[a-zA-Z0-9_-]+$``, OpenAI ≤ 40 characters).
"""

from __future__ import annotations

import hashlib

DERIVED_ID_PREFIX = "gcall_"


def derive_tool_call_id(scope: str, name: str) -> str:
    """A stable id for the function call ``name`` found at ``scope`` (a position description)."""
    digest = hashlib.sha256(f"{scope}\x00{name}".encode()).hexdigest()[:16]
    return DERIVED_ID_PREFIX + digest


def is_derived_id(tool_call_id: str) -> bool:
    return tool_call_id.startswith(DERIVED_ID_PREFIX)


def history_scope(content_index: int, part_index: int) -> str:
    """Scope of a part of ``contents[content_index].parts[part_index]`` in a request."""
    return f"contents[{content_index}].parts[{part_index}]"


def response_scope(response_id: str, call_ordinal: int) -> str:
    """Scope of the ``call_ordinal``-th function call (from 0) of response ``response_id``.

    The ordinal, not the part position, so the streamed and the non-streamed decode agree."""
    return f"{response_id}#{call_ordinal}"
