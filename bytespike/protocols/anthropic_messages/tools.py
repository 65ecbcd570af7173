"""Tool definitions and ``tool_choice`` ⇄ canonical (protocols.md §1.4, §5.3, §5.4).

Client tools map to `ToolDefinition`s; versioned server tools (``web_search_20250305``, …) have no
canonical form and ride in the request extras as ``[position, tool]`` pairs. Parameter schemas
are made acceptable to Anthropic: an object schema (``{"type": "object", "properties": {}}`` when
a tool takes nothing), and no top-level ``oneOf``/``anyOf``/``allOf`` (aliargun/mcp-server-gemini
#8): such branches are merged into one object and the merge is reported.
"""

from __future__ import annotations

import re
from typing import Any

from bytespike.canonical.degradation import Degradations
from bytespike.canonical.request import ToolChoice, ToolDefinition
from bytespike.errors import invalid_request
from bytespike.protocols.anthropic_messages.blocks import decode_cache_control, encode_cache_control
from bytespike.protocols.anthropic_messages.fields import (
    leftovers,
    opt_bool,
    opt_str,
    req_dict,
    req_str,
    with_leftovers,
)

TOOL_CHOICE_FROM_ANTHROPIC = {"auto": "auto", "any": "required", "tool": "tool", "none": "none"}
TOOL_CHOICE_TO_ANTHROPIC = {v: k for k, v in TOOL_CHOICE_FROM_ANTHROPIC.items()}
_TOOL_NAME = re.compile(r"[a-zA-Z0-9_-]{1,128}")
COMBINATORS = ("allOf", "anyOf", "oneOf")


def input_schema(parameters: dict[str, Any] | None, path: str, deg: Degradations) -> dict[str, Any]:
    if parameters is None:
        return {"type": "object", "properties": {}}
    if not any(kw in parameters for kw in COMBINATORS) and "type" in parameters:
        if parameters["type"] != "object":
            raise invalid_request(
                f"{path}.parameters: Anthropic needs an object schema", f"{path}.parameters"
            )
        return parameters
    schema = dict(parameters)
    if schema.setdefault("type", "object") != "object":
        raise invalid_request(f"{path}.parameters: Anthropic needs an object schema", f"{path}.parameters")
    properties = dict(schema.get("properties") or {})
    required = list(schema.get("required") or [])
    for kw in COMBINATORS:
        if kw not in schema:
            continue
        branches = [b for b in schema.pop(kw) if isinstance(b, dict)]
        branch_required = [set(b.get("required") or ()) for b in branches]
        for b in branches:
            properties.update(b.get("properties") or {})
        if kw == "allOf":
            required += [name for req in branch_required for name in sorted(req)]
        elif branch_required:
            required += sorted(set.intersection(*branch_required))
        deg.drop(f"{path}.input_schema.{kw}", "Anthropic rejects a top-level combinator; branches merged")
    schema["properties"] = properties
    if required:
        schema["required"] = list(dict.fromkeys(required))
    return schema


def decode_tools(
    raw: list[Any],
) -> tuple[tuple[ToolDefinition, ...], list[list[Any]], dict[str, dict[str, Any]]]:
    tools: list[ToolDefinition] = []
    server_tools: list[list[Any]] = []
    tool_fields: dict[str, dict[str, Any]] = {}
    for k, t in enumerate(raw):
        path = f"tools[{k}]"
        if not isinstance(t, dict):
            raise invalid_request(f"{path}: must be an object", path)
        if t.get("type") not in (None, "custom"):
            # Versioned server tools (web_search_20250305, bash_20250124, …): Anthropic-only.
            server_tools.append([k, t])
            continue
        name = req_str(t, "name", path)
        schema = req_dict(t, "input_schema", path)
        description = opt_str(t, "description", f"{path}.description")
        strict = opt_bool(t, "strict", f"{path}.strict")
        cc = decode_cache_control(t.get("cache_control"), f"{path}.cache_control")
        consumed = ["name", "input_schema"]
        consumed += [
            key
            for key, v in (("description", description), ("strict", strict), ("cache_control", cc))
            if v is not None
        ]
        if rest := leftovers(t, consumed):
            tool_fields[name] = rest
        tools.append(ToolDefinition(name, description, schema, strict, cc))
    return tuple(tools), server_tools, tool_fields


def decode_tool_choice(tc: Any, nested: dict[str, dict[str, Any]]) -> ToolChoice | None:
    if tc is None:
        return None
    if not isinstance(tc, dict) or tc.get("type") not in TOOL_CHOICE_FROM_ANTHROPIC:
        raise invalid_request("tool_choice.type: must be one of auto, any, tool, none", "tool_choice.type")
    consumed = ["type"]
    name = None
    if tc["type"] == "tool":
        name = req_str(tc, "name", "tool_choice")
        consumed.append("name")
    disable = opt_bool(tc, "disable_parallel_tool_use", "tool_choice.disable_parallel_tool_use")
    if disable is not None:
        consumed.append("disable_parallel_tool_use")
    if rest := leftovers(tc, consumed):
        nested["tool_choice"] = rest
    parallel = None if disable is None else not disable
    return ToolChoice(TOOL_CHOICE_FROM_ANTHROPIC[tc["type"]], name, parallel)


def encode_tools(
    tools: tuple[ToolDefinition, ...], deg: Degradations, fields: dict[str, dict[str, Any]]
) -> list[dict[str, Any]]:
    out = []
    for k, t in enumerate(tools):
        path = f"tools[{k}]"
        if not _TOOL_NAME.fullmatch(t.name):
            # home-assistant/core #147760: Anthropic's tool-name regex and 128-char limit.
            raise invalid_request(
                f"{path}.name: Anthropic tool names must match ^[a-zA-Z0-9_-]{{1,128}}$, got {t.name!r}",
                f"{path}.name",
            )
        tool: dict[str, Any] = {"name": t.name, "input_schema": input_schema(t.parameters, path, deg)}
        if t.description is not None:
            tool["description"] = t.description
        if t.strict is not None:
            tool["strict"] = t.strict
        if t.cache_control is not None:
            tool["cache_control"] = encode_cache_control(t.cache_control, f"{path}.cache_control", deg)
        out.append(with_leftovers(tool, fields.get(t.name)))
    return out


def encode_tool_choice(
    tc: ToolChoice | None, has_tools: bool, thinking_on: bool, deg: Degradations
) -> dict[str, Any] | None:
    if tc is None:
        return None
    if not has_tools:
        if tc.mode in ("required", "tool"):
            deg.drop("tool_choice", "there are no tools to force")
        return None
    mode = tc.mode
    if thinking_on and mode in ("required", "tool"):
        # Anthropic forbids forced tool use with thinking (protocols.md §5.4): downgrade.
        deg.drop("tool_choice", "Anthropic cannot force a tool while thinking; sent auto")
        mode = "auto"
    out: dict[str, Any] = {"type": TOOL_CHOICE_TO_ANTHROPIC[mode]}
    if mode == "tool":
        if not tc.name:
            raise invalid_request("tool_choice.name: required to force a tool", "tool_choice.name")
        out["name"] = tc.name
    if tc.parallel is not None and mode != "none":
        out["disable_parallel_tool_use"] = not tc.parallel
    return out
