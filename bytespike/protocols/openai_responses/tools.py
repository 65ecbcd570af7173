"""Function tools, ``tool_choice`` and the name/id rules of the Responses wire (protocols.md §3.1, §5.3–5.5).

Responses tools are flat (``{"type":"function","name","parameters","strict"}``). Hosted tools
(``web_search``, ``file_search``, ``mcp``, …) have no canonical form: they stay verbatim in the
request's extras with their position. Tool names must match ``^[A-Za-z0-9_-]{1,64}$``; other
vendors allow more (Anthropic 128 chars, Gemini ``.`` and ``:``), so names are rewritten
deterministically and `tool_name_map` gives the way back for the response.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from bytespike.canonical.degradation import Degradations
from bytespike.canonical.request import Request, ToolChoice, ToolDefinition
from bytespike.errors import invalid_request

HOSTED_TOOLS = "hosted_tools"
"""Extras key: ``[[index, tool], …]`` of the non-function tools, in wire order."""
TOOL_FIELDS = "tool_fields"
"""Extras key: tool name → the function tool's fields ToolDefinition has no slot for."""
STRICT_OMITTED = "strict_omitted"
"""Extras key: names of function tools sent without ``strict``."""
RAW_TOOL_CHOICE = "raw_tool_choice"
"""Extras key: a ``tool_choice`` the canonical `ToolChoice` cannot express (allowed_tools, hosted)."""
TOOL_CHOICE_OMITTED = "tool_choice_omitted"
"""Extras key: True when only ``parallel_tool_calls`` was given (canonical keeps it in ToolChoice)."""

TOOL_CHOICE_MODES = frozenset({"none", "auto", "required"})
_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
_NAME_CHAR = re.compile(r"[^A-Za-z0-9_-]")
_CALL_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_FUNCTION_KEYS = ("type", "name", "description", "parameters", "strict")


def wire_tool_name(name: str) -> str:
    """``name`` if the wire accepts it, else a sanitized, hash-suffixed stand-in (LiteLLM's
    55-char-prefix + 8-hex scheme, protocols.md §5.3); deterministic so definitions, forced
    choices and replayed calls agree."""
    if _NAME.fullmatch(name):
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{_NAME_CHAR.sub('_', name)[:55]}_{digest}"


def wire_call_id(call_id: str) -> str:
    """A call id safe on the wire; foreign ids outside ``[A-Za-z0-9_-]{1,64}`` are hashed the same
    way for the call and its result, so they keep pairing (maximhq/bifrost #5097)."""
    if _CALL_ID.fullmatch(call_id):
        return call_id
    return "call_" + hashlib.sha256(call_id.encode()).hexdigest()[:24]


def tool_name_map(req: Request) -> dict[str, str]:
    """Wire name → canonical name for every tool name `encode_request` had to rewrite; pass it to
    `decode_response` / `StreamDecoder` so the caller sees its own names again."""
    names = {t.name for t in req.tools}
    if req.tool_choice is not None and req.tool_choice.name:
        names.add(req.tool_choice.name)
    return {wire_tool_name(n): n for n in names if wire_tool_name(n) != n}


def decode_tools(raw: list[Any] | None, extras: dict[str, Any]) -> tuple[ToolDefinition, ...]:
    """Function tools of a shape-checked ``tools`` array; hosted ones go to ``extras``."""
    if raw is None:
        return ()
    tools: list[ToolDefinition] = []
    hosted: list[list[Any]] = []
    fields: dict[str, dict[str, Any]] = {}
    strict_omitted: list[str] = []
    for i, tool in enumerate(raw):
        path = f"tools[{i}]"
        if not isinstance(tool, dict) or not isinstance(tool.get("type"), str):
            raise invalid_request(f"{path}: must be an object with a type", path)
        if tool["type"] != "function":
            hosted.append([i, tool])
            continue
        name = tool.get("name")
        if not isinstance(name, str) or not name:
            raise invalid_request(f"{path}.name: field required (string)", f"{path}.name")
        params = tool.get("parameters")
        if params is not None and not isinstance(params, dict):
            raise invalid_request(f"{path}.parameters: must be a JSON Schema object", f"{path}.parameters")
        strict = tool.get("strict")
        if strict is not None and not isinstance(strict, bool):
            raise invalid_request(f"{path}.strict: must be a boolean", f"{path}.strict")
        description = tool.get("description")
        if description is not None and not isinstance(description, str):
            raise invalid_request(f"{path}.description: must be a string", f"{path}.description")
        if "strict" not in tool:
            # Omitted strict means "normalize to strict" on Responses, unlike Chat (OpenAI
            # function-calling guide); remember it so a round trip keeps that meaning.
            strict_omitted.append(name)
        rest = {k: v for k, v in tool.items() if k not in _FUNCTION_KEYS}
        if rest:
            fields[name] = rest
        tools.append(ToolDefinition(name, description, params, strict))
    for key, value in ((HOSTED_TOOLS, hosted), (TOOL_FIELDS, fields), (STRICT_OMITTED, strict_omitted)):
        if value:
            extras[key] = value
    return tuple(tools)


def encode_tools(req: Request, extras: dict[str, Any], deg: Degradations) -> list[dict[str, Any]]:
    fields = extras.get(TOOL_FIELDS, {})
    strict_omitted = set(extras.get(STRICT_OMITTED, ()))
    out: list[dict[str, Any]] = []
    for i, td in enumerate(req.tools):
        tool: dict[str, Any] = {"type": "function", "name": wire_tool_name(td.name)}
        if td.description is not None:
            tool["description"] = td.description
        tool["parameters"] = td.parameters  # required (nullable) by FunctionToolParam
        if td.strict is not None:
            tool["strict"] = td.strict
        elif td.name not in strict_omitted:
            # Another protocol's tool: without an explicit false Responses would rewrite its
            # schema into strict mode and make optional arguments mandatory.
            tool["strict"] = False
        tool.update(fields.get(td.name, {}))
        if td.cache_control is not None:
            deg.drop(f"tools[{i}].cache_control", "OpenAI Responses has no cache_control breakpoints")
        out.append(tool)
    for index, tool in extras.get(HOSTED_TOOLS, ()):
        out.insert(min(index, len(out)), tool)
    return out


def decode_tool_choice(body: dict[str, Any], extras: dict[str, Any]) -> ToolChoice | None:
    raw, parallel = body.get("tool_choice"), body.get("parallel_tool_calls")
    if parallel is not None and not isinstance(parallel, bool):
        raise invalid_request("parallel_tool_calls: must be a boolean", "parallel_tool_calls")
    if raw is None:
        if parallel is None:
            return None
        extras[TOOL_CHOICE_OMITTED] = True
        return ToolChoice("auto", parallel=parallel)
    if isinstance(raw, str):
        if raw not in TOOL_CHOICE_MODES:
            raise invalid_request("tool_choice: must be none, auto, required or an object", "tool_choice")
        return ToolChoice(raw, parallel=parallel)  # type: ignore[arg-type]
    if not isinstance(raw, dict) or not isinstance(raw.get("type"), str):
        raise invalid_request("tool_choice: must be a string or an object with a type", "tool_choice")
    if raw["type"] == "function":
        if not isinstance(raw.get("name"), str):
            raise invalid_request("tool_choice.name: field required (string)", "tool_choice.name")
        return ToolChoice("tool", raw["name"], parallel)
    extras[RAW_TOOL_CHOICE] = raw
    mode = raw.get("mode") if raw["type"] == "allowed_tools" else None
    return ToolChoice(mode if mode in TOOL_CHOICE_MODES else "auto", parallel=parallel)  # type: ignore[arg-type]


def encode_tool_choice(choice: ToolChoice, extras: dict[str, Any], body: dict[str, Any]) -> None:
    if choice.parallel is not None:
        body["parallel_tool_calls"] = choice.parallel
    if extras.get(TOOL_CHOICE_OMITTED):
        return
    if RAW_TOOL_CHOICE in extras:
        body["tool_choice"] = extras[RAW_TOOL_CHOICE]
    elif choice.mode == "tool" and choice.name:
        body["tool_choice"] = {"type": "function", "name": wire_tool_name(choice.name)}
    else:
        body["tool_choice"] = "required" if choice.mode == "tool" else choice.mode
