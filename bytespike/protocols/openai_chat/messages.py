"""OpenAI Chat ``messages`` ↔ the canonical system prompt and `Message` list.

Decoding: the leading ``system``/``developer`` messages become ``Request.system``; later ones
stay in place as ``system`` messages; a run of ``tool`` (and legacy ``function``) messages
becomes ONE ``user`` message of `ToolResultPart`s; an assistant's ``reasoning_content``
(DeepSeek) becomes a `ThinkingPart`, its ``tool_calls`` `ToolCallPart`s. What the canonical model
has no field for (``developer``, ``name``, ``image_url.detail``, …) goes to the request's layout
(see `requests`) so that OpenAI Chat gets it back. Encoding is the inverse for either host flavor.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, assert_never

from bytespike.canonical.degradation import Degradations
from bytespike.canonical.parts import (
    MediaPart,
    OpaquePart,
    Part,
    ProviderData,
    TextPart,
    ThinkingPart,
    ToolCallPart,
    ToolResultPart,
)
from bytespike.canonical.request import Message
from bytespike.errors import invalid_request
from bytespike.protocols.openai_chat import NAME
from bytespike.protocols.openai_chat.content import (
    decode_refusal_part,
    decode_text_content,
    decode_text_part,
    decode_user_part,
    encode_media_part,
    encode_text_part,
    has_own_breakpoint,
    is_plain_text,
    text_of_document,
)
from bytespike.protocols.openai_chat.hosts import DEEPSEEK_MESSAGE_KEYS, Flavor
from bytespike.protocols.openai_chat.identifiers import encode_tool_call_id, encode_tool_name
from bytespike.protocols.openai_chat.tool_calls import (
    arguments_json,
    decode_function_call,
    decode_tool_call,
    encode_tool_call,
    wire_data,
)
from bytespike.protocols.openai_chat.wire_fields import required

REASONING_CONTENT = ProviderData(NAME, {"field": "reasoning_content"})
"""Marks a `ThinkingPart` that came from ``reasoning_content`` (DeepSeek, vLLM, new-api)."""
ASSISTANT_OPTIONAL = ("tool_calls", "function_call", "refusal", "reasoning_content")
PARAGRAPH_BREAK = "\n\n"
"""Joins several text parts where one string is all the host takes (DeepSeek contents, the
``reasoning_content`` field)."""


def _extra(message: dict[str, Any], modeled: set[str]) -> dict[str, Any]:
    return {k: v for k, v in message.items() if k not in modeled}


class MessageDecoder:
    """Walks a wire ``messages`` array once; ``layout`` receives what the parts cannot hold."""

    def __init__(self, layout: dict[str, Any]) -> None:
        self.layout = layout
        self.system: list[TextPart] = []
        self.messages: list[Message] = []
        self._call_names: dict[str, str] = {}
        self._legacy_open: list[ToolCallPart] = []
        self._legacy_count = 0
        self._in_results = False

    def decode(self, messages: list[dict[str, Any]]) -> None:
        for i, message in enumerate(messages):
            path = f"messages[{i}]"
            role = message["role"]
            if role in ("tool", "function"):
                self._result(message, path)
                continue
            self._in_results = False
            if role in ("system", "developer"):
                self._system(message, role, path)
            elif role == "user":
                self._user(message, path)
            else:
                self._assistant(message, path)

    def _note(self, index: int, entry: dict[str, Any]) -> None:
        if entry:
            self.layout.setdefault("messages", {})[str(index)] = entry

    def _content(self, message: dict[str, Any], path: str) -> Any:
        if "content" not in message:
            raise invalid_request(f"{path}.content: field required", f"{path}.content")
        return message["content"]

    def _system(self, message: dict[str, Any], role: str, path: str) -> None:
        parts = decode_text_content(self._content(message, path), f"{path}.content")
        extra = _extra(message, {"role", "content"})
        if not self.messages:
            # Leading instructions (protocols.md §5.1); their roles and split are kept in layout.
            self.system.extend(parts)
            entry: dict[str, Any] = {"role": role, "parts": len(parts)}
            self.layout.setdefault("system", []).append(entry | ({"extra": extra} if extra else {}))
            return
        self._note(
            len(self.messages),
            ({"role": role} if role != "system" else {}) | ({"extra": extra} if extra else {}),
        )
        self.messages.append(Message("system", parts))

    def _user(self, message: dict[str, Any], path: str) -> None:
        content = self._content(message, path)
        index = len(self.messages)
        if isinstance(content, str):
            parts: tuple[Part, ...] = (TextPart(content),) if content else ()
        elif isinstance(content, list):
            decoded = []
            for j, wire in enumerate(content):
                part = decode_user_part(wire, f"{path}.content[{j}]")
                if isinstance(part, MediaPart):
                    # image_url.detail, prompt_cache_breakpoint, … have no canonical field.
                    self.layout.setdefault("parts", {})[f"{index}.{j}"] = wire
                decoded.append(part)
            parts = tuple(decoded)
        else:
            raise invalid_request(f"{path}.content: must be a string or an array", f"{path}.content")
        extra = _extra(message, {"role", "content"})
        self._note(index, {"extra": extra} if extra else {})
        self.messages.append(Message("user", parts))

    def _assistant(self, message: dict[str, Any], path: str) -> None:
        parts: list[Part] = []
        modeled = {"role"}
        reasoning = message.get("reasoning_content")
        if isinstance(reasoning, str):
            parts.append(ThinkingPart(reasoning, provider_data=REASONING_CONTENT))
            modeled.add("reasoning_content")
        elif reasoning is not None:
            raise invalid_request(f"{path}.reasoning_content: must be a string", f"{path}.reasoning_content")
        content = message.get("content")  # a string, an array or null (`check_request`)
        if isinstance(content, str) and content:
            parts.append(TextPart(content))
            modeled.add("content")
        elif isinstance(content, list):
            for j, wire in enumerate(content):
                part_path = f"{path}.content[{j}]"
                is_refusal = isinstance(wire, dict) and wire.get("type") == "refusal"
                parts.append(
                    decode_refusal_part(wire, part_path) if is_refusal else decode_text_part(wire, part_path)
                )
            modeled.add("content")
        refusal = message.get("refusal")
        if isinstance(refusal, str) and refusal:
            parts.append(TextPart(refusal, provider_data=ProviderData(NAME, {"refusal": "field"})))
            modeled.add("refusal")
        calls = message.get("tool_calls")
        if calls:
            if not isinstance(calls, list):
                raise invalid_request(f"{path}.tool_calls: must be an array", f"{path}.tool_calls")
            for j, call in enumerate(calls):
                part = decode_tool_call(call, f"{path}.tool_calls[{j}]", invalid_request)
                self._call_names[part.id] = part.name
                parts.append(part)
            modeled.add("tool_calls")
        if message.get("function_call") is not None:
            call_id = f"call_legacy_{self._legacy_count}"
            self._legacy_count += 1
            part = decode_function_call(
                message["function_call"], call_id, f"{path}.function_call", invalid_request
            )
            self._legacy_open.append(part)
            parts.append(part)
            modeled.add("function_call")
        extra = _extra(message, modeled)
        self._note(len(self.messages), {"extra": extra} if extra else {})
        self.messages.append(Message("assistant", tuple(parts)))

    def _result(self, message: dict[str, Any], path: str) -> None:
        content = self._content(message, path)
        if message["role"] == "tool":
            call_id = required(message, "tool_call_id", str, path)
            name = self._call_names.get(call_id)
            modeled = {"role", "content", "tool_call_id"}
        else:
            name = required(message, "name", str, path)
            call = next((c for c in reversed(self._legacy_open) if c.name == name), None)
            if call is None:
                raise invalid_request(f"{path}: function message without a preceding function_call", path)
            self._legacy_open.remove(call)
            call_id = call.id
            modeled = {"role", "content", "name"}
            content = "" if content is None else content
        result = ToolResultPart(call_id, decode_text_content(content, f"{path}.content"), name=name)
        if self._in_results:
            last = self.messages[-1]
            self.messages[-1] = Message("user", (*last.parts, result))
        else:
            self.messages.append(Message("user", (result,)))
            self._in_results = True
        if extra := _extra(message, modeled):
            position = f"{len(self.messages) - 1}.{len(self.messages[-1].parts) - 1}"
            self.layout.setdefault("results", {})[position] = extra


def _reasoning_turns(messages: tuple[Message, ...]) -> set[int]:
    """Indices of assistant messages in a user→user turn that called tools: DeepSeek wants their
    ``reasoning_content`` back in every later request and 400s without it (thinking mode guide)."""
    needed: set[int] = set()
    turn: list[int] = []
    called = False
    for i, message in enumerate(messages):
        if message.role == "user" and any(not isinstance(p, ToolResultPart) for p in message.parts):
            needed.update(turn if called else ())
            turn, called = [], False
        elif message.role == "assistant":
            turn.append(i)
            called = called or any(isinstance(p, ToolCallPart) for p in message.parts)
    needed.update(turn if called else ())
    return needed


@dataclass(slots=True)
class MessageEncoder:
    """Writes canonical messages as an OpenAI Chat ``messages`` array for one host flavor."""

    flavor: Flavor
    """The host the array is written for."""
    deg: Degradations
    """Collects what the host cannot take."""
    layout: dict[str, Any]
    """Round-trip bookkeeping from `MessageDecoder`; empty for other protocols' requests."""
    _legacy_ids: frozenset[str] = field(default=frozenset())
    """Ids of calls that came as legacy ``function_call``s (written back that way to OpenAI)."""
    _needs_reasoning: set[int] = field(default_factory=set)
    """DeepSeek: indices of assistant messages whose reasoning must be sent back."""

    @property
    def native(self) -> bool:
        """True for OpenAI itself: custom tools, refusal fields, content arrays, …"""
        return self.flavor == "openai"

    def encode(self, system: tuple[TextPart, ...], messages: tuple[Message, ...]) -> list[dict[str, Any]]:
        if self.native:
            self._legacy_ids = frozenset(
                p.id
                for m in messages
                for p in m.parts
                if isinstance(p, ToolCallPart) and wire_data(p).get("legacy")
            )
        else:
            self._needs_reasoning = _reasoning_turns(messages)
        out = self._leading_system(system)
        for i, message in enumerate(messages):
            entry = self.layout.get("messages", {}).get(str(i), {})
            match message.role:
                case "system":
                    role = entry.get("role", "system") if self.native else "system"
                    wire = {"role": role, "content": self._text_content(message.parts, f"messages[{i}]")}
                    out.append(self._with_extra(wire, entry.get("extra", {})))
                case "user":
                    out.extend(self._user(i, message, entry))
                case "assistant":
                    out.append(self._with_extra(self._assistant(i, message), entry.get("extra", {})))
                case _:
                    assert_never(message.role)
        return out

    def _with_extra(self, wire: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
        for key, value in extra.items():
            if wire.get(key) is not None:
                continue
            if self.native or key in DEEPSEEK_MESSAGE_KEYS:
                wire[key] = value
            elif value not in (None, "", [], {}):
                self.deg.drop(f"messages.{key}", "DeepSeek does not accept this message field")
        return wire

    def _leading_system(self, parts: tuple[TextPart, ...]) -> list[dict[str, Any]]:
        entries = self.layout.get("system", [])
        if not entries or sum(e["parts"] for e in entries) != len(parts):
            entries = [{"role": "system", "parts": len(parts)}] if parts else []
        out, start = [], 0
        for entry in entries:
            group = parts[start : start + entry["parts"]]
            start += entry["parts"]
            role = entry["role"] if self.native else "system"
            wire = {"role": role, "content": self._text_content(group, "system")}
            out.append(self._with_extra(wire, entry.get("extra", {})))
        return out

    def _drop_cache_control(self, part: Part, wire: dict[str, Any] | None = None) -> None:
        """Report another protocol's breakpoint; a Chat caller's own ``prompt_cache_breakpoint``
        goes back with its part (and DeepSeek reports it as ``content.prompt_cache_breakpoint``)."""
        if getattr(part, "cache_control", None) is None:
            return
        if isinstance(part, TextPart | MediaPart) and has_own_breakpoint(part, wire):
            return
        self.deg.drop("cache_control", "OpenAI Chat has no cache_control; its prompt caching is automatic")

    def _text_content(self, parts: tuple[Part, ...], path: str) -> str | list[dict[str, Any]]:
        """A text-only content (system, tool): a string for one plain part, else an array."""
        texts: list[TextPart] = []
        for j, part in enumerate(parts):
            if not isinstance(part, TextPart):
                where = f"{path}.content[{j}]"
                raise invalid_request(f"{where}: only text is allowed here in OpenAI Chat", where)
            self._drop_cache_control(part)
            texts.append(part)
        return self._join(texts)

    def _join(self, texts: list[TextPart], *, in_assistant: bool = False) -> str | list[dict[str, Any]]:
        if not self.native:
            self._drop_wire_extras(texts)
            return PARAGRAPH_BREAK.join(t.text for t in texts)
        if not texts:
            return ""
        if len(texts) == 1 and is_plain_text(texts[0], in_assistant=in_assistant):
            return texts[0].text
        return [encode_text_part(t, in_assistant=in_assistant) for t in texts]

    def _drop_wire_extras(self, texts: list[TextPart]) -> None:
        for t in texts:
            if (
                t.provider_data is not None
                and t.provider_data.protocol == NAME
                and "wire" in t.provider_data.data
            ):
                self.deg.drop("content.prompt_cache_breakpoint", "DeepSeek takes plain string contents")

    def _user(self, index: int, message: Message, entry: dict[str, Any]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        attachments: list[tuple[str, Part]] = []
        for j, part in enumerate(message.parts):
            if isinstance(part, ToolResultPart):
                # Tool messages must follow the assistant's tool_calls directly (openai/codex #7051).
                out.append(self._tool_result(index, j, part, attachments))
        rest = [(f"{index}.{j}", p) for j, p in enumerate(message.parts) if not isinstance(p, ToolResultPart)]
        if attachments or rest or not out:
            content = self._user_content(index, attachments + rest)
            out.append(self._with_extra({"role": "user", "content": content}, entry.get("extra", {})))
        return out

    def _user_content(self, index: int, parts: list[tuple[str, Part]]) -> str | list[dict[str, Any]]:
        wire: list[dict[str, Any] | TextPart] = []
        for key, part in parts:
            path = f"messages[{index}].content[{key.rpartition('.')[2]}]"
            if not isinstance(part, MediaPart):
                self._drop_cache_control(part)
            match part:
                case TextPart():
                    wire.append(part)
                case MediaPart():
                    if not self.native:
                        self._drop_cache_control(part)
                        wire.append(TextPart(text_of_document(part, path)))
                        continue
                    original = self.layout.get("parts", {}).get(key)
                    if original is None or decode_user_part(original, path) != part:
                        original = encode_media_part(part, path)
                    self._drop_cache_control(part, original)
                    wire.append(original)
                case OpaquePart():
                    if self.native and part.protocol == NAME:
                        wire.append(part.data)
                    else:
                        self.deg.drop(
                            f"content.{part.data.get('type', 'opaque')}", "only its own vendor reads it"
                        )
                case ThinkingPart():
                    self.deg.drop("thinking", "OpenAI Chat has no reasoning in user messages")
                case ToolCallPart():
                    raise invalid_request(f"{path}: a tool call cannot be sent in a user message", path)
                case ToolResultPart():
                    raise AssertionError("tool results are written as tool messages")  # pragma: no cover
                case _:
                    assert_never(part)
        if all(isinstance(w, TextPart) for w in wire):
            return self._join([w for w in wire if isinstance(w, TextPart)])
        return [encode_text_part(w) if isinstance(w, TextPart) else w for w in wire]

    def _tool_result(
        self, index: int, j: int, part: ToolResultPart, attachments: list[tuple[str, Part]]
    ) -> dict[str, Any]:
        self._drop_cache_control(part)
        call_id = encode_tool_call_id(part.tool_call_id)
        texts = [p for p in part.content if isinstance(p, TextPart)]
        media = [p for p in part.content if not isinstance(p, TextPart)]
        if media:
            # Tool messages carry text only: images follow in a user message (protocols.md §5.14).
            attachments.append(("", TextPart(f"Attachments returned by tool call {call_id}:")))
            attachments.extend((f"{index}.{j}.{k}", m) for k, m in enumerate(media))
        if part.is_error:
            # Chat has no error flag on tool results: say it in the text (protocols.md §5.5).
            first = texts[0].text if texts else ""
            texts = [TextPart(f"Error: {first}" if first else "Error"), *texts[1:]]
        extra = self.layout.get("results", {}).get(f"{index}.{j}", {})
        if part.tool_call_id in self._legacy_ids:
            name = encode_tool_name(part.name or "")
            text = "".join(t.text for t in texts)
            return self._with_extra({"role": "function", "name": name, "content": text}, extra)
        content = self._text_content(tuple(texts), f"messages[{index}].content[{j}]")
        return self._with_extra({"role": "tool", "tool_call_id": call_id, "content": content}, extra)

    def _assistant(self, index: int, message: Message) -> dict[str, Any]:
        texts: list[TextPart] = []
        refusals: list[TextPart] = []
        thinking: list[ThinkingPart] = []
        calls: list[ToolCallPart] = []
        for j, part in enumerate(message.parts):
            path = f"messages[{index}].content[{j}]"
            self._drop_cache_control(part)
            match part:
                case TextPart():
                    pd = part.provider_data
                    is_field = pd is not None and pd.protocol == NAME and pd.data.get("refusal") == "field"
                    (refusals if is_field and self.native else texts).append(part)
                case ThinkingPart():
                    thinking.append(part)
                case ToolCallPart():
                    calls.append(part)
                case MediaPart():
                    raise invalid_request(
                        f"{path}: OpenAI Chat assistant messages cannot hold {part.kind}", path
                    )
                case OpaquePart():
                    self.deg.drop(
                        f"content.{part.data.get('type', 'opaque')}", "only its own vendor reads it"
                    )
                case ToolResultPart():
                    raise invalid_request(f"{path}: a tool result belongs in a user message", path)
                case _:
                    assert_never(part)
        content = self._join(texts, in_assistant=True) if texts else None
        wire: dict[str, Any] = {"role": "assistant", "content": content}
        if refusals:
            wire["refusal"] = "".join(r.text for r in refusals)
        reasoning = self._reasoning_content(index, thinking)
        if reasoning is not None:
            wire["reasoning_content"] = reasoning
        legacy = [c for c in calls if c.id in self._legacy_ids]
        if legacy:
            wire["function_call"] = {
                "name": encode_tool_name(legacy[0].name),
                "arguments": arguments_json(legacy[0]),
            }
            calls = [c for c in calls if c is not legacy[0]]
        if calls:
            wire["tool_calls"] = [self._tool_call(c) for c in calls]
        return wire

    def _tool_call(self, part: ToolCallPart) -> dict[str, Any]:
        if not self.native and wire_data(part).get("extra"):
            self.deg.drop("tool_calls.extra", "DeepSeek does not accept extra tool-call fields")
        return encode_tool_call(
            part, name=encode_tool_name(part.name), call_id=encode_tool_call_id(part.id), native=self.native
        )

    def _reasoning_content(self, index: int, thinking: list[ThinkingPart]) -> str | None:
        """Prior reasoning, where the host takes it (protocols.md §5.7: signatures never cross)."""
        for part in thinking:
            if part.signature is not None and part.signature_protocol != NAME:
                self.deg.drop(
                    "thinking.signature", "a signature is honoured only by the vendor that issued it"
                )
        readable = [p for p in thinking if not p.redacted]
        if not self.native:
            # DeepSeek: reasoning of tool-calling turns must come back, other turns' is ignored.
            return PARAGRAPH_BREAK.join(p.text for p in readable) if index in self._needs_reasoning else None
        foreign = [p for p in thinking if p.provider_data != REASONING_CONTENT]
        if any(p.text or p.signature for p in foreign):
            self.deg.drop("thinking", "OpenAI Chat does not take reasoning produced by another vendor")
        own = [p for p in readable if p.provider_data == REASONING_CONTENT]
        return PARAGRAPH_BREAK.join(p.text for p in own) if own else None
