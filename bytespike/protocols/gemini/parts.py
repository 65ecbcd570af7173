"""One Gemini ``Part`` ↔ one canonical `Part` (protocols.md §4.2, §5.2, §5.5).

A wire part holds exactly one data field. ``text`` (``thought: true`` → `ThinkingPart`),
``inlineData``/``fileData`` (`MediaPart`), ``functionCall`` (`ToolCallPart`) and
``functionResponse`` (`ToolResultPart`) have canonical counterparts; every other kind
(``executableCode``, ``codeExecutionResult``, server ``toolCall``…) is kept verbatim as an
`OpaquePart` for Gemini. Wire fields a canonical part has no slot for (``videoMetadata``,
``mediaResolution``, a ``thoughtSignature`` on media…) are returned beside the part as an *extra*
of the same shape, which `merge_extra` puts back when the part is encoded for Gemini again.

Encoders run in two modes: for a Gemini *upstream* (``deg`` given) anything Gemini cannot take is
reported with ``deg.drop`` or is a 400; for a Gemini *client* (``deg`` None, responses and
streams) foreign thinking signatures are wrapped (`signatures.wrap_foreign_signature`).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any, assert_never

import orjson

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
from bytespike.errors import invalid_request
from bytespike.protocols.gemini import NAME
from bytespike.protocols.gemini.casing import camel_keys
from bytespike.protocols.gemini.ids import is_derived_id
from bytespike.protocols.gemini.signatures import unwrap_signature, wrap_foreign_signature
from bytespike.protocols.gemini.tools import FUNCTION_NAME

DATA_FIELDS = ("text", "inlineData", "fileData", "functionCall", "functionResponse")
"""Part data fields with a canonical counterpart; a part holds at most one of them."""

GEMINI_FILE_PREFIXES = ("https://generativelanguage.googleapis.com/", "gs://", "files/")
"""``fileUri``s only Gemini can read (Files API, Cloud Storage); canonically a ``file_id``."""

_MAGIC_MIME = (
    (b"\x89PNG", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF8", "image/gif"),
    (b"%PDF", "application/pdf"),
)


def data_field(wire: Mapping[str, Any]) -> str | None:
    """Which of `DATA_FIELDS` a (camelCase) wire part holds."""
    return next((name for name in DATA_FIELDS if name in wire), None)


def media_kind(mime: str | None) -> str:
    """Canonical `MediaPart.kind` of a MIME type."""
    top = (mime or "").split("/", 1)[0]
    return top if top in ("image", "audio", "video") else "document"


def is_gemini_file_uri(uri: str) -> bool:
    return uri.startswith(GEMINI_FILE_PREFIXES)


def _require(cond: bool, path: str, message: str) -> None:
    if not cond:
        raise invalid_request(f"{path}: {message}", path)


def _signature_data(signature: str | None) -> ProviderData | None:
    return ProviderData(NAME, {"thoughtSignature": signature}) if signature is not None else None


def gemini_signature(provider_data: ProviderData | None) -> str | None:
    """The ``thoughtSignature`` Gemini issued for a part, if any."""
    if provider_data is None or provider_data.protocol != NAME:
        return None
    signature = provider_data.data.get("thoughtSignature")
    return signature if isinstance(signature, str) else None


# ---------------------------------------------------------------------------- decode


def decode_part(raw: Any, path: str) -> tuple[Part, dict[str, Any] | None]:
    """(canonical part, wire fields it cannot hold or None). Calls and results without an id get
    ``""`` as id; the caller pairs and derives them (`ids`)."""
    _require(isinstance(raw, dict), path, "must be an object")
    raw = camel_keys(raw)
    present = [name for name in DATA_FIELDS if name in raw]
    _require(len(present) <= 1, path, f"a part holds exactly one of {', '.join(DATA_FIELDS)}")
    if not present:
        return OpaquePart(NAME, raw), None
    field = present[0]
    extra = {key: value for key, value in raw.items() if key != field}
    signature = extra.get("thoughtSignature")
    _require(signature is None or isinstance(signature, str), f"{path}.thoughtSignature", "must be a string")
    thought = extra.get("thought")
    _require(thought is None or isinstance(thought, bool), f"{path}.thought", "must be a boolean")
    part: Part
    match field:
        case "text":
            text = raw["text"]
            _require(isinstance(text, str), f"{path}.text", "must be a string")
            extra.pop("thoughtSignature", None)
            if thought is True:
                extra.pop("thought")
                part = _thinking_part(text, signature)
            else:
                part = TextPart(text, provider_data=_signature_data(signature))
        case "inlineData" | "fileData":
            part, inner = decode_media(raw[field], field, f"{path}.{field}")
            if inner:
                extra[field] = inner
        case "functionCall":
            part, inner = _decode_function_call(raw[field], f"{path}.functionCall")
            part = ToolCallPart(part.id, part.name, part.arguments, _signature_data(signature))
            extra.pop("thoughtSignature", None)
            if inner:
                extra["functionCall"] = inner
        case _:  # functionResponse
            part, inner = _decode_function_response(raw[field], f"{path}.functionResponse")
            if inner:
                extra["functionResponse"] = inner
    return part, extra or None


def _thinking_part(text: str, signature: str | None) -> ThinkingPart:
    if signature is None:
        return ThinkingPart(text)
    unwrapped = unwrap_signature(signature)
    if unwrapped is None:
        return ThinkingPart(text, signature=signature, signature_protocol=NAME)
    protocol, foreign, redacted = unwrapped
    return ThinkingPart(text, signature=foreign, signature_protocol=protocol, redacted=redacted)


def standard_base64(data: str) -> str:
    """google-genai sends inline bytes in the URL-safe alphabet (``-``/``_``, often unpadded);
    Anthropic and OpenAI read only the standard one, and Gemini accepts both."""
    if "-" not in data and "_" not in data and len(data) % 4 == 0:
        return data
    data = data.replace("-", "+").replace("_", "/")
    return data + "=" * (-len(data) % 4)


def decode_media(raw: Any, field: str, path: str) -> tuple[MediaPart, dict[str, Any]]:
    """An ``inlineData`` or ``fileData`` object → (`MediaPart`, its fields MediaPart cannot hold)."""
    _require(isinstance(raw, dict), path, "must be an object")
    raw = camel_keys(raw)
    mime = raw.get("mimeType")
    _require(mime is None or isinstance(mime, str), f"{path}.mimeType", "must be a string")
    if field == "inlineData":
        _require(isinstance(mime, str), f"{path}.mimeType", "field required (string)")
        _require(isinstance(raw.get("data"), str), f"{path}.data", "field required (base64 string)")
        part = MediaPart(media_kind(mime), media_type=mime, data=standard_base64(raw["data"]))
        used = ("mimeType", "data")
    else:
        uri = raw.get("fileUri")
        _require(isinstance(uri, str) and uri != "", f"{path}.fileUri", "field required (string)")
        if is_gemini_file_uri(uri):
            part = MediaPart(media_kind(mime), media_type=mime, file_id=uri)
        else:
            part = MediaPart(media_kind(mime), media_type=mime, url=uri)
        used = ("mimeType", "fileUri")
    return part, {key: value for key, value in raw.items() if key not in used}


def _decode_function_call(raw: Any, path: str) -> tuple[ToolCallPart, dict[str, Any]]:
    _require(isinstance(raw, dict), path, "must be an object")
    raw = camel_keys(raw)
    name = raw.get("name")
    _require(isinstance(name, str) and name != "", f"{path}.name", "field required (string)")
    call_id = raw.get("id")
    _require(call_id is None or isinstance(call_id, str), f"{path}.id", "must be a string")
    args = raw.get("args", {})
    _require(isinstance(args, dict), f"{path}.args", "must be an object")
    inner = {key: value for key, value in raw.items() if key not in ("id", "name", "args")}
    return ToolCallPart(call_id or "", name, args), inner


def decode_tool_output(response: dict[str, Any]) -> tuple[str, bool]:
    """(text, is_error) of a ``functionResponse.response`` object.

    Gemini documents ``output`` and ``error`` keys; any other object is the output as a whole
    (https://ai.google.dev/api/caching#FunctionResponse)."""
    if response.keys() == {"output"} and isinstance(response["output"], str):
        return response["output"], False
    if response.keys() == {"error"}:
        error = response["error"]
        return (error if isinstance(error, str) else orjson.dumps(error).decode()), True
    return orjson.dumps(response).decode(), False


def _decode_function_response(raw: Any, path: str) -> tuple[ToolResultPart, dict[str, Any]]:
    _require(isinstance(raw, dict), path, "must be an object")
    raw = camel_keys(raw)
    name = raw.get("name")
    _require(isinstance(name, str) and name != "", f"{path}.name", "field required (string)")
    call_id = raw.get("id")
    _require(call_id is None or isinstance(call_id, str), f"{path}.id", "must be a string")
    response = raw.get("response", {})
    _require(isinstance(response, dict), f"{path}.response", "must be an object")
    text, is_error = decode_tool_output(response)
    content: list[TextPart | MediaPart] = [TextPart(text)] if text else []
    inner = {key: value for key, value in raw.items() if key not in ("id", "name", "response", "parts")}
    media_parts = raw.get("parts", [])
    _require(isinstance(media_parts, list), f"{path}.parts", "must be an array")
    exact = True
    for k, item in enumerate(media_parts):
        item_path = f"{path}.parts[{k}]"
        _require(isinstance(item, dict), item_path, "must be an object")
        item = camel_keys(item)
        fields = [f for f in ("inlineData", "fileData") if f in item]
        _require(len(fields) == 1, item_path, "must hold one of inlineData, fileData")
        media, media_extra = decode_media(item[fields[0]], fields[0], f"{item_path}.{fields[0]}")
        content.append(media)
        exact = exact and not media_extra and len(item) == 1
    if not exact:
        inner["parts"] = media_parts
    return ToolResultPart(call_id or "", tuple(content), is_error, name), inner


# ---------------------------------------------------------------------------- encode


def merge_extra(wire: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    """``wire`` with the fields `decode_part` set aside put back (one nested level)."""
    out = dict(wire)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = {**out[key], **value}
        else:
            out[key] = value
    return out


def _report_cache_and_data(part: Part, path: str, deg: Degradations | None) -> None:
    if deg is None or isinstance(part, MediaPart):  # encode_media reports its own
        return
    cache_control = getattr(part, "cache_control", None)
    if cache_control is not None:
        # Gemini caches are separate cachedContents resources, no per-part breakpoints (§5.10).
        deg.drop(f"{path}.cache_control", "Gemini has no prompt-cache breakpoints")
    # Another vendor's provider_data (item ids, signatures) is by design echoed only to its issuer
    # (DESIGN.md §2), so leaving it out is not a degradation of the caller's request.


def encode_part(
    part: Part, path: str, deg: Degradations | None, call_names: Mapping[str, str] | None = None
) -> dict[str, Any] | None:
    """The Gemini wire part for ``part``, or None when nothing of it can be sent.

    ``deg`` given: for a Gemini upstream (drops reported, 400 for content Gemini cannot read).
    ``deg`` None: for a Gemini client. ``call_names`` maps tool-call ids to function names for
    results without a name."""
    _report_cache_and_data(part, path, deg)
    match part:
        case TextPart():
            signature = gemini_signature(part.provider_data)
            if not part.text and signature is None and deg is not None:
                # Gemini rejects empty text parts in requests ("empty text parameter").
                return None
            out: dict[str, Any] = {"text": part.text}
            if signature is not None:
                out["thoughtSignature"] = signature
            return out
        case ThinkingPart():
            return _encode_thinking(part, path, deg)
        case ToolCallPart():
            if deg is not None and not FUNCTION_NAME.fullmatch(part.name):
                # Same rule as for declarations (tools.py): history naming such a call is unsendable.
                raise invalid_request(
                    f"{path}.name: {part.name!r} is not a valid Gemini function name", f"{path}.name"
                )
            call: dict[str, Any] = {"name": part.name, "args": part.arguments}
            if part.id and not is_derived_id(part.id):
                call["id"] = part.id
            out = {"functionCall": call}
            signature = gemini_signature(part.provider_data)
            if signature is not None:
                out["thoughtSignature"] = signature
            return out
        case ToolResultPart():
            return _encode_tool_result(part, path, deg, call_names or {})
        case MediaPart():
            return encode_media(part, path, deg)
        case OpaquePart():
            if part.protocol == NAME:
                return dict(part.data)
            if deg is not None:
                deg.drop(path, f"a {part.protocol} block Gemini has no counterpart for")
            return None
        case _:
            assert_never(part)


def _encode_thinking(part: ThinkingPart, path: str, deg: Degradations | None) -> dict[str, Any] | None:
    signature = part.signature
    if signature is not None and part.signature_protocol != NAME:
        protocol = part.signature_protocol or "another vendor"
        if deg is None:
            signature = wrap_foreign_signature(
                part.signature_protocol or "", signature, redacted=part.redacted
            )
        else:
            # Signatures never cross vendors (protocols.md §5.7; QuantumNous/new-api #2660).
            what = "redacted thinking" if part.redacted else "thinking signature"
            deg.drop(f"{path}.signature", f"{what} issued by {protocol}; Gemini accepts only its own")
            signature = None
    if not part.text and signature is None:
        return None
    out: dict[str, Any] = {"text": part.text, "thought": True}
    if signature is not None:
        out["thoughtSignature"] = signature
    return out


def encode_tool_output(content: tuple[TextPart | MediaPart, ...], is_error: bool) -> dict[str, Any]:
    """The ``functionResponse.response`` object for a result's text (`decode_tool_output` inverse).

    Text holding a JSON object is sent as that object; other text as ``{"output": text}``;
    errors as ``{"error": …}`` (protocols.md §5.5)."""
    text = "\n".join(p.text for p in content if isinstance(p, TextPart))
    parsed: Any = None
    if text[:1] in ("{", "["):
        try:
            parsed = orjson.loads(text)
        except orjson.JSONDecodeError:
            parsed = None
    if is_error:
        return {"error": parsed if isinstance(parsed, dict | list) else text}
    return parsed if isinstance(parsed, dict) else {"output": text}


def _encode_tool_result(
    part: ToolResultPart, path: str, deg: Degradations | None, call_names: Mapping[str, str]
) -> dict[str, Any]:
    name = part.name or call_names.get(part.tool_call_id)
    if not name:
        # functionResponse.name is required and must match the call (protocols.md §4.7).
        raise invalid_request(
            f"{path}: Gemini needs the function name of the result for tool call "
            f"{part.tool_call_id!r}, and no earlier tool call has that id",
            path,
        )
    response: dict[str, Any] = {"name": name, "response": encode_tool_output(part.content, part.is_error)}
    if part.tool_call_id and not is_derived_id(part.tool_call_id):
        response["id"] = part.tool_call_id
    media = []
    for k, item in enumerate(part.content):
        if isinstance(item, MediaPart):
            encoded = encode_media(item, f"{path}.content[{k}]", deg)
            if encoded is not None:
                media.append(encoded)
        elif deg is not None and item.cache_control is not None:
            deg.drop(f"{path}.content[{k}].cache_control", "Gemini has no prompt-cache breakpoints")
    if media:
        # Multimodal function responses (Gemini 3): functionResponse.parts[{inlineData|fileData}].
        response["parts"] = media
    return {"functionResponse": response}


def is_base64(data: str) -> bool:
    """Whether ``data`` is base64 in the standard or the URL-safe alphabet (padding optional)."""
    try:
        base64.b64decode(data.replace("-", "+").replace("_", "/") + "=" * (-len(data) % 4), validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


def sniff_mime(data: str) -> str | None:
    """MIME type of a base64 payload from its first bytes (PNG, JPEG, GIF, WebP, PDF)."""
    try:
        head = base64.b64decode(data[:24] + "=" * (-len(data[:24]) % 4))
    except (binascii.Error, ValueError):
        return None
    for magic, mime in _MAGIC_MIME:
        if head.startswith(magic):
            return mime
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


def _data_url(url: str) -> tuple[str | None, str] | None:
    """(mime, base64 data) of a ``data:<mime>;base64,<data>`` URL."""
    header, sep, data = url[5:].partition(",")
    if not sep or not header.endswith(";base64"):
        return None
    return header[: -len(";base64")] or None, data


def encode_media(part: MediaPart, path: str, deg: Degradations | None) -> dict[str, Any] | None:
    """``inlineData`` for base64 payloads and data URLs, ``fileData`` for URLs and Gemini files."""
    if deg is not None:
        for name in ("filename", "title"):
            if getattr(part, name) is not None:
                deg.drop(f"{path}.{name}", "Gemini inline and file data carry no file name")
        if part.cache_control is not None:
            deg.drop(f"{path}.cache_control", "Gemini has no prompt-cache breakpoints")
        if part.detail is not None:
            # Per-part mediaResolution exists only in Gemini's v1alpha API (media-resolution guide).
            deg.drop(f"{path}.detail", "Gemini's v1beta API has no per-image resolution")
    data, mime = part.data, part.media_type
    if data is None and part.url is not None and part.url.startswith("data:"):
        parsed = _data_url(part.url)
        if parsed is not None:
            mime, data = mime or parsed[0], parsed[1]
    if data is not None:
        mime = mime or sniff_mime(data)
        if mime is None:
            if deg is not None:
                raise invalid_request(f"{path}: Gemini needs the MIME type of inline data", path)
            mime = "application/octet-stream"
        if deg is not None and not is_base64(data):
            # Gemini's inlineData.data is bytes in base64 (either alphabet); anything else is its 400.
            raise invalid_request(f"{path}: the inline data is not base64", path)
        return {"inlineData": {"mimeType": mime, "data": data}}
    uri = part.url
    if uri is None and part.file_id is not None:
        if not is_gemini_file_uri(part.file_id):
            if deg is None:
                return None
            # Another vendor's file id: Gemini cannot read it, and dropping it changes the meaning.
            raise invalid_request(
                f"{path}: file id {part.file_id!r} belongs to another vendor; Gemini cannot read it "
                "(send the content inline or as a URL)",
                path,
            )
        uri = part.file_id
    if uri is None:
        if deg is None:
            return None
        raise invalid_request(f"{path}: media part has no data, url or file id", path)
    file_data = {"fileUri": uri}
    if mime is not None:
        file_data["mimeType"] = mime
    return {"fileData": file_data}
