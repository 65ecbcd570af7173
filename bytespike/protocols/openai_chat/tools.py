"""OpenAI Chat tool definitions and ``tool_choice`` (plus legacy ``functions``/``function_call``).

Function tools map one to one; a ``custom`` (free-form input) tool becomes, for other vendors, a
function with one string parameter ``input`` (protocols.md §2.4), and OpenAI gets the original
back. ``tool_choice`` strings and objects map to `ToolChoice`; an ``allowed_tools`` subset keeps
only its mode canonically. ``parallel_tool_calls`` is `ToolChoice.parallel`. Names are rewritten
by `identifiers.encode_tool_name` where OpenAI would reject them.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, assert_never

from bytespike.canonical.degradation import Degradations
from bytespike.canonical.request import Request, ToolChoice, ToolDefinition
from bytespike.errors import invalid_request
from bytespike.protocols.openai_chat.hosts import Flavor
from bytespike.protocols.openai_chat.identifiers import encode_tool_name
from bytespike.protocols.openai_chat.wire_fields import optional, required

CUSTOM_TOOL_PARAMETERS = {
    "type": "object",
    "properties": {"input": {"type": "string"}},
    "required": ["input"],
}
"""A ``custom`` (free-form input) tool seen by other vendors: one string parameter (protocols.md §2.4)."""


def _function_definition(fn: Any, path: str) -> ToolDefinition:
    if not isinstance(fn, dict):
        raise invalid_request(f"{path}: must be an object", path)
    return ToolDefinition(
        required(fn, "name", str, path),
        description=optional(fn, "description", str, path),
        parameters=optional(fn, "parameters", dict, path),
        strict=optional(fn, "strict", bool, path),
    )


def decode_tools(tools: list[Any]) -> tuple[ToolDefinition, ...]:
    out = []
    for i, tool in enumerate(tools):
        path = f"tools[{i}]"
        kind = tool.get("type") if isinstance(tool, dict) else None
        if kind == "function":
            out.append(_function_definition(tool.get("function"), f"{path}.function"))
        elif kind == "custom":
            custom = tool.get("custom")
            name = required(custom, "name", str, f"{path}.custom")
            description = optional(custom, "description", str, f"{path}.custom")
            out.append(ToolDefinition(name, description, CUSTOM_TOOL_PARAMETERS))
        else:
            raise invalid_request(f"{path}.type: must be function or custom", f"{path}.type")
    return tuple(out)


def decode_functions(functions: Any) -> tuple[ToolDefinition, ...]:
    """Legacy ``functions`` (deprecated in favour of ``tools``)."""
    if not isinstance(functions, list):
        raise invalid_request("functions: must be an array", "functions")
    return tuple(_function_definition(fn, f"functions[{i}]") for i, fn in enumerate(functions))


def decode_tool_choice(choice: Any) -> ToolChoice:
    if choice in ("none", "auto", "required"):
        return ToolChoice(choice)
    kind = choice.get("type") if isinstance(choice, dict) else None
    if kind in ("function", "custom"):
        return ToolChoice("tool", required(choice.get(kind), "name", str, f"tool_choice.{kind}"))
    if kind == "allowed_tools":
        # The subset itself has no canonical field; OpenAI gets the original back.
        allowed = choice.get("allowed_tools")
        mode = allowed.get("mode") if isinstance(allowed, dict) else None
        if mode in ("auto", "required"):
            return ToolChoice(mode)
        raise invalid_request("tool_choice.allowed_tools.mode: must be auto or required", "tool_choice")
    raise invalid_request("tool_choice: must be none, auto, required or a tool object", "tool_choice")


def decode_function_call_choice(choice: Any) -> ToolChoice:
    """Legacy ``function_call``: ``"none"``, ``"auto"`` or ``{"name"}``."""
    if choice in ("none", "auto"):
        return ToolChoice(choice)
    return ToolChoice("tool", required(choice, "name", str, "function_call"))


def decode_tooling(
    body: dict[str, Any], layout: dict[str, Any]
) -> tuple[tuple[ToolDefinition, ...], ToolChoice | None]:
    tools, functions = body.get("tools"), body.get("functions")
    if tools is not None and functions is not None:
        raise invalid_request("functions: cannot be combined with tools", "functions")
    definitions: tuple[ToolDefinition, ...] = ()
    if tools is not None:
        definitions = decode_tools(tools)
        layout["tools"] = tools
    elif functions is not None:
        definitions = decode_functions(functions)
        layout["functions"] = functions
    choice_wire, legacy_wire = body.get("tool_choice"), body.get("function_call")
    if choice_wire is not None and legacy_wire is not None:
        raise invalid_request("function_call: cannot be combined with tool_choice", "function_call")
    choice = None
    if choice_wire is not None:
        choice = decode_tool_choice(choice_wire)
        layout["tool_choice"] = choice_wire
    elif legacy_wire is not None:
        choice = decode_function_call_choice(legacy_wire)
        layout["function_call"] = legacy_wire
    parallel = optional(body, "parallel_tool_calls", bool, "")
    if parallel is not None:
        if choice is None:
            choice = ToolChoice("auto")
            layout["tool_choice_absent"] = True
        choice = replace(choice, parallel=parallel)
    return definitions, choice


def _encode_tool(tool: ToolDefinition, flavor: Flavor, deg: Degradations) -> dict[str, Any]:
    if tool.cache_control is not None:
        deg.drop("cache_control", "OpenAI Chat has no cache_control; its prompt caching is automatic")
    function: dict[str, Any] = {"name": encode_tool_name(tool.name)}
    if tool.description is not None:
        function["description"] = tool.description
    if tool.parameters is not None:
        # Verbatim: never let a tool's own "type" leak into the schema (BerriAI/litellm #30557).
        function["parameters"] = tool.parameters
    if tool.strict is not None:
        if flavor == "openai":
            function["strict"] = tool.strict
        elif tool.strict:
            deg.drop("tools.strict", "DeepSeek offers strict function calling only on its beta endpoint")
    return {"type": "function", "function": function}


def _check_custom_formats(layout: dict[str, Any], tools: tuple[ToolDefinition, ...]) -> None:
    """A custom tool with a grammar cannot be a plain function elsewhere (protocols.md §5.14)."""
    names = {t.name for t in tools}
    for i, tool in enumerate(layout.get("tools", [])):
        custom = tool.get("custom") if tool.get("type") == "custom" else None
        if isinstance(custom, dict) and custom.get("name") in names:
            fmt = custom.get("format")
            if isinstance(fmt, dict) and fmt.get("type") == "grammar":
                raise invalid_request(
                    f"tools[{i}].custom.format: a grammar-constrained tool needs OpenAI",
                    f"tools[{i}].custom.format",
                )


def _encode_tool_choice(choice: ToolChoice, legacy: bool) -> Any:
    match choice.mode:
        case "auto" | "none" | "required":
            return choice.mode
        case "tool":
            name = encode_tool_name(choice.name or "")
            return {"name": name} if legacy else {"type": "function", "function": {"name": name}}
        case _:
            assert_never(choice.mode)


def encode_tooling(
    body: dict[str, Any], req: Request, layout: dict[str, Any], flavor: Flavor, deg: Degradations
) -> None:
    native = flavor == "openai"
    legacy = native and "functions" in layout and decode_functions(layout["functions"]) == req.tools
    if legacy:
        body["functions"] = layout["functions"]
    elif native and "tools" in layout and req.tools and decode_tools(layout["tools"]) == req.tools:
        body["tools"] = layout["tools"]
    elif req.tools:
        if not native:
            _check_custom_formats(layout, req.tools)
        body["tools"] = [_encode_tool(t, flavor, deg) for t in req.tools]
    choice = req.tool_choice
    if choice is None:
        return
    if not req.tools:
        # tool_choice/parallel_tool_calls are rejected without tools; with none nothing can be called.
        if choice.mode in ("required", "tool"):
            deg.drop("tool_choice", "no tools were given to choose from")
        return
    original = layout.get("function_call" if legacy else "tool_choice")
    decode = decode_function_call_choice if legacy else decode_tool_choice
    key = "function_call" if legacy else "tool_choice"
    if native and original is not None and replace(decode(original), parallel=choice.parallel) == choice:
        body[key] = original
    elif legacy and choice.mode == "required":
        deg.drop("tool_choice", "legacy function_call cannot require a call")
    elif not (layout.get("tool_choice_absent") and choice.mode == "auto"):
        body[key] = _encode_tool_choice(choice, legacy)
    if choice.parallel is not None:
        if native:
            body["parallel_tool_calls"] = choice.parallel
        elif not choice.parallel:
            deg.drop("parallel_tool_calls", "DeepSeek has no switch for parallel tool calls")
