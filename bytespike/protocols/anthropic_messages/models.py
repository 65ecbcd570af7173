"""Which kind of ``thinking`` each Claude model takes, read from its model id (protocols.md §0 #3).

Claude models before 4.6 know only a token budget (``{"type": "enabled", "budget_tokens"}``);
4.6 takes a budget (deprecated) or adaptive thinking with ``output_config.effort``; later models
reject a budget with a 400 and take adaptive thinking only. The rule is a table over the version
in the id (``claude-opus-4-8``, ``claude-sonnet-4-6-20260101``, ``claude-3-7-sonnet-…``), so a
model an operator adds in the config file needs no code; an id that names no Claude version
(DeepSeek's Anthropic-shape endpoint, …) is treated like 4.6, which takes both.
"""

from __future__ import annotations

import re
from typing import Literal

ThinkingStyle = Literal["budget", "both", "adaptive"]
"""``budget``: ``enabled`` only; ``both``: ``enabled`` or ``adaptive``; ``adaptive``: adaptive only."""

THINKING_STYLE_SINCE: tuple[tuple[tuple[int, int], ThinkingStyle], ...] = (
    ((4, 7), "adaptive"),
    ((4, 6), "both"),
    ((0, 0), "budget"),
)
"""(first Claude version, thinking style), newest first: the first row at or below a model's
version applies."""
UNVERSIONED_STYLE: ThinkingStyle = "both"

_VERSION = (
    re.compile(r"claude-(?:opus|sonnet|haiku)-(\d+)(?:[-.](\d{1,2})(?!\d))?"),
    re.compile(r"claude-(\d+)(?:[-.](\d)(?!\d))?-(?:opus|sonnet|haiku)"),
)
"""Current ids put the family first (``claude-opus-4-8``), Claude 3 ids the version first
(``claude-3-7-sonnet-20250219``); a date suffix is not a minor version."""


def claude_version(model: str) -> tuple[int, int] | None:
    for pattern in _VERSION:
        if m := pattern.search(model):
            return int(m.group(1)), int(m.group(2) or 0)
    return None


def thinking_style(model: str) -> ThinkingStyle:
    """What ``thinking`` the Anthropic model ``model`` (the id sent upstream) accepts."""
    version = claude_version(model)
    if version is None:
        return UNVERSIONED_STYLE
    return next(style for since, style in THINKING_STYLE_SINCE if version >= since)
