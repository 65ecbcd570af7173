"""Proto-JSON field names: Gemini's wire is camelCase, but its parser also accepts snake_case.

The google-genai SDK itself sends a mix (``thinkingConfig: {"thinking_budget": …}``,
``inlineData: {"mime_type": …}``; captured with google-genai 3.3.0, protocols.md §8.2), so every
decoder reads one object level at a time through `camel_keys` and every encoder writes camelCase.
"""

from __future__ import annotations

import re
from typing import Any

_SNAKE = re.compile(r"_([a-z0-9])")


def camel(name: str) -> str:
    """``mime_type`` → ``mimeType``; camelCase names come back unchanged."""
    return _SNAKE.sub(lambda m: m.group(1).upper(), name) if "_" in name else name


def camel_keys(obj: dict[str, Any]) -> dict[str, Any]:
    """One level of a proto-JSON object with its field names in camelCase (values untouched)."""
    for key in obj:
        if "_" in key:
            return {camel(k): value for k, value in obj.items()}
    return obj
