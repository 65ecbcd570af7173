"""``contents[]`` ↔ canonical messages: roles, tool-call id pairing, turn merging, the sentinel.

Decoding keeps one message per content and one canonical part per wire part, so positions
``"i.j"`` address both; wire fields a part cannot hold are set aside under those positions
(`PART_EXTRAS`). Encoding maps ``assistant`` → ``model``, hoists system messages into
``systemInstruction`` (Gemini has no inline system turn, protocols.md §5.1), merges consecutive
turns of the same role (Gemini wants one ``user`` content answering all calls of a model turn,
§4.7), and gives model turns with function calls but no Gemini signature the documented sentinel
(§4.7; QuantumNous/new-api #2255, #3282).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from bytespike.canonical.degradation import Degradations
from bytespike.canonical.parts import Part, TextPart, ToolCallPart, ToolResultPart
from bytespike.canonical.request import Message
from bytespike.protocols.gemini.casing import camel_keys
from bytespike.protocols.gemini.ids import derive_tool_call_id, history_scope
from bytespike.protocols.gemini.parts import data_field, decode_part, encode_part, merge_extra
from bytespike.protocols.gemini.signatures import SKIP_SIGNATURE_SENTINEL

PART_EXTRAS = "partExtras"
"""``Request.extras["gemini"]`` / ``Response.provider_data["gemini"]`` key of the set-aside wire
fields: ``{"i.j": {"field": <data field>, "extra": {…}}}``."""
VENDOR_STATE = frozenset({"thoughtSignature"})
"""Set-aside part fields that are Gemini's own state, echoed only to Gemini (DESIGN.md §2): a
signature on a media part is not a field another vendor fails to honour."""
MEDIA_DATA_KEYS = frozenset({"mimeType", "data", "fileUri"})
"""What ``inlineData``/``fileData`` hold that `MediaPart` carries."""


def decode_contents(contents: list[Any]) -> tuple[tuple[Message, ...], dict[str, Any]]:
    """(messages, set-aside part fields) of a request's ``contents``. Every role but ``model`` is
    the user's (``function``/``tool`` are legacy names of the role carrying function responses)."""
    messages: list[Message] = []
    extras: dict[str, Any] = {}
    pending: list[list[Any]] = []  # [call id, name, answered] of the last model turn's calls
    previous_is_model = False
    for i, content in enumerate(contents):
        # `requests.check_request` has checked the content objects, their roles and parts arrays.
        role = content.get("role")
        parts: list[Part] = []
        for j, raw in enumerate(content["parts"]):
            part, extra = decode_part(raw, f"contents[{i}].parts[{j}]")
            if extra:
                extras[f"{i}.{j}"] = {"field": data_field(camel_keys(raw)), "extra": extra}
            parts.append(part)
        if role == "model":
            # A streamed turn comes back from the SDK as one model content per chunk.
            calls = _name_calls(parts, i)
            pending = pending + calls if previous_is_model else calls
        else:
            _pair_results(parts, i, pending)
        previous_is_model = role == "model"
        messages.append(Message("assistant" if role == "model" else "user", tuple(parts)))
    return tuple(messages), extras


def foreign_part_fields(part_extras: Mapping[str, Any]) -> list[str]:
    """Wire paths (``contents[i].parts[j].mediaResolution``…) of the set-aside part fields that an
    encoder for another protocol leaves out: ``videoMetadata``, ``mediaResolution``,
    ``partMetadata``, ``functionResponse.willContinue``/``scheduling``, a media object's own extra
    keys, any field unknown today. Not reported: Gemini's signatures (`VENDOR_STATE`), ``thought:
    false`` and empty values, which say nothing the target misses."""
    names: list[str] = []
    for position, saved in part_extras.items():
        if not isinstance(saved, Mapping):
            continue
        i, _, j = position.partition(".")
        base = f"contents[{i}].parts[{j}]"
        for key, value in (saved.get("extra") or {}).items():
            if key in VENDOR_STATE or _says_nothing(value) or (key == "thought" and value is False):
                continue
            if key == saved.get("field") and isinstance(value, Mapping):
                names += _inner_fields(f"{base}.{key}", value)
            else:
                names.append(f"{base}.{key}")
    return names


def _inner_fields(path: str, inner: Mapping[str, Any]) -> list[str]:
    """The keys set aside inside a part's data object; a function response's media ``parts`` are
    carried as content, so only their own extra keys count."""
    names: list[str] = []
    for key, value in inner.items():
        if _says_nothing(value):
            continue
        if key != "parts" or not isinstance(value, list):
            names.append(f"{path}.{key}")
            continue
        for k, item in enumerate(value):
            for item_key, item_value in camel_keys(item).items() if isinstance(item, dict) else ():
                media = camel_keys(item_value) if isinstance(item_value, dict) else None
                if item_key in ("inlineData", "fileData") and media is not None:
                    names += [
                        f"{path}.parts[{k}].{item_key}.{m}"
                        for m, v in media.items()
                        if m not in MEDIA_DATA_KEYS and not _says_nothing(v)
                    ]
                elif not _says_nothing(item_value):
                    names.append(f"{path}.parts[{k}].{item_key}")
    return names


def _says_nothing(value: Any) -> bool:
    return value is None or value == {} or value == []


def _name_calls(parts: list[Part], i: int) -> list[list[Any]]:
    calls = []
    for j, part in enumerate(parts):
        if isinstance(part, ToolCallPart):
            if not part.id:
                part = parts[j] = replace(part, id=derive_tool_call_id(history_scope(i, j), part.name))
            calls.append([part.id, part.name, False])
    return calls


def _pair_results(parts: list[Part], i: int, pending: list[list[Any]]) -> None:
    """Give every id-less function response the id of the call it answers (same name, in order;
    Gemini pairs them the same way)."""
    results = [(j, p) for j, p in enumerate(parts) if isinstance(p, ToolResultPart)]
    for _, result in results:
        for call in pending:
            if result.tool_call_id and call[0] == result.tool_call_id:
                call[2] = True
    for j, result in results:
        if result.tool_call_id:
            continue
        call = next((c for c in pending if not c[2] and c[1] == result.name), None)
        if call is not None:
            call[2] = True
            tool_call_id = call[0]
        else:
            tool_call_id = derive_tool_call_id(history_scope(i, j), result.name or "")
        parts[j] = replace(result, tool_call_id=tool_call_id)


def encode_messages(
    messages: tuple[Message, ...],
    deg: Degradations,
    part_extras: Mapping[str, Any],
    *,
    media_in_results: bool = True,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(``contents``, text parts of system messages to append to ``systemInstruction``).

    ``media_in_results`` False: images of tool results follow the ``functionResponse`` as parts
    of their own, for models older than Gemini 3 (protocols.md §5.2)."""
    contents: list[dict[str, Any]] = []
    hoisted: list[dict[str, Any]] = []
    call_names: dict[str, str] = {}
    for mi, message in enumerate(messages):
        if message.role == "system":
            hoisted += _system_parts(message, mi, deg)
            continue
        role = "model" if message.role == "assistant" else "user"
        parts = []
        for pi, part in enumerate(message.parts):
            if isinstance(part, ToolCallPart):
                call_names[part.id] = part.name
            wire = encode_part(part, f"messages[{mi}].parts[{pi}]", deg, call_names)
            if wire is None:
                continue
            saved = part_extras.get(f"{mi}.{pi}")
            if isinstance(saved, dict) and saved.get("field") == data_field(wire):
                wire = merge_extra(wire, saved.get("extra") or {})
            parts.append(wire)
            if not media_in_results and "parts" in wire.get("functionResponse", {}):
                parts += wire["functionResponse"].pop("parts")
        if not parts:
            continue
        if contents and contents[-1]["role"] == role:
            contents[-1]["parts"] += parts
        else:
            contents.append({"role": role, "parts": parts})
    for content in contents:
        if content["role"] == "model":
            _sign_function_calls(content["parts"])
    return contents, hoisted


def _system_parts(message: Message, mi: int, deg: Degradations) -> list[dict[str, Any]]:
    out = []
    for pi, part in enumerate(message.parts):
        path = f"messages[{mi}].parts[{pi}]"
        if not isinstance(part, TextPart):
            deg.drop(path, "Gemini's systemInstruction holds only text")
            continue
        if part.cache_control is not None:
            deg.drop(f"{path}.cache_control", "Gemini has no prompt-cache breakpoints")
        if part.text:
            out.append({"text": part.text})
    return out


def _sign_function_calls(parts: list[dict[str, Any]]) -> None:
    """Gemini 3 rejects a model turn whose first function call has no signature; a turn with
    function calls and no signature at all (another vendor's, or hand-built) gets the documented
    sentinel on its first call instead (protocols.md §4.7). A turn Gemini signed is left as is."""
    calls = [p for p in parts if "functionCall" in p]
    if calls and not any("thoughtSignature" in p for p in parts):
        calls[0]["thoughtSignature"] = SKIP_SIGNATURE_SENTINEL
