"""Tool-call ids as Anthropic accepts them: ``^[a-zA-Z0-9_-]+$`` (protocols.md §1.3).

Ids issued by other vendors (``functions.Bash:0``, ``call_x|y``, Gemini's missing ids) are
rewritten deterministically, so a ``tool_use`` and the ``tool_result`` answering it still match
after translation (maximhq/bifrost #5097). Valid ids are kept as they are.
"""

from __future__ import annotations

import hashlib
import re

_VALID_ID = re.compile(r"[a-zA-Z0-9_-]{1,128}")
_INVALID_CHARS = re.compile(r"[^a-zA-Z0-9_-]")


def sanitize_tool_id(tool_id: str) -> str:
    """``tool_id`` if Anthropic accepts it, else its valid characters (``_`` for the others)
    plus a short hash of the original, so distinct ids never collide."""
    if _VALID_ID.fullmatch(tool_id):
        return tool_id
    digest = hashlib.sha256(tool_id.encode()).hexdigest()[:12]
    stem = _INVALID_CHARS.sub("_", tool_id)[:64] or "toolu"
    return f"{stem}_{digest}"
