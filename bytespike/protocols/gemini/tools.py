"""``tools`` / ``toolConfig`` ↔ canonical tool definitions and tool choice (protocols.md §5.3, §5.4).

Function declarations become `ToolDefinition`s with a JSON-Schema ``parameters`` (``parameters``
in Gemini's OpenAPI dialect is converted, `schema`); other tool kinds (``googleSearch``,
``codeExecution``, ``urlContext``…) stay verbatim in ``Request.extras["gemini"]["tools"]``.
A JSON Schema is always sent as ``parametersJsonSchema`` so no keyword is lost (§4.2); a
declaration that arrived with ``parameters`` gets it back unchanged while its schema is unchanged.
"""

from __future__ import annotations

import re
from typing import Any

from bytespike.canonical.degradation import Degradations
from bytespike.canonical.request import ToolChoice, ToolDefinition
from bytespike.errors import invalid_request
from bytespike.protocols.gemini.casing import camel_keys
from bytespike.protocols.gemini.schema import openapi_to_json_schema

FUNCTION_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.:-]{0,127}")
"""Gemini function names: start with a letter or ``_``; letters, digits, ``_ . : -``; ≤ 128 (§4.2)."""

MODE_FROM_TOOL_CHOICE = {"auto": "AUTO", "none": "NONE", "required": "ANY", "tool": "ANY"}

_DECLARATION_FIELDS = ("name", "description", "parameters", "parametersJsonSchema")


def decode_tools(
    raw: Any,
) -> tuple[tuple[ToolDefinition, ...], list[dict[str, Any]], dict[str, dict[str, Any]]]:
    """(function declarations, other Tool objects, per-declaration fields with no canonical slot —
    including the original OpenAPI ``parameters``)."""
    if not isinstance(raw, list):
        raise invalid_request("tools: must be an array", "tools")
    definitions: list[ToolDefinition] = []
    others: list[dict[str, Any]] = []
    declaration_extras: dict[str, dict[str, Any]] = {}
    for i, tool in enumerate(raw):
        if not isinstance(tool, dict):
            raise invalid_request(f"tools[{i}]: must be an object", f"tools[{i}]")
        tool = camel_keys(tool)
        rest = {key: value for key, value in tool.items() if key != "functionDeclarations"}
        if rest:
            others.append(rest)
        declarations = tool.get("functionDeclarations")
        if declarations is None:
            continue
        if not isinstance(declarations, list):
            path = f"tools[{i}].functionDeclarations"
            raise invalid_request(f"{path}: must be an array", path)
        for k, declaration in enumerate(declarations):
            definition, extra = _decode_declaration(declaration, f"tools[{i}].functionDeclarations[{k}]")
            definitions.append(definition)
            if extra:
                declaration_extras[definition.name] = extra
    return tuple(definitions), others, declaration_extras


def _decode_declaration(raw: Any, path: str) -> tuple[ToolDefinition, dict[str, Any]]:
    if not isinstance(raw, dict):
        raise invalid_request(f"{path}: must be an object", path)
    raw = camel_keys(raw)
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        raise invalid_request(f"{path}.name: field required (string)", f"{path}.name")
    description = raw.get("description")
    if description is not None and not isinstance(description, str):
        raise invalid_request(f"{path}.description: must be a string", f"{path}.description")
    openapi, json_schema = raw.get("parameters"), raw.get("parametersJsonSchema")
    if openapi is not None and json_schema is not None:
        bad = f"{path}.parametersJsonSchema"
        raise invalid_request(f"{bad}: set only one of parameters and parametersJsonSchema", bad)
    for key, value in (("parameters", openapi), ("parametersJsonSchema", json_schema)):
        if value is not None and not isinstance(value, dict):
            raise invalid_request(f"{path}.{key}: must be an object", f"{path}.{key}")
    schema = json_schema if json_schema is not None else openapi_to_json_schema(openapi)
    extra = {key: value for key, value in raw.items() if key not in _DECLARATION_FIELDS}
    if openapi is not None:
        extra["parameters"] = openapi
    return ToolDefinition(name, description, schema), extra


def encode_tools(
    tools: tuple[ToolDefinition, ...], gemini_extras: dict[str, Any], deg: Degradations
) -> list[dict[str, Any]]:
    declaration_extras = gemini_extras.get("functionDeclarations") or {}
    declarations = []
    for i, tool in enumerate(tools):
        path = f"tools[{i}]"
        if not FUNCTION_NAME.fullmatch(tool.name):
            # Renaming would need a reverse map across requests; a clear 400 instead.
            raise invalid_request(
                f"{path}.name: {tool.name!r} is not a valid Gemini function name (letters, digits, "
                "_ . : -, starting with a letter or _, at most 128 characters)",
                f"{path}.name",
            )
        declaration: dict[str, Any] = {"name": tool.name}
        if tool.description is not None:
            declaration["description"] = tool.description
        extra = dict(declaration_extras.get(tool.name) or {})
        original = extra.pop("parameters", None)
        if tool.parameters is not None:
            if original is not None and openapi_to_json_schema(original) == tool.parameters:
                declaration["parameters"] = original
            else:
                declaration["parametersJsonSchema"] = tool.parameters
        declaration.update(extra)
        if tool.strict:
            deg.drop(f"{path}.strict", "Gemini function declarations have no strict flag")
        if tool.cache_control is not None:
            deg.drop(f"{path}.cache_control", "Gemini has no prompt-cache breakpoints")
        declarations.append(declaration)
    out: list[dict[str, Any]] = [{"functionDeclarations": declarations}] if declarations else []
    return out + list(gemini_extras.get("tools") or [])


def decode_tool_config(raw: Any) -> tuple[ToolChoice | None, dict[str, Any] | None]:
    """(tool choice, the original ``toolConfig`` when the tool choice cannot say all of it —
    ``allowedFunctionNames`` subsets, ``VALIDATED``, ``retrievalConfig``…)."""
    if not isinstance(raw, dict):
        raise invalid_request("toolConfig: must be an object", "toolConfig")
    raw = camel_keys(raw)
    calling = raw.get("functionCallingConfig")
    choice = None
    if calling is not None:
        path = "toolConfig.functionCallingConfig"
        if not isinstance(calling, dict):
            raise invalid_request(f"{path}: must be an object", path)
        calling = camel_keys(calling)
        mode = calling.get("mode", "MODE_UNSPECIFIED")
        names = calling.get("allowedFunctionNames")
        if names is not None and (not isinstance(names, list) or not all(isinstance(n, str) for n in names)):
            bad = f"{path}.allowedFunctionNames"
            raise invalid_request(f"{bad}: must be an array of strings", bad)
        match mode:
            case "AUTO" | "VALIDATED" | "MODE_UNSPECIFIED":
                choice = ToolChoice("auto")
            case "NONE":
                choice = ToolChoice("none")
            case "ANY" if names is not None and len(names) == 1:
                choice = ToolChoice("tool", names[0])
            case "ANY":
                choice = ToolChoice("required")
            case _:
                raise invalid_request(f"{path}.mode: must be AUTO, ANY, NONE or VALIDATED", f"{path}.mode")
        raw = {**raw, "functionCallingConfig": calling}
    exact = choice is not None and raw == {"functionCallingConfig": _calling_config(choice)}
    return choice, None if exact else raw


def _calling_config(choice: ToolChoice) -> dict[str, Any]:
    calling: dict[str, Any] = {"mode": MODE_FROM_TOOL_CHOICE[choice.mode]}
    if choice.mode == "tool" and choice.name is not None:
        calling["allowedFunctionNames"] = [choice.name]
    return calling


def encode_tool_config(
    choice: ToolChoice | None, original: dict[str, Any] | None, has_tools: bool, deg: Degradations
) -> dict[str, Any] | None:
    if original is not None:
        if decode_tool_config(original)[0] == choice:
            return original
        deg.drop("toolConfig", "the Gemini toolConfig no longer matches the tool choice")
    if choice is None:
        return None
    if choice.parallel is False:
        deg.drop("tool_choice.parallel", "Gemini has no switch for parallel function calls")
    if not has_tools:
        if choice.mode in ("required", "tool"):
            deg.drop("tool_choice", "there are no function declarations to call")
        return None
    return {"functionCallingConfig": _calling_config(choice)}
