"""``thinking`` + ``output_config`` (+ legacy ``output_format``) ⇄ canonical reasoning and
response format (protocols.md §1.2, §5.7).

``enabled`` carries a budget, ``adaptive`` lets the model decide (with ``output_config.effort``),
``between_tools`` is Anthropic-only (kept in the extras), ``display`` is ``include_thoughts``.
Budgets from other vendors are fitted to Anthropic's rule (≥ 1024 and < ``max_tokens``), and
each model gets the kind of thinking it takes (`models.thinking_style`): a budget becomes an
effort for models that take adaptive thinking only, an effort a budget for models before 4.6.
"""

from __future__ import annotations

from typing import Any

from bytespike.canonical.degradation import Degradations
from bytespike.canonical.request import Reasoning, Request, ResponseFormat
from bytespike.errors import invalid_request
from bytespike.protocols.anthropic_messages.fields import (
    leftovers,
    opt_int,
    opt_str,
    req_dict,
    with_leftovers,
)
from bytespike.protocols.anthropic_messages.models import thinking_style

MIN_THINKING_BUDGET = 1024
"""``thinking.budget_tokens`` must be ≥ 1024 and < ``max_tokens`` (ThinkingConfigEnabledParam)."""
DISPLAY_FROM_ANTHROPIC = {"summarized": True, "omitted": False}
DISPLAY_TO_ANTHROPIC = {v: k for k, v in DISPLAY_FROM_ANTHROPIC.items()}
EFFORTS = frozenset({"low", "medium", "high", "xhigh", "max"})
"""``output_config.effort`` values (OutputConfigParam)."""
EFFORT_TO_ANTHROPIC = {"minimal": "low"}
"""Nearest Anthropic effort for other vendors' levels (OpenAI ``minimal``)."""
EFFORT_FROM_BUDGET = ((2048, "low"), (16384, "medium"))
"""A budget (tokens) → effort for adaptive-only models: ≤ 2048 low, ≤ 16384 medium, else high
(the buckets of the Responses codec, widened because Anthropic callers budget 10k–32k)."""
BUDGET_FROM_EFFORT = {"low": 1024, "medium": 2048, "high": 4096, "xhigh": 8192, "max": 16384}
"""An effort → budget (tokens) for models before 4.6 (LiteLLM's low/medium/high buckets, doubled
upwards); adaptive thinking without an effort gets ``medium`` (protocols.md §5.7)."""
DEFAULT_ADAPTIVE_EFFORT = "medium"


def decode_output(
    body: dict[str, Any], nested: dict[str, dict[str, Any]], extras: dict[str, Any]
) -> tuple[Reasoning | None, ResponseFormat | None, set[str]]:
    """``thinking`` + ``output_config`` (+ legacy ``output_format``) → (reasoning, format, the
    top-level keys that were mapped); leftovers go to ``nested``, Anthropic-only flags to ``extras``."""
    consumed: set[str] = set()
    config = body.get("output_config")
    effort = fmt = None
    if config is not None:
        if not isinstance(config, dict):
            raise invalid_request("output_config: must be an object", "output_config")
        effort = opt_str(config, "effort", "output_config.effort")
        fmt = config.get("format")
        taken = [key for key, v in (("effort", effort), ("format", fmt)) if v is not None]
        if taken:
            consumed.add("output_config")
            if rest := leftovers(config, taken):
                nested["output_config"] = rest
    legacy = body.get("output_format")
    if legacy is not None:
        if fmt is not None:
            raise invalid_request(
                "output_format: give either output_format or output_config.format", "output_format"
            )
        fmt = legacy
        consumed.add("output_format")
        extras["output_format"] = True
    response_format = None
    if fmt is not None:
        path = "output_format" if legacy is not None else "output_config.format"
        if not isinstance(fmt, dict) or fmt.get("type") != "json_schema":
            raise invalid_request(f"{path}.type: must be json_schema", f"{path}.type")
        response_format = ResponseFormat("json_schema", schema=req_dict(fmt, "schema", path))
        if rest := leftovers(fmt, ("type", "schema")):
            nested["format"] = rest

    thinking = body.get("thinking")
    if thinking is None:
        return (Reasoning(effort=effort) if effort is not None else None), response_format, consumed
    if not isinstance(thinking, dict):
        raise invalid_request("thinking: must be an object", "thinking")
    consumed.add("thinking")
    taken = ["type"]
    display = thinking.get("display")
    include = DISPLAY_FROM_ANTHROPIC.get(display) if isinstance(display, str) else None
    if include is not None and thinking.get("type") != "disabled":
        taken.append("display")
    match thinking.get("type"):
        case "enabled":
            budget = opt_int(thinking, "budget_tokens", "thinking.budget_tokens")
            if budget is None:
                raise invalid_request("thinking.budget_tokens: field required", "thinking.budget_tokens")
            taken.append("budget_tokens")
            reasoning = Reasoning(True, effort, budget, include)
        case "adaptive":
            reasoning = Reasoning(True, effort, None, include)
        case "between_tools":
            extras["thinking_type"] = "between_tools"
            reasoning = Reasoning(True, effort, None, include)
        case "disabled":
            reasoning = Reasoning(False, effort)
        case _:
            raise invalid_request(
                "thinking.type: must be one of enabled, adaptive, disabled, between_tools", "thinking.type"
            )
    if rest := leftovers(thinking, taken):
        nested["thinking"] = rest
    return reasoning, response_format, consumed


def encode_reasoning(
    req: Request, deg: Degradations, ours: dict[str, Any], leftover: dict[str, Any] | None, model: str
) -> tuple[dict[str, Any] | None, str | None]:
    """(``thinking`` object or None, ``output_config.effort`` or None) for the Anthropic ``model``."""
    r = req.reasoning
    if r is None:
        return None, None
    enabled, effort, budget = r.enabled, r.effort, r.budget_tokens
    if effort == "none":
        enabled, effort = False if enabled is None else enabled, None
    if enabled is None and budget is not None:
        enabled = budget > 0
    if effort is not None and effort not in EFFORTS:
        nearest = EFFORT_TO_ANTHROPIC.get(effort)
        deg.drop(
            "output_config.effort",
            f"{effort!r} is not an Anthropic effort" + (f"; sent {nearest!r}" if nearest else ""),
        )
        effort = nearest
    if enabled is None:
        if effort is not None and thinking_style(model) == "budget":
            deg.drop("output_config.effort", f"{model} has no effort setting")
            return None, None
        return None, effort
    style = thinking_style(model)
    if not enabled:
        thinking: dict[str, Any] = {"type": "disabled"}
    elif budget and style == "adaptive":
        # Newer Claude models reject budgets (400): adaptive thinking at the nearest effort.
        effort = effort or next((e for limit, e in EFFORT_FROM_BUDGET if budget <= limit), "high")
        deg.drop("thinking.budget_tokens", f"{model} takes adaptive thinking only; sent effort {effort!r}")
        thinking = {"type": "adaptive"}
    elif budget:
        thinking = {"type": "enabled", "budget_tokens": budget}
    elif ours.get("thinking_type") == "between_tools":
        thinking = {"type": "between_tools"}
    elif style == "budget":
        # Models before 4.6 have no adaptive thinking and no effort: a budget for the effort.
        wanted = effort or DEFAULT_ADAPTIVE_EFFORT
        thinking = {"type": "enabled", "budget_tokens": BUDGET_FROM_EFFORT.get(wanted, BUDGET_FROM_EFFORT["medium"])}
        if effort is not None:
            deg.drop(
                "output_config.effort",
                f"{model} takes a thinking budget, not an effort; sent {thinking['budget_tokens']} tokens",
            )
        effort = None
    else:
        thinking = {"type": "adaptive"}
    if r.include_thoughts is not None and enabled:
        thinking["display"] = DISPLAY_TO_ANTHROPIC[r.include_thoughts]
    return with_leftovers(thinking, leftover), effort


def fit_budget(thinking: dict[str, Any], max_tokens: int | None, default_max: int, deg: Degradations) -> int:
    """Budget ≥ 1024 and < max_tokens, else adaptive thinking; returns the max_tokens to send
    (``budget + default_max`` when the caller gave none)."""
    budget = thinking["budget_tokens"]
    if budget < MIN_THINKING_BUDGET:
        deg.drop("thinking.budget_tokens", f"Anthropic's minimum budget is {MIN_THINKING_BUDGET}; raised")
        budget = MIN_THINKING_BUDGET
    if max_tokens is None:
        max_tokens = budget + default_max
    if budget >= max_tokens:
        if max_tokens - 1 >= MIN_THINKING_BUDGET:
            deg.drop("thinking.budget_tokens", "Anthropic needs a budget below max_tokens; lowered")
            budget = max_tokens - 1
        else:
            deg.drop("thinking.budget_tokens", "max_tokens is too small for a budget; adaptive thinking sent")
            thinking["type"] = "adaptive"
            del thinking["budget_tokens"]
            return max_tokens
    thinking["budget_tokens"] = budget
    return max_tokens


def encode_format(
    rf: ResponseFormat | None, deg: Degradations, leftover: dict[str, Any] | None
) -> dict[str, Any] | None:
    if rf is None or rf.kind == "text":
        return None
    if rf.kind == "json_object" or rf.schema is None:
        # No JSON-object mode at Anthropic; a system-prompt hint would silently change the
        # prompt (and its cache prefix), so the knob is dropped and reported instead.
        deg.drop("response_format", "Anthropic has JSON-schema output only, no JSON-object mode")
        return None
    return with_leftovers({"type": "json_schema", "schema": rf.schema}, leftover)
