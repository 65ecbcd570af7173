"""One assistant ``tool_calls[]`` entry (or legacy ``function_call``) ↔ a canonical `ToolCallPart`.

Used for request history and for responses, which share the shape. Arguments are a JSON *string*
on the wire and an object in the canonical model (protocols.md §5.5): a string that is not a JSON
object (truncated by ``length``) becomes ``{"_raw": "<string>"}`` rather than a silent ``{}``. The
exact wire string is kept in ``provider_data`` when re-serializing would change it, as are a
``custom`` tool call's kind and extra keys such as a Gemini-compat ``extra_content``, so an
OpenAI Chat round trip gives the same bytes back.
"""

from __future__ import annotations

from typing import Any

import orjson

from bytespike.canonical.parts import ProviderData, ToolCallPart
from bytespike.protocols.openai_chat import NAME
from bytespike.protocols.openai_chat.wire_fields import Fail, required


def decode_arguments(raw: str) -> tuple[dict[str, Any], str | None]:
    """(arguments object, the raw string when it must be kept to reproduce the wire exactly)."""
    try:
        parsed = orjson.loads(raw) if raw else {}
    except orjson.JSONDecodeError:
        return {"_raw": raw}, raw
    if not isinstance(parsed, dict):
        return {"_raw": raw}, raw
    return parsed, (None if orjson.dumps(parsed).decode() == raw else raw)


def decode_tool_call(call: Any, path: str, fail: Fail) -> ToolCallPart:
    """A ``{"id", "type": "function"|"custom", …}`` entry."""
    if not isinstance(call, dict):
        raise fail(f"{path}: must be an object", path)
    call_id = required(call, "id", str, path, fail)
    data: dict[str, Any] = {}
    match call.get("type", "function"):
        case "function":
            function = required(call, "function", dict, path, fail)
            name = required(function, "name", str, f"{path}.function", fail)
            arguments, raw = decode_arguments(required(function, "arguments", str, f"{path}.function", fail))
            if raw is not None:
                data["arguments"] = raw
        case "custom":
            custom = required(call, "custom", dict, path, fail)
            name = required(custom, "name", str, f"{path}.custom", fail)
            arguments = {"input": required(custom, "input", str, f"{path}.custom", fail)}
            data["type"] = "custom"
        case other:
            raise fail(f"{path}.type: must be function or custom, not {other!r}", f"{path}.type")
    if extra := {k: v for k, v in call.items() if k not in ("id", "type", "function", "custom")}:
        data["extra"] = extra
    return ToolCallPart(call_id, name, arguments, ProviderData(NAME, data) if data else None)


def decode_function_call(call: Any, call_id: str, path: str, fail: Fail) -> ToolCallPart:
    """A legacy assistant ``function_call {name, arguments}``; it has no id, so one is given."""
    if not isinstance(call, dict):
        raise fail(f"{path}: must be an object", path)
    name = required(call, "name", str, path, fail)
    arguments, raw = decode_arguments(required(call, "arguments", str, path, fail))
    data: dict[str, Any] = {"legacy": True} | ({"arguments": raw} if raw is not None else {})
    return ToolCallPart(call_id, name, arguments, ProviderData(NAME, data))


def wire_data(part: ToolCallPart) -> dict[str, Any]:
    """The OpenAI Chat wire details kept on ``part`` (empty when it came from another protocol)."""
    pd = part.provider_data
    return pd.data if pd is not None and pd.protocol == NAME else {}


def arguments_json(part: ToolCallPart) -> str:
    """The arguments string: the original wire text when it still means ``part.arguments``."""
    raw = wire_data(part).get("arguments")
    if isinstance(raw, str) and decode_arguments(raw)[0] == part.arguments:
        return raw
    return orjson.dumps(part.arguments).decode()


def is_custom(part: ToolCallPart) -> bool:
    """A call of a ``custom`` (free-form input) tool that can still be written as one."""
    return (
        wire_data(part).get("type") == "custom"
        and set(part.arguments) == {"input"}
        and isinstance(part.arguments["input"], str)
    )


def encode_tool_call(part: ToolCallPart, *, name: str, call_id: str, native: bool) -> dict[str, Any]:
    """A ``tool_calls[]`` entry; ``native`` keeps OpenAI-only forms (custom calls, extra keys)."""
    if native and is_custom(part):
        return {
            "id": call_id,
            "type": "custom",
            "custom": {"name": name, "input": part.arguments["input"]},
        } | (wire_data(part).get("extra", {}))
    wire = {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments_json(part)}}
    return wire | (wire_data(part).get("extra", {}) if native else {})
