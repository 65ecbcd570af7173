"""Input items ↔ canonical messages (protocols.md §3.1, §5.1, §5.5, §5.7).

A Responses ``input`` is a flat list of items; the canonical model has turns. Decoding groups
them: every ``message`` item opens a turn (an assistant message joins the assistant turn in
progress while that turn has no text yet, e.g. after a ``reasoning`` item); ``function_call``,
``reasoning`` and hosted-tool call items join the assistant turn; consecutive
``function_call_output`` items share one user turn. System/developer messages before the first
other item go to `Request.system` (tagged so they come back as messages, not ``instructions``).
Encoding walks each turn's parts in order, so item order survives a round trip.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, assert_never

import orjson

from bytespike.canonical.degradation import Degradations
from bytespike.canonical.parts import (
    MediaPart,
    OpaquePart,
    Part,
    TextPart,
    ThinkingPart,
    ToolCallPart,
    ToolResultPart,
)
from bytespike.canonical.request import Message, Request, Role
from bytespike.errors import invalid_request
from bytespike.protocols.openai_responses import NAME
from bytespike.protocols.openai_responses.content import MediaOptions, decode_content, encode_content
from bytespike.protocols.openai_responses.provider_data import own, tag
from bytespike.protocols.openai_responses.tools import wire_call_id, wire_tool_name

ToolOutputFields = dict[str, dict[str, Any]]
"""call_id → the fields of its ``function_call_output`` ToolResultPart has no slot for."""

ContentPart = TextPart | MediaPart | OpaquePart
"""A part that lives inside a message item (an OpaquePart only when it is our own content)."""


ROLES = frozenset({"user", "assistant", "system", "developer"})
USER_SIDE_SUFFIXES = ("_output", "_response")
"""Hosted-tool items the caller sends (``computer_call_output``, ``mcp_approval_response``…)."""
ERROR_PREFIX = "Error: "
"""Responses has no ``is_error`` on a tool result (protocols.md §5.5): the text says it instead."""


def decode_arguments(raw: str) -> tuple[dict[str, Any], bool]:
    """(arguments object, whether ``raw`` must be kept to be re-emitted byte for byte).

    Arguments that are not a JSON object (e.g. truncated by max tokens) become ``{"_raw": raw}``
    rather than a silent ``{}`` (protocols.md §5.5)."""
    try:
        value = orjson.loads(raw) if raw else {}
    except orjson.JSONDecodeError:
        return {"_raw": raw}, True
    if not isinstance(value, dict):
        return {"_raw": raw}, True
    return value, orjson.dumps(value).decode() != raw


def encode_arguments(part: ToolCallPart) -> str:
    raw = own(part.provider_data).get("arguments")
    return raw if isinstance(raw, str) else orjson.dumps(part.arguments).decode()


def summary_of(text: str) -> list[dict[str, Any]]:
    return [{"type": "summary_text", "text": text}] if text else []


def decode_reasoning(item: dict[str, Any], path: str, *, output: bool) -> ThinkingPart:
    """A ``reasoning`` item; the text is its ``reasoning_text`` content when it has some (raw chain
    of thought from open-weight servers), else its summaries; non-empty pieces joined by blank
    lines."""
    summary, content = item.get("summary", []), item.get("content")
    texts = [_text_of(s, f"{path}.summary[{k}]") for k, s in enumerate(_list(summary, f"{path}.summary"))]
    if content is not None and _list(content, f"{path}.content"):
        texts = [_text_of(c, f"{path}.content[{k}]") for k, c in enumerate(content)]
    text = "\n\n".join(t for t in texts if t)
    encrypted = item.get("encrypted_content")
    skip = {"type", "summary", "content"} | ({"encrypted_content"} if isinstance(encrypted, str) else set())
    fields = {k: v for k, v in item.items() if k not in skip and not (output and k == "status")}
    pd: dict[str, Any] = {"item": fields} if fields else {}
    if content is not None:
        pd["content"], pd["summary"] = content, summary
    elif summary != summary_of(text):
        pd["summary"] = summary
    return ThinkingPart(
        text,
        signature=encrypted if isinstance(encrypted, str) else None,
        signature_protocol=NAME if isinstance(encrypted, str) else None,
        provider_data=tag(pd),
    )


def encode_reasoning(part: ThinkingPart) -> dict[str, Any]:
    pd = own(part.provider_data)
    item: dict[str, Any] = {"type": "reasoning", "summary": pd.get("summary", summary_of(part.text))}
    if "content" in pd:
        item["content"] = pd["content"]
    if part.signature is not None and part.signature_protocol == NAME:
        item["encrypted_content"] = part.signature
    item.update(pd.get("item", {}))
    return item


def decode_function_call(item: dict[str, Any], path: str, *, output: bool) -> ToolCallPart:
    call_id, name = _string(item, "call_id", path), _string(item, "name", path)
    raw = _string(item, "arguments", path)
    arguments, keep_raw = decode_arguments(raw)
    skip = ("type", "call_id", "name", "arguments")
    fields = {k: v for k, v in item.items() if k not in skip and not (output and k == "status")}
    pd: dict[str, Any] = {"item": fields} if fields else {}
    if keep_raw:
        pd["arguments"] = raw
    return ToolCallPart(call_id, name, arguments, tag(pd))


def encode_function_call(part: ToolCallPart) -> dict[str, Any]:
    return {
        "type": "function_call",
        "call_id": wire_call_id(part.id),
        "name": wire_tool_name(part.name),
        "arguments": encode_arguments(part),
        **own(part.provider_data).get("item", {}),
    }


class _Turns:
    """Builds canonical turns from items (grouping rules in the module docstring)."""

    def __init__(self) -> None:
        self.turns: list[tuple[Role, list[Part]]] = []

    def open(self, role: Role, parts: list[Part]) -> None:
        self.turns.append((role, parts))

    def assistant_text(self, parts: list[Part]) -> None:
        last = self._last("assistant")
        if last is not None and not any(_is_content(p) for p in last):
            last.extend(parts)
        else:
            self.open("assistant", parts)

    def assistant_item(self, part: Part) -> None:
        last = self._last("assistant")
        if last is not None:
            last.append(part)
        else:
            self.open("assistant", [part])

    def user_item(self, part: Part) -> None:
        last = self._last("user")
        if last is not None and not any(_is_content(p) for p in last):
            last.append(part)
        else:
            self.open("user", [part])

    def _last(self, role: Role) -> list[Part] | None:
        return self.turns[-1][1] if self.turns and self.turns[-1][0] == role else None


def _is_content(part: Part) -> bool:
    return isinstance(part, TextPart | MediaPart) or (isinstance(part, OpaquePart) and "content" in part.data)


def decode_input(
    raw: Any, media: MediaOptions, tool_outputs: ToolOutputFields
) -> tuple[tuple[TextPart, ...], tuple[Message, ...]]:
    """(leading system parts, turns) of ``input``, which `check_request` has shape-checked: None,
    a string or a list of objects."""
    if raw is None:
        return (), ()
    if isinstance(raw, str):
        return (), (Message("user", (TextPart(raw),)),)
    system: list[TextPart] = []
    turns = _Turns()
    for i, item in enumerate(raw):
        path = f"input[{i}]"
        kind = item.get("type", "message" if "role" in item else None)
        if not isinstance(kind, str):
            raise invalid_request(f"{path}.type: field required (string)", f"{path}.type")
        if kind == "message":
            role, parts = _decode_message(item, path, media)
            if role == "system" and not turns.turns and all(isinstance(p, TextPart) for p in parts):
                system.extend(_as_input_item(p, i) for p in parts)  # type: ignore[arg-type]
            elif role == "assistant":
                turns.assistant_text(parts)
            else:
                turns.open(role, parts)
        elif kind == "function_call":
            turns.assistant_item(decode_function_call(item, path, output=False))
        elif kind == "reasoning":
            turns.assistant_item(decode_reasoning(item, path, output=False))
        elif kind == "function_call_output":
            turns.user_item(_decode_output(item, path, media, tool_outputs))
        elif kind == "item_reference" or kind.endswith(USER_SIDE_SUFFIXES):
            turns.user_item(OpaquePart(NAME, {"item": item, "path": path}))
        else:  # hosted-tool calls and anything newer: verbatim, Responses-only
            turns.assistant_item(OpaquePart(NAME, {"item": item, "path": path}))
    return tuple(system), tuple(Message(role, tuple(parts)) for role, parts in turns.turns)


def _as_input_item(part: TextPart, index: int) -> TextPart:
    return replace(part, provider_data=tag({**own(part.provider_data), "input_item": index}))


def _decode_message(item: dict[str, Any], path: str, media: MediaOptions) -> tuple[Role, list[Part]]:
    role = item.get("role")
    if role not in ROLES:
        raise invalid_request(f"{path}.role: must be one of {', '.join(sorted(ROLES))}", f"{path}.role")
    fields = {k: v for k, v in item.items() if k not in ("type", "role", "content")}
    pd: dict[str, Any] = {"item": fields} if fields else {}
    if role == "developer":
        pd["role"] = "developer"
    content = item.get("content")
    if isinstance(content, str):
        parts: list[Part] = [TextPart(content, provider_data=tag(pd))]
    elif isinstance(content, list):
        parts = [decode_content(c, f"{path}.content[{j}]", media, item=pd) for j, c in enumerate(content)]
    else:
        raise invalid_request(f"{path}.content: must be a string or an array", f"{path}.content")
    return ("system" if role == "developer" else role), parts


def _decode_output(
    item: dict[str, Any], path: str, media: MediaOptions, tool_outputs: ToolOutputFields
) -> ToolResultPart:
    call_id = _string(item, "call_id", path)
    output = item.get("output")
    if isinstance(output, str):
        content: tuple[TextPart | MediaPart, ...] = (TextPart(output),) if output else ()
    elif isinstance(output, list):
        decoded = [decode_content(c, f"{path}.output[{j}]", media) for j, c in enumerate(output)]
        for j, c in enumerate(decoded):
            if isinstance(c, OpaquePart):
                raise invalid_request(
                    f"{path}.output[{j}].type: must be input_text, input_image or input_file",
                    f"{path}.output[{j}].type",
                )
        content = tuple(decoded)  # type: ignore[arg-type]
    else:
        raise invalid_request(f"{path}.output: must be a string or an array", f"{path}.output")
    name = item.get("name") if isinstance(item.get("name"), str) else None
    skip = ("type", "call_id", "output") + (("name",) if name is not None else ())
    fields = {k: v for k, v in item.items() if k not in skip}
    if fields:
        tool_outputs[call_id] = fields
    return ToolResultPart(call_id, content, False, name)


def encode_input(
    req: Request, deg: Degradations, media: MediaOptions, tool_outputs: ToolOutputFields
) -> tuple[str | None, list[dict[str, Any]]]:
    """(``instructions``, ``input`` items) for ``req``."""
    instructions: list[str] = []
    items: list[dict[str, Any]] = []
    leading: dict[int, list[tuple[str, ContentPart]]] = {}
    for j, part in enumerate(req.system):
        index = own(part.provider_data).get("input_item")
        if index is not None:
            leading.setdefault(index, []).append((f"system[{j}]", part))
            continue
        if part.cache_control is not None:
            deg.drop(f"system[{j}].cache_control", "OpenAI Responses has no cache_control breakpoints")
        if part.text:
            instructions.append(part.text)
    for parts in leading.values():
        _append(items, _message_item("system", parts, deg, media))
    for i, msg in enumerate(req.messages):
        items.extend(_encode_message(msg, f"messages[{i}]", deg, media, tool_outputs))
    return ("\n\n".join(instructions) or None), items


def _append(items: list[dict[str, Any]], item: dict[str, Any] | None) -> None:
    if item is not None:
        items.append(item)


def _message_item(
    role: Role, parts: list[tuple[str, ContentPart]], deg: Degradations, media: MediaOptions
) -> dict[str, Any] | None:
    assistant = role == "assistant"
    content = [
        c for path, p in parts if (c := encode_content(p, path, deg, media, assistant=assistant)) is not None
    ]
    texts = [own(p.provider_data) for _, p in parts if isinstance(p, TextPart)]
    item = next((pd["item"] for pd in texts if "item" in pd), {})
    if (
        assistant
        and not item
        and all(c == {**c, "type": "output_text", "annotations": []} and len(c) == 3 for c in content)
    ):
        # Plain assistant text (another protocol's): the EasyInputMessage string form. A list of
        # output_text is only valid with the item id and status (ResponseOutputMessageParam).
        text = "".join(c["text"] for c in content)
        return {"type": "message", "role": "assistant", "content": text} if text else None
    wire_role = next((pd["role"] for pd in texts if "role" in pd), role) if role == "system" else role
    return {"type": "message", "role": wire_role, "content": content, **item}


def _encode_message(
    msg: Message, path: str, deg: Degradations, media: MediaOptions, tool_outputs: ToolOutputFields
) -> list[dict[str, Any]]:
    """Items of one turn, in part order: consecutive content parts share one message item."""
    items: list[dict[str, Any]] = []
    run: list[tuple[str, ContentPart]] = []

    def flush() -> None:
        if run:
            _append(items, _message_item(msg.role, run, deg, media))
            run.clear()

    for j, part in enumerate(msg.parts):
        p = f"{path}.parts[{j}]"
        match part:
            case TextPart() | MediaPart():
                run.append((p, part))
            case OpaquePart():
                if part.protocol == NAME and "content" in part.data:
                    run.append((p, part))
                    continue
                flush()
                if part.protocol == NAME:
                    items.append(part.data["item"])
                else:
                    deg.drop(p, f"a {part.protocol} block has no OpenAI Responses form")
            case ThinkingPart():
                flush()
                _append(items, _encode_thinking(part, p, deg))
            case ToolCallPart():
                flush()
                if part.cache_control is not None:
                    deg.drop(f"{p}.cache_control", "OpenAI Responses has no cache_control breakpoints")
                items.append(encode_function_call(part))
            case ToolResultPart():
                flush()
                items.append(_encode_output(part, p, deg, media, tool_outputs))
            case _:
                assert_never(part)
    flush()
    return items


def _encode_thinking(part: ThinkingPart, path: str, deg: Degradations) -> dict[str, Any] | None:
    """Reasoning goes back only to the vendor that produced it (protocols.md §5.7): another
    vendor's thinking and signatures are dropped and reported, never forged."""
    pd = own(part.provider_data)
    if pd or part.signature_protocol == NAME:
        if "id" in pd.get("item", {}):
            return encode_reasoning(part)
        deg.drop(path, "an OpenAI reasoning item without its id cannot be replayed")
        return None
    if part.text or part.signature:
        origin = part.signature_protocol or "another model"
        deg.drop(path, f"reasoning from {origin} cannot be replayed to OpenAI")
    return None


def _encode_output(
    part: ToolResultPart, path: str, deg: Degradations, media: MediaOptions, tool_outputs: ToolOutputFields
) -> dict[str, Any]:
    if part.cache_control is not None:
        deg.drop(f"{path}.cache_control", "OpenAI Responses has no cache_control breakpoints")
    encoded = [
        c
        for k, item in enumerate(part.content)
        if (c := encode_content(item, f"{path}.content[{k}]", deg, media, assistant=False)) is not None
    ]
    prefix = ERROR_PREFIX if part.is_error else ""
    output: str | list[dict[str, Any]]
    if not encoded:
        output = prefix.rstrip()
    elif len(encoded) == 1 and encoded[0].keys() == {"type", "text"} and encoded[0]["type"] == "input_text":
        output = prefix + encoded[0]["text"]
    else:
        output = [{"type": "input_text", "text": prefix.rstrip()}, *encoded] if prefix else encoded
    item: dict[str, Any] = {
        "type": "function_call_output",
        "call_id": wire_call_id(part.tool_call_id),
        "output": output,
    }
    if part.name is not None:
        item["name"] = wire_tool_name(part.name)
    item.update(tool_outputs.get(part.tool_call_id, {}))
    return item


def _list(v: Any, path: str) -> list[Any]:
    if not isinstance(v, list):
        raise invalid_request(f"{path}: must be an array", path)
    return v


def _text_of(part: Any, path: str) -> str:
    if not isinstance(part, dict) or not isinstance(part.get("text"), str):
        raise invalid_request(f"{path}.text: field required (string)", f"{path}.text")
    return part["text"]


def _string(d: dict[str, Any], key: str, path: str) -> str:
    v = d.get(key)
    if not isinstance(v, str):
        raise invalid_request(f"{path}.{key}: field required (string)", f"{path}.{key}")
    return v
